#include "storage/store.hpp"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <mutex>
#include <set>
#include <unordered_map>

#include "events/codec.hpp"
#include "storage/keys.hpp"
#include "storage/projector.hpp"
#include "storage/store_impl.hpp"

namespace octomig::storage {

error io(const rocksdb::Status& s, const std::string& what) {
  return make_error(s.IsCorruption() ? errc::corruption : errc::io_error,
                    what + ": " + s.ToString());
}

namespace {

// Schema of the read models. 2: API key rows carry their user id. 3: task rows count their open
// callbacks.
constexpr const char* schema_version = "3";

std::string default_secondary_dir() {
  auto base = std::filesystem::temp_directory_path() / "octomig-secondary-XXXXXX";
  std::string tmpl = base.string();
  if (!mkdtemp(tmpl.data()))
    return (std::filesystem::temp_directory_path() / "octomig-secondary").string();
  return tmpl;
}

}  // namespace

std::uint64_t task_number(const std::string& id) {
  if (!events::is_task_stream(id)) return 0;
  std::uint64_t n = 0;
  for (std::size_t i = std::char_traits<char>::length(events::task_stream_prefix); i < id.size();
       ++i) {
    if (id[i] < '0' || id[i] > '9') return 0;
    n = n * 10 + static_cast<std::uint64_t>(id[i] - '0');
  }
  return n;
}

store::store(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
store::~store() = default;

store::impl& store::internals() const {
  return *impl_;
}

result<std::unique_ptr<store>> store::open(const options& opts) {
  auto p = std::make_unique<impl>();
  p->opts = opts;

  rocksdb::DBOptions db_opts;
  db_opts.create_if_missing = opts.mode == open_mode::read_write;
  db_opts.create_missing_column_families = opts.mode == open_mode::read_write;
  db_opts.max_background_jobs = 2;
  db_opts.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  db_opts.keep_log_file_num = 2;

  rocksdb::ColumnFamilyOptions cf_opts;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset();  // point lookups are few; scans dominate
  cf_opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (auto* name : cf_names_list) descs.emplace_back(name, cf_opts);

  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  switch (opts.mode) {
    case open_mode::read_write: {
      std::error_code ec;
      std::filesystem::create_directories(opts.db_dir, ec);
      s = rocksdb::DB::Open(db_opts, opts.db_dir.string(), descs, &p->cf, &raw);
      break;
    }
    case open_mode::secondary: {
      db_opts.max_open_files = -1;
      db_opts.max_file_opening_threads = 1;
      if (p->opts.secondary_dir.empty()) {
        p->opts.secondary_dir = default_secondary_dir();
        p->owns_secondary_dir = true;
      }
      s = rocksdb::DB::OpenAsSecondary(db_opts, opts.db_dir.string(),
                                       p->opts.secondary_dir.string(), descs, &p->cf, &raw);
      if (s.ok()) raw->TryCatchUpWithPrimary();
      break;
    }
    case open_mode::read_only:
      s = rocksdb::DB::OpenForReadOnly(db_opts, opts.db_dir.string(), descs, &p->cf, &raw);
      break;
  }
  if (!s.ok()) return io(s, "cannot open the store in " + opts.db_dir.string());
  p->db.reset(raw);

  auto last = p->stored_last_position();
  if (!last) return last.err();
  p->last_position = *last;
  p->next_position = p->last_position + 1;
  auto schema = p->get(cf_meta, keys::meta_schema, "the schema version");
  if (!schema) return schema.err();
  std::unique_ptr<store> st(new store(std::move(p)));
  if (opts.mode != open_mode::read_write) return st;
  // Schema 1 kept API keys without their user, schema 2 task rows without their open callbacks;
  // the projections are rebuilt from the log once.
  if (*schema && (**schema == "1" || **schema == "2")) {
    auto rebuilt = st->rebuild_projections();
    if (!rebuilt) return rebuilt.err();
  }
  if (!*schema || **schema != schema_version) {
    auto& d = *st->impl_;
    auto ws = d.db->Put(rocksdb::WriteOptions(), d.h(cf_meta), keys::meta_schema, schema_version);
    if (!ws.ok()) return io(ws, "cannot write the schema version");
  }
  return st;
}

std::vector<result<appended>> store::append(const std::vector<append_request>& requests) {
  std::vector<result<appended>> out;
  out.reserve(requests.size());
  if (impl_->opts.mode != open_mode::read_write) {
    for (std::size_t i = 0; i < requests.size(); ++i)
      out.emplace_back(make_error(errc::invalid_argument, "the store is open read-only"));
    return out;
  }

  std::lock_guard<std::mutex> lock(impl_->write_mu);
  auto& d = *impl_;
  rocksdb::WriteBatch batch;
  projector proj(d.live_base());
  std::unordered_map<std::string, std::uint64_t> pending_versions;
  std::uint64_t position = d.next_position;
  std::uint64_t written = 0;

  auto current_version = [&](const std::string& stream) -> result<std::uint64_t> {
    if (auto it = pending_versions.find(stream); it != pending_versions.end()) return it->second;
    if (auto it = d.versions.find(stream); it != d.versions.end()) return it->second;
    auto v = d.stored_version(stream);
    if (v) d.versions[stream] = *v;
    return v;
  };

  // Checks one request (or companion) against its stream's version.
  auto check = [&](const append_request& r) -> status {
    if (r.stream.empty() || r.events.empty())
      return make_error(errc::invalid_argument, "an append needs a stream and events");
    auto stored = current_version(r.stream);
    if (!stored) return stored.err();
    if (*stored != r.expected_version)
      return make_error(errc::conflict, "stream " + r.stream + " is at version " +
                                            std::to_string(*stored) + ", not " +
                                            std::to_string(r.expected_version));
    return ok_status();
  };
  // Every row a request's events build on must be readable: a damaged one refuses the request
  // instead of being folded over as if it were empty. The projector keeps what it loads (and an
  // empty row for a new stream), so this comes once the request is sure to be written otherwise.
  auto prepare = [&](const append_request& r) { return proj.prepare(r.stream, r.events); };
  auto put = [&](const append_request& r) {
    appended a;
    a.first_position = position;
    auto version = r.expected_version;
    for (const auto& body : r.events) {
      events::envelope e{position, r.stream, ++version, r.timestamp, body};
      batch.Put(d.h(cf_events), keys::event(position), events::encode(e));
      std::string pos;
      keys::put_u64(pos, position);
      batch.Put(d.h(cf_streams), keys::stream(r.stream, version), pos);
      proj.apply(e);
      ++position;
      ++written;
    }
    a.last_position = position - 1;
    a.last_version = version;
    pending_versions[r.stream] = version;
    return a;
  };
  // Locks of attached writers, held until the batch is written.
  std::vector<std::unique_lock<std::mutex>> held;

  for (const auto& r : requests) {
    if (auto c = check(r); !c) {
      out.emplace_back(c.err());
      continue;
    }
    if (!r.attached) {
      if (auto p = prepare(r); !p) {
        out.emplace_back(p.err());
        continue;
      }
      out.emplace_back(put(r));
      continue;
    }
    const auto& more = r.attached->companions();
    status refused = ok_status();
    std::set<std::string> seen{r.stream};
    for (const auto& c : more) {
      if (!seen.insert(c.stream).second) {
        refused =
            make_error(errc::invalid_argument, "an attached append names " + c.stream + " twice");
        break;
      }
      if (refused = check(c); !refused) break;
    }
    if (!refused) {
      out.emplace_back(refused.err());
      continue;
    }
    batch.SetSavePoint();
    auto lock = r.attached->stage(batch);
    if (lock) {
      refused = prepare(r);
      for (const auto& c : more)
        if (refused) refused = prepare(c);
      if (!refused) lock = refused.err();
    }
    if (!lock) {
      auto rolled = batch.RollbackToSavePoint();
      if (!rolled.ok()) {
        // The batch cannot be trusted any more: refuse everything in it.
        for (auto& o : out)
          if (o) o = io(rolled, "append failed");
        out.emplace_back(lock.err());
        return out;
      }
      out.emplace_back(lock.err());
      continue;
    }
    batch.PopSavePoint();
    if (lock->owns_lock()) held.push_back(std::move(*lock));
    for (const auto& c : more) put(c);
    out.emplace_back(put(r));
  }
  if (written == 0) return out;

  impl::write_projection(batch, proj, d.cf);
  rocksdb::WriteOptions wo;
  wo.sync = d.opts.sync;
  auto s = d.db->Write(wo, &batch);
  if (!s.ok()) {
    // Nothing of the batch is durable: every accepted request fails, and the caches stay as they
    // were.
    for (auto& r : out)
      if (r) r = io(s, "append failed");
    return out;
  }
  for (auto& [stream, v] : pending_versions) d.versions[stream] = v;
  if (d.task_cache.size() + proj.tasks.size() > impl::task_cache_limit) d.task_cache.clear();
  for (auto& [id, t] : proj.tasks) d.task_cache[id] = std::move(t);
  d.next_position = position;
  d.last_position = position - 1;
  appended_ += written;
  return out;
}

result<appended> store::append(const append_request& request) {
  return std::move(append(std::vector<append_request>{request}).front());
}

status store::put_meta(const std::string& key, const std::string& value) {
  auto s = impl_->db->Put(rocksdb::WriteOptions(), impl_->h(cf_meta), key, value);
  if (!s.ok()) return io(s, "cannot write " + key);
  return ok_status();
}

result<std::optional<std::string>> store::meta(const std::string& key) const {
  return impl_->get(cf_meta, key, key.c_str());
}

std::uint64_t store::last_position() const {
  return impl_->last_position.load();
}

result<std::uint64_t> store::stream_version(const std::string& stream) const {
  return impl_->stored_version(stream);
}

// The hot path of GET /api/tasks/{id}: decoded straight into the result it returns.
result<events::task_state> store::task(const std::string& id) const {
  auto v = impl_->get(cf_tasks, id, "the task projection");
  if (!v) return v.err();
  if (!*v) return make_error(errc::not_found, "There is no task with the id " + id + ".");
  auto t = events::decode_task_state(**v);
  if (!t) t = impl::damaged_task(id, t.err());
  return t;
}

result<std::vector<events::task_state>> store::tasks(const task_filter& f) const {
  auto scan = scan_tasks(f);
  if (!scan) return scan.err();
  if (!scan->damaged.empty()) return scan->damaged.front();
  return std::move(scan->tasks);
}

result<task_scan> store::scan_tasks(const task_filter& f) const {
  task_scan found;
  auto& out = found.tasks;
  auto keep = [&](const events::task_state& t) {
    if (!f.states.empty() && std::find(f.states.begin(), f.states.end(), t.state) == f.states.end())
      return false;
    if (!f.space_id.empty() && !t.space_id.empty() && t.space_id != f.space_id) return false;
    return true;
  };
  if (!f.ids.empty()) {
    for (const auto& id : f.ids) {
      auto t = impl_->stored_task(id);
      if (!t && t.err().code == errc::corruption) {
        found.damaged.push_back(t.err());
        continue;
      }
      if (!t) return t.err();
      if (*t && keep(**t)) out.push_back(std::move(**t));
    }
  } else {
    std::unique_ptr<rocksdb::Iterator> it(
        impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->h(cf_tasks)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto t = events::decode_task_state(it->value().ToStringView());
      if (!t) {
        found.damaged.push_back(impl::damaged_task(it->key().ToString(), t.err()));
        continue;
      }
      if (keep(*t)) out.push_back(std::move(t.value()));
    }
    if (!it->status().ok()) return io(it->status(), "cannot scan tasks");
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return task_number(a.id) > task_number(b.id); });
  out.erase(std::unique(out.begin(), out.end(),
                        [](const auto& a, const auto& b) { return a.id == b.id; }),
            out.end());
  return found;
}

result<bool> store::has_api_keys() const {
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->h(cf_api_keys)));
  it->SeekToFirst();
  if (!it->status().ok()) return io(it->status(), "cannot read the API keys");
  return it->Valid();
}

