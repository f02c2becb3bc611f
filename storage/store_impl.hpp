// Internal to storage/: the RocksDB handles behind store, for the storage files that keep other
// read models (documents, packages) in the same database. Never include it outside storage/.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "events/codec.hpp"
#include "storage/keys.hpp"
#include "storage/projector.hpp"
#include "storage/store.hpp"

namespace octomig::storage {

// Column family order is fixed: it indexes impl::cf.
enum cf_id : std::size_t {
  cf_default,
  cf_events,
  cf_streams,
  cf_tasks,
  cf_task_logs,
  cf_documents,
  cf_names,
  cf_packages,
  cf_api_keys,
  cf_meta,
  cf_references,  // documents' reverse reference index (storage/documents.cpp)
  cf_count
};
inline const char* const cf_names_list[cf_count] = {rocksdb::kDefaultColumnFamilyName.c_str(),
                                                    "events",
                                                    "streams",
                                                    "tasks",
                                                    "task_logs",
                                                    "documents",
                                                    "names",
                                                    "packages",
                                                    "api_keys",
                                                    "meta",
                                                    "references"};

error io(const rocksdb::Status& s, const std::string& what);

// See append_request::attached. store::append calls stage() under its write lock once the carrying
// request and every companion passed their checks; a refusal rolls the batch back to before it.
class batch_extension {
 public:
  virtual ~batch_extension() = default;
  // Adds the rows to b, or says why not (errc::invalid_argument, errc::conflict, an I/O error).
  // The lock it returns (may be empty) is held until the batch is written: the writer of those
  // rows must not write between their checks and the batch.
  virtual result<std::unique_lock<std::mutex>> stage(rocksdb::WriteBatch& b) const = 0;
  // Appends to other streams that land with the carrying request: all of them or none. Each must
  // pass its own version check.
  virtual const std::vector<append_request>& companions() const = 0;
};

struct store::impl {
  options opts;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> cf;
  std::mutex write_mu;              // serialises appends; readers never take it
  std::uint64_t next_position = 1;  // guarded by write_mu
  std::unordered_map<std::string, std::uint64_t> versions;  // guarded by write_mu; a cache
  std::atomic<std::uint64_t> last_position{0};
  bool owns_secondary_dir = false;

  ~impl() {
    for (auto* h : cf)
      if (h) db->DestroyColumnFamilyHandle(h);
    cf.clear();
    if (db) db->Close();
    db.reset();
    if (owns_secondary_dir) {
      std::error_code ec;
      std::filesystem::remove_all(opts.secondary_dir, ec);
    }
  }

  rocksdb::ColumnFamilyHandle* h(cf_id id) const { return cf[id]; }

  // One consistent view of the store while it lives: a read that uses several rows (an index,
  // then the rows it names) sees them as one write left them.
  class snapshot {
   public:
    explicit snapshot(rocksdb::DB* db) : db_(db), snap_(db->GetSnapshot()) {}
    ~snapshot() { db_->ReleaseSnapshot(snap_); }
    snapshot(const snapshot&) = delete;
    snapshot& operator=(const snapshot&) = delete;
    const rocksdb::Snapshot* get() const { return snap_; }

   private:
    rocksdb::DB* db_;
    const rocksdb::Snapshot* snap_;
  };

  // A point read: the value, nullopt when the key is absent, or the error (an I/O error, or
  // errc::corruption when RocksDB found damaged data). Never turns a failure into "absent".
  // at: a snapshot to read from, or null for the latest state.
  result<std::optional<std::string>> get(cf_id id, const rocksdb::Slice& key, const char* what,
                                         const rocksdb::Snapshot* at = nullptr) const {
    std::string v;
    rocksdb::ReadOptions ro;
    ro.snapshot = at;
    auto s = db->Get(ro, h(id), key, &v);
    if (s.IsNotFound()) return std::optional<std::string>();
    if (!s.ok()) return io(s, std::string("cannot read ") + what);
    return std::optional<std::string>(std::move(v));
  }

