// The event store and its read models on RocksDB. This is the only module that includes RocksDB.
//
// Every append writes the events, the stream index, every projection row the events change and the
// projection checkpoint in ONE WriteBatch, synced, so the read models are never ahead of or behind
// the log. Column families and key layouts are those of the design's storage section.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "events/error.hpp"
#include "events/events.hpp"
#include "events/task_state.hpp"

namespace octomig::storage {

// Writes that land in the same WriteBatch as an append and stand or fall with it (an import's
// documents and the history tasks it records). Made by storage/ (documents::stage_import); only
// store::append can stage it, so outside storage/ it is an opaque handle.
class batch_extension;

struct append_request {
  std::string stream;
  // The stream's version the caller decided against; 0 means the stream must not exist yet.
  // A mismatch refuses the request with errc::conflict and writes nothing of it.
  std::uint64_t expected_version = 0;
  std::vector<events::event_body> events;
  events::timestamp_us timestamp = 0;
  // Optional. Staged after this request's own checks, under the store's write lock: its refusal
  // refuses this request, and nothing of either is written.
  std::shared_ptr<const batch_extension> attached = nullptr;
};

struct appended {
  std::uint64_t first_position = 0;
  std::uint64_t last_position = 0;
  std::uint64_t last_version = 0;
};

enum class open_mode {
  read_write,  // the server: the only writer
  secondary,   // a live follower of a running server's store (admin tool); see catch_up()
  read_only,   // a frozen view of a stopped or running store
};

struct options {
  std::filesystem::path db_dir;
  open_mode mode = open_mode::read_write;
  // Where a secondary keeps its own files. Default: a fresh temporary directory.
  std::filesystem::path secondary_dir;
  // Sync every write to the disk. Default: true. Benchmarks of the raw path and bulk loads into a
  // new store (octomig-admin seed, which calls store::sync() at the end) turn this off.
  bool sync = true;
};

// Maintenance mode as projected from the system stream.
struct maintenance_state {
  bool manual = false;  // switched on through the API
  std::string task_id;  // a task holding maintenance mode while it runs; empty if none
  bool on() const { return manual || !task_id.empty(); }
};

struct api_key_record {
  std::string name;
  std::string role;      // "admin" or "user"
  std::string key_hash;  // hex keyed hash; the key itself is never stored
  events::timestamp_us created = 0;
  std::string user_id;  // "Users-N": the user the key acts as, numbered in order of creation
};

struct task_filter {
  std::vector<std::string> ids;             // empty: any
  std::vector<events::task_status> states;  // empty: any
  std::string space_id;                     // empty: any
};

// The tasks a scan could read, and the errors (errc::corruption, one per row) of those it could
// not.
struct task_scan {
  std::vector<events::task_state> tasks;  // newest (highest number) first
  std::vector<error> damaged;
};

// Projections rebuilt from the log, as the store holds them. Used by verify and rebuild.
struct projection_report {
  std::uint64_t events = 0;
  std::vector<std::string> differences;  // empty when the stored read model matches the log
};

class store {
 public:
  static result<std::unique_ptr<store>> open(const options& opts);
  ~store();
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  // ---- writes (read_write mode only; serialised internally) ----

  // Appends every request in order in one synced WriteBatch. Each request gets its own result; a
  // refused request (version conflict, wrong mode) leaves the others untouched.
  std::vector<result<appended>> append(const std::vector<append_request>& requests);
  result<appended> append(const append_request& request);

  // A metadata value that is not derived from the log (installation id, schema version).
  [[nodiscard]] status put_meta(const std::string& key, const std::string& value);

  // ---- reads (thread-safe) ----
  //
  // A read never turns a failure into "absent": an I/O error is errc::io_error, and a row that
  // does not decode (or that RocksDB found damaged) is errc::corruption naming the row.

  result<std::optional<std::string>> meta(const std::string& key) const;
  std::uint64_t last_position() const;
  result<std::uint64_t> stream_version(const std::string& stream) const;

  result<events::task_state> task(const std::string& id) const;  // errc::not_found
  // Tasks matching the filter, newest (highest number) first; the first damaged row is the error.
  result<std::vector<events::task_state>> tasks(const task_filter& filter) const;
  // The same, reading past damaged rows: for start-up recovery, which must go on (and say which
  // rows it could not read) rather than keep the whole server down for one damaged row.
  result<task_scan> scan_tasks(const task_filter& filter) const;
  result<std::vector<events::log_line>> task_log(const std::string& task_id) const;
  // Highest N among ServerTasks-N streams ever written (0 if none).
  result<std::uint64_t> highest_task_number() const;

  // Events from `from` (inclusive, global position), at most `limit` of them.
  result<std::vector<events::envelope>> read(std::uint64_t from, std::size_t limit) const;
  result<std::vector<events::envelope>> read_stream(const std::string& stream,
                                                    std::uint64_t from_version = 1) const;
  // Calls fn for every event from `from` on, in order; stops at the first error or when fn
  // returns false. Reads sequentially with readahead.
  status scan(std::uint64_t from, const std::function<bool(const events::envelope&)>& fn) const;
  // The same scan without decoding (the raw reference for the replay benchmark).
  status scan_raw(
      const std::function<void(std::string_view key, std::string_view value)>& fn) const;

  // errc::corruption when the stored state does not decode: callers must then act as if
  // maintenance mode were on (fail closed).
  result<maintenance_state> maintenance() const;
  // nullopt when no key has this hash.
  result<std::optional<api_key_record>> api_key_by_hash(const std::string& key_hash) const;
  // By name.
  result<std::vector<api_key_record>> api_keys() const;
  // Whether any key row exists, without decoding one (the first start makes an admin key).
  result<bool> has_api_keys() const;

  // Number of events this process appended (for metrics).
  std::uint64_t events_appended() const { return appended_.load(); }

  // Secondary mode: make the primary's newer writes visible.
  [[nodiscard]] status catch_up();

  // ---- projections ----

  // Replays the whole log in memory and compares the result with the stored read models.
  result<projection_report> verify_projections() const;
  // Makes every write so far durable (for a store opened with sync off).
  [[nodiscard]] status sync();
  // Replays the whole log in memory only (no comparison); returns the number of events.
  result<std::uint64_t> replay_in_memory() const;
  // Replaces the stored read models with the ones replayed from the log (read_write mode).
  result<std::uint64_t> rebuild_projections();

  struct impl;
  // The RocksDB handles, for the storage files that keep other read models in the same database
  // (packages.cpp). impl is only defined in storage/store_impl.hpp, which nothing outside
  // storage/ may include, so this gives other modules nothing they can use.
  impl& internals() const;

 private:
  explicit store(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
  std::atomic<std::uint64_t> appended_{0};
};

// "ServerTasks-12" -> 12; 0 when the id has another shape.
std::uint64_t task_number(const std::string& id);

}  // namespace octomig::storage