result<std::vector<events::log_line>> store::task_log(const std::string& task_id) const {
  std::vector<events::log_line> out;
  std::string lower = keys::prefix(task_id);
  std::string upper = keys::prefix_end(lower);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->h(cf_task_logs)));
  for (it->Seek(lower); it->Valid(); it->Next()) {
    auto l = events::decode_log_line(it->value().ToStringView());
    if (!l)
      return make_error(errc::corruption,
                        "line " +
                            std::to_string(keys::get_u32(it->key().ToStringView().substr(
                                std::min(lower.size(), it->key().size())))) +
                            " of the log of " + task_id + " is damaged (" + l.err().message + ")");
    out.push_back(std::move(l.value()));
  }
  if (!it->status().ok()) return io(it->status(), "cannot read the task log");
  return out;
}

result<std::uint64_t> store::highest_task_number() const {
  return impl_->stored_counter(keys::meta_task_counter);
}

result<std::vector<events::envelope>> store::read(std::uint64_t from, std::size_t limit) const {
  std::vector<events::envelope> out;
  if (limit == 0) return out;
  auto st = scan(from, [&](const events::envelope& e) {
    out.push_back(e);
    return out.size() < limit;
  });
  if (!st) return st.err();
  return out;
}

result<std::vector<events::envelope>> store::read_stream(const std::string& stream,
                                                         std::uint64_t from_version) const {
  std::vector<events::envelope> out;
  std::string lower = keys::stream(stream, from_version);
  std::string upper = keys::prefix_end(keys::prefix(stream));
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->h(cf_streams)));
  for (it->Seek(lower); it->Valid(); it->Next()) {
    if (it->value().size() != 8)
      return make_error(errc::corruption, "a damaged row in the stream index of " + stream);
    auto position = keys::get_u64(it->value().ToStringView());
    auto v = impl_->get(cf_events, keys::event(position), "the event log");
    if (!v) return v.err();
    if (!*v)
      return make_error(errc::corruption,
                        "stream " + stream + " names missing position " + std::to_string(position));
    auto e = events::decode(position, **v);
    if (!e) return e.err();
    out.push_back(std::move(e.value()));
  }
  if (!it->status().ok()) return io(it->status(), "cannot read stream " + stream);
  return out;
}

