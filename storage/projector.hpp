// The read models as a pure function of the log: feeding events to a projector yields every
// projection row they change. The live append path and the rebuild path share it, so the read
// model written on append is by construction the one a replay produces.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "events/error.hpp"
#include "events/task_state.hpp"
#include "storage/store.hpp"

namespace octomig::storage {

class projector {
 public:
  // Where rows not yet touched come from: the stored read model (live) or nothing (rebuild, where
  // every function is empty). A row that cannot be read is an error, never an empty row.
  struct base {
    std::function<result<std::optional<events::task_state>>(const std::string&)> task;
    std::function<result<maintenance_state>()> maintenance;
    std::function<result<std::optional<api_key_record>>(const std::string& name)> api_key_by_name;
    std::function<result<std::uint64_t>()> highest_task_number;
    std::function<result<std::uint64_t>()> highest_user_number;
  };

  explicit projector(base b);

  // Loads every stored row that events of `stream` read when they are applied. REQUIRES: called
  // (and successful) before apply() for those events; on an error nothing was changed, and the
  // events must not be applied. With an empty base it cannot fail.
  [[nodiscard]] status prepare(const std::string& stream,
                               const std::vector<events::event_body>& bodies);

  void apply(const events::envelope& e);

  // Rows touched so far. A nullopt api key means "delete the row".
  std::unordered_map<std::string, events::task_state> tasks;
  // In the order the events produced them; each key (keys::log_line(task, line)) appears once.
  std::vector<std::pair<std::string, events::log_line>> log_lines;
  std::optional<maintenance_state> maintenance;
  std::map<std::string, std::optional<api_key_record>> api_keys_by_name;
  // Hashes of every key these events revoked: deleted before the puts, so a name revoked and
  // created again in one batch keeps only its new key.
  std::set<std::string> revoked_hashes;
  std::uint64_t highest_task_number = 0;
  std::uint64_t highest_user_number = 0;  // users are numbered by API key, from 1
  std::uint64_t checkpoint = 0;

 private:
  events::task_state& task(const std::string& id);
  status load_counters();

  base base_;
  bool counters_loaded_ = false;
};

std::string encode(const maintenance_state& m);
// errc::corruption when the bytes are not a maintenance row: callers fail closed.
result<maintenance_state> decode_maintenance(std::string_view bytes);
std::string encode(const api_key_record& r);
result<api_key_record> decode_api_key(std::string_view bytes);

}  // namespace octomig::storage