  // Highest stored version of a stream, from the streams index.
  result<std::uint64_t> stored_version(const std::string& stream) const {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), h(cf_streams)));
    std::string seek = keys::stream(stream, ~0ull);
    it->SeekForPrev(seek);
    if (!it->Valid()) {
      if (!it->status().ok()) return io(it->status(), "cannot read the stream index of " + stream);
      return std::uint64_t{0};
    }
    auto k = it->key();
    std::string p = keys::prefix(stream);
    if (!k.starts_with(p)) return std::uint64_t{0};
    if (k.size() != p.size() + 8)
      return make_error(errc::corruption, "a malformed key in the stream index of " + stream);
    return keys::get_u64(std::string_view(k.data() + p.size(), 8));
  }

  result<std::uint64_t> stored_last_position() const {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), h(cf_events)));
    it->SeekToLast();
    if (!it->Valid()) {
      if (!it->status().ok()) return io(it->status(), "cannot find the end of the event log");
      return std::uint64_t{0};
    }
    if (it->key().size() != 8)
      return make_error(errc::corruption, "a malformed key at the end of the event log");
    return keys::get_u64(it->key().ToStringView());
  }

  // errc::corruption when the row does not decode: never an empty task in its place.
  result<std::optional<events::task_state>> stored_task(const std::string& id) const {
    auto v = get(cf_tasks, id, "the task projection");
    if (!v) return v.err();
    if (!*v) return std::optional<events::task_state>();
    auto t = events::decode_task_state(**v);
    if (!t) return damaged_task(id, t.err());
    return std::optional<events::task_state>(std::move(t.value()));
  }

  static error damaged_task(const std::string& id, const error& why) {
    return make_error(errc::corruption, "the stored task " + keys::printable(id) + " is damaged (" +
                                            why.message + ")");
  }

  result<maintenance_state> stored_maintenance() const {
    auto v = get(cf_meta, keys::meta_maintenance, "the maintenance mode");
    if (!v) return v.err();
    if (!*v) return maintenance_state{};
    return decode_maintenance(**v);
  }

  // Every API key row, decoded; the first row that does not decode is an error.
  result<std::vector<api_key_record>> stored_keys() const {
    std::vector<api_key_record> out;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), h(cf_api_keys)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto r = decode_api_key(it->value().ToStringView());
      if (!r) return r.err();
      out.push_back(std::move(r.value()));
    }
    if (!it->status().ok()) return io(it->status(), "cannot read the API keys");
    return out;
  }

  result<std::optional<api_key_record>> stored_key_by_name(const std::string& name) const {
    auto all = stored_keys();
    if (!all) return all.err();
    for (auto& k : *all)
      if (k.name == name) return std::optional<api_key_record>(std::move(k));
    return std::optional<api_key_record>();
  }

  result<std::uint64_t> stored_counter(const char* key) const {
    auto v = get(cf_meta, key, key);
    if (!v) return v.err();
    if (!*v) return std::uint64_t{0};
    if ((*v)->size() != 8)
      return make_error(errc::corruption, std::string("the ") + key + " row is damaged");
    return keys::get_u64(**v);
  }

  // Task rows recently written by append, so that a busy stream is not re-read and re-decoded
  // on every batch. Guarded by write_mu; write-through; dropped whole when it grows too big.
  std::unordered_map<std::string, events::task_state> task_cache;
  static constexpr std::size_t task_cache_limit = 4096;

  projector::base live_base() const {
    return projector::base{
        [this](const std::string& id) -> result<std::optional<events::task_state>> {
          if (auto it = task_cache.find(id); it != task_cache.end())
            return std::optional<events::task_state>(it->second);
          return stored_task(id);
        },
        [this] { return stored_maintenance(); },
        [this](const std::string& name) { return stored_key_by_name(name); },
        [this] { return stored_counter(keys::meta_task_counter); },
        [this] { return stored_counter(keys::meta_user_counter); },
    };
  }

  // Writes every row the projector touched into the batch.
  static void write_projection(rocksdb::WriteBatch& b, const projector& p,
                               const std::vector<rocksdb::ColumnFamilyHandle*>& cf) {
    for (const auto& [id, t] : p.tasks) b.Put(cf[cf_tasks], id, events::encode(t));
    for (const auto& [k, line] : p.log_lines) b.Put(cf[cf_task_logs], k, events::encode(line));
    if (p.maintenance) b.Put(cf[cf_meta], keys::meta_maintenance, encode(*p.maintenance));
    for (const auto& hash : p.revoked_hashes) b.Delete(cf[cf_api_keys], hash);
    for (const auto& [name, rec] : p.api_keys_by_name)
      if (rec) b.Put(cf[cf_api_keys], rec->key_hash, encode(*rec));
    std::string counter;
    keys::put_u64(counter, p.highest_task_number);
    b.Put(cf[cf_meta], keys::meta_task_counter, counter);
    std::string users;
    keys::put_u64(users, p.highest_user_number);
    b.Put(cf[cf_meta], keys::meta_user_counter, users);
    std::string checkpoint;
    keys::put_u64(checkpoint, p.checkpoint);
    b.Put(cf[cf_meta], keys::meta_checkpoint, checkpoint);
  }
};

}  // namespace octomig::storage