status store::scan(std::uint64_t from,
                   const std::function<bool(const events::envelope&)>& fn) const {
  rocksdb::ReadOptions ro;
  ro.readahead_size = 4 << 20;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->h(cf_events)));
  for (it->Seek(keys::event(from)); it->Valid(); it->Next()) {
    auto k = it->key();
    if (k.size() != 8)
      return make_error(errc::corruption,
                        "malformed event key of " + std::to_string(k.size()) + " bytes");
    auto position = keys::get_u64(k.ToStringView());
    auto e = events::decode(position, it->value().ToStringView());
    if (!e) return e.err();
    if (!fn(e.value())) break;
  }
  if (!it->status().ok()) return io(it->status(), "cannot scan events");
  return ok_status();
}

status store::scan_raw(const std::function<void(std::string_view, std::string_view)>& fn) const {
  rocksdb::ReadOptions ro;
  ro.readahead_size = 4 << 20;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->h(cf_events)));
  for (it->SeekToFirst(); it->Valid(); it->Next())
    fn(it->key().ToStringView(), it->value().ToStringView());
  if (!it->status().ok()) return io(it->status(), "cannot scan events");
  return ok_status();
}

result<maintenance_state> store::maintenance() const {
  return impl_->stored_maintenance();
}

result<std::optional<api_key_record>> store::api_key_by_hash(const std::string& key_hash) const {
  auto v = impl_->get(cf_api_keys, key_hash, "the API keys");
  if (!v) return v.err();
  if (!*v) return std::optional<api_key_record>();
  auto r = decode_api_key(**v);
  if (!r) return r.err();
  return std::optional<api_key_record>(std::move(r.value()));
}

