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

  std::optional<std::string> get(cf_id id, const rocksdb::Slice& key) const {
    std::string v;
    auto s = db->Get(rocksdb::ReadOptions(), h(id), key, &v);
    if (!s.ok()) return std::nullopt;
    return v;
  }

  // Highest stored version of a stream, from the streams index.
  std::uint64_t stored_version(const std::string& stream) const {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), h(cf_streams)));
    std::string seek = keys::stream(stream, ~0ull);
    it->SeekForPrev(seek);
    if (!it->Valid()) return 0;
    auto k = it->key();
    std::string p = keys::prefix(stream);
    if (k.size() != p.size() + 8 || !k.starts_with(p)) return 0;
    return keys::get_u64(std::string_view(k.data() + p.size(), 8));
  }

  std::uint64_t stored_last_position() const {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), h(cf_events)));
    it->SeekToLast();
    if (!it->Valid()) return 0;
    return keys::get_u64(std::string_view(it->key().data(), it->key().size()));
  }

  std::optional<events::task_state> stored_task(const std::string& id) const {
    auto v = get(cf_tasks, id);
    if (!v) return std::nullopt;
    auto t = events::decode_task_state(*v);
    if (!t) return std::nullopt;
    return *t;
  }

  maintenance_state stored_maintenance() const {
    auto v = get(cf_meta, keys::meta_maintenance);
    return v ? decode_maintenance(*v) : maintenance_state{};
  }

  std::optional<api_key_record> stored_key_by_name(const std::string& name) const {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), h(cf_api_keys)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto r = decode_api_key(it->value().ToStringView());
      if (r && r->name == name) return r;
    }
    return std::nullopt;
  }

  std::uint64_t stored_task_counter() const {
    auto v = get(cf_meta, keys::meta_task_counter);
    return v ? keys::get_u64(*v) : 0;
  }

  // Task rows recently written by append, so that a busy stream is not re-read and re-decoded
  // on every batch. Guarded by write_mu; write-through; dropped whole when it grows too big.
  std::unordered_map<std::string, events::task_state> task_cache;
  static constexpr std::size_t task_cache_limit = 4096;

  projector::base live_base() const {
    return projector::base{
        [this](const std::string& id) -> std::optional<events::task_state> {
          if (auto it = task_cache.find(id); it != task_cache.end()) return it->second;
          return stored_task(id);
        },
        [this] { return stored_maintenance(); },
        [this](const std::string& name) { return stored_key_by_name(name); },
        [this] { return stored_task_counter(); },
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
    std::string checkpoint;
    keys::put_u64(checkpoint, p.checkpoint);
    b.Put(cf[cf_meta], keys::meta_checkpoint, checkpoint);
  }
};

}  // namespace octomig::storage