result<std::vector<api_key_record>> store::api_keys() const {
  auto out = impl_->stored_keys();
  if (!out) return out;
  std::sort(out->begin(), out->end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

status store::catch_up() {
  if (impl_->opts.mode != open_mode::secondary) return ok_status();
  auto s = impl_->db->TryCatchUpWithPrimary();
  if (!s.ok()) return io(s, "cannot catch up with the server's store");
  auto last = impl_->stored_last_position();
  if (!last) return last.err();
  impl_->last_position = *last;
  return ok_status();
}

namespace {

// Replays the log into a projector that starts from nothing. Also checks that positions are
// gapless and that each stream's versions count up from 1.
struct replayed {
  std::unique_ptr<projector> proj;
  std::map<std::string, std::uint64_t> stream_versions;
  std::map<std::string, std::string> stream_rows;  // the streams index the log implies
  std::uint64_t events = 0;
  std::vector<std::string> problems;
};

}  // namespace

static result<replayed> replay(const store& s, bool keep_streams) {
  replayed r;
  r.proj = std::make_unique<projector>(projector::base{});
  std::uint64_t expected_position = 1;
  auto st = s.scan(1, [&](const events::envelope& e) {
    if (e.position != expected_position)
      r.problems.push_back("gap in positions: expected " + std::to_string(expected_position) +
                           ", found " + std::to_string(e.position));
    expected_position = e.position + 1;
    if (keep_streams) {
      auto& v = r.stream_versions[e.stream];
      if (e.stream_version != v + 1)
        r.problems.push_back("stream " + e.stream + " jumps from version " + std::to_string(v) +
                             " to " + std::to_string(e.stream_version));
      v = e.stream_version;
      std::string pos;
      keys::put_u64(pos, e.position);
      r.stream_rows.emplace(keys::stream(e.stream, e.stream_version), std::move(pos));
    }
    r.proj->apply(e);
    ++r.events;
    return true;
  });
  if (!st) return st.err();
  return r;
}

result<std::uint64_t> store::replay_in_memory() const {
  auto r = replay(*this, false);
  if (!r) return r.err();
  return r->events;
}

result<projection_report> store::verify_projections() const {
  auto r = replay(*this, true);
  if (!r) return r.err();
  projection_report rep;
  rep.events = r->events;
  rep.differences = r->problems;
  auto& d = *impl_;
  auto& p = *r->proj;

  // A column family must hold exactly the expected rows.
  const auto printable = keys::printable;
  std::optional<error> scan_error;
  auto compare = [&](cf_id id, const char* what,
                     const std::map<std::string, std::string>& expected) {
    std::unique_ptr<rocksdb::Iterator> it(d.db->NewIterator(rocksdb::ReadOptions(), d.h(id)));
    auto exp = expected.begin();
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      std::string k = it->key().ToString();
      while (exp != expected.end() && exp->first < k) {
        rep.differences.push_back(std::string(what) + ": missing row " + exp->first);
        ++exp;
      }
      if (exp != expected.end() && exp->first == k) {
        if (exp->second != it->value().ToString())
          rep.differences.push_back(std::string(what) + ": row " + printable(k) +
                                    " differs from the log");
        ++exp;
      } else {
        rep.differences.push_back(std::string(what) + ": unexpected row " + k);
      }
    }
    if (!it->status().ok() && !scan_error)
      scan_error = io(it->status(), std::string("cannot read ") + what);
    for (; exp != expected.end(); ++exp)
      rep.differences.push_back(std::string(what) + ": missing row " + exp->first);
  };

  std::map<std::string, std::string> tasks, logs, api_keys;
  for (auto& [id, t] : p.tasks) tasks[id] = events::encode(t);
  for (auto& [k, l] : p.log_lines) logs[k] = events::encode(l);
  for (auto& [name, rec] : p.api_keys_by_name)
    if (rec) api_keys[rec->key_hash] = encode(*rec);
  compare(cf_tasks, "tasks", tasks);
  compare(cf_task_logs, "task_logs", logs);
  compare(cf_api_keys, "api_keys", api_keys);
  compare(cf_streams, "streams", r->stream_rows);
  if (scan_error) return *scan_error;

  auto stored_m = d.stored_maintenance();
  auto expected_m = p.maintenance.value_or(maintenance_state{});
  if (!stored_m)
    rep.differences.push_back("meta: " + stored_m.err().message);
  else if (stored_m->manual != expected_m.manual || stored_m->task_id != expected_m.task_id)
    rep.differences.push_back("meta: maintenance state differs from the log");
  auto checkpoint = d.stored_counter(keys::meta_checkpoint);
  if (!checkpoint)
    rep.differences.push_back("meta: " + checkpoint.err().message);
  else if (*checkpoint != p.checkpoint)
    rep.differences.push_back("meta: checkpoint is " + std::to_string(*checkpoint) +
                              ", the log ends at " + std::to_string(p.checkpoint));
  for (auto [key, expected] : {std::pair{keys::meta_task_counter, p.highest_task_number},
                               std::pair{keys::meta_user_counter, p.highest_user_number}}) {
    auto counter = d.stored_counter(key);
    if (!counter)
      rep.differences.push_back("meta: " + counter.err().message);
    else if (*counter < expected)
      rep.differences.push_back(std::string("meta: ") + key + " is behind the log");
  }
  return rep;
}

result<std::uint64_t> store::rebuild_projections() {
  if (impl_->opts.mode != open_mode::read_write)
    return make_error(errc::invalid_argument, "the store is open read-only");
  std::lock_guard<std::mutex> lock(impl_->write_mu);
  auto r = replay(*this, true);
  if (!r) return r.err();
  auto& d = *impl_;
  rocksdb::WriteBatch batch;
  for (cf_id id : {cf_tasks, cf_task_logs, cf_api_keys, cf_streams}) {
    std::unique_ptr<rocksdb::Iterator> it(d.db->NewIterator(rocksdb::ReadOptions(), d.h(id)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) batch.Delete(d.h(id), it->key());
    if (!it->status().ok()) return io(it->status(), "cannot read the projections to replace");
  }
  // The streams index is rebuilt from the events themselves.
  for (const auto& [k, pos] : r->stream_rows) batch.Put(d.h(cf_streams), k, pos);
  r->proj->maintenance = r->proj->maintenance.value_or(maintenance_state{});
  r->proj->revoked_hashes.clear();
  impl::write_projection(batch, *r->proj, d.cf);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  auto s = d.db->Write(wo, &batch);
  if (!s.ok()) return io(s, "cannot write the rebuilt projections");
  d.versions.clear();
  d.task_cache.clear();
  return r->events;
}

status store::sync() {
  auto s = impl_->db->FlushWAL(true);
  if (!s.ok()) return io(s, "cannot sync the store");
  return ok_status();
}

}  // namespace octomig::storage
