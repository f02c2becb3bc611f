// The task projection: a task's state is the fold of its stream's events through apply().
// apply() is the only way a task_state changes, live and on replay alike.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "events/events.hpp"

namespace octomig::events {

struct task_state {
  std::string id;             // "ServerTasks-N"
  std::uint64_t version = 0;  // stream version of the last applied event
  std::string name;
  std::string description;
  std::string space_id;
  std::string arguments_json;
  task_status state = task_status::none;
  timestamp_us queue_time = 0;
  timestamp_us start_time = 0;      // 0: not started
  timestamp_us completed_time = 0;  // 0: not completed
  timestamp_us last_updated = 0;
  std::string error_message;
  bool has_warnings_or_errors = false;
  std::int64_t time_limit_ms = 0;
  std::string server_node;
  std::string current_step;          // empty when no step runs
  std::uint32_t log_line_count = 0;  // lines projected into the task log so far
  // Callbacks scheduled and neither delivered nor abandoned yet: the callback notifier's outbox
  // (which ones: the stream's callback events, see pending_callbacks).
  std::uint32_t callbacks_pending = 0;
};

// Derived fields, never stored.
inline bool is_completed(const task_state& s) {
  return is_completed(s.state);
}
inline bool finished_successfully(const task_state& s) {
  return s.state == task_status::success;
}

// A scheduled callback that is not yet delivered or abandoned, as a task's stream says.
struct pending_callback {
  std::string kind;  // "success" or "failure"
  std::string uri;
  std::uint32_t attempts = 0;  // made so far
};
// The callbacks of a task's stream (its events in order) still to be sent.
std::vector<pending_callback> pending_callbacks(const std::vector<envelope>& stream);

// The log line an event that logs one line adds to its task's log, if any. A task_recorded
// carries its lines itself (task_recorded::log); log_lines_for covers both.
std::optional<log_line> log_line_for(const envelope& e);

// Every line an event adds to its task's log, in order.
std::vector<log_line> log_lines_for(const envelope& e);

// Whether log_line_for(e) has a line, without building it.
bool has_log_line(const event_body& b);

// How many lines log_lines_for(e) returns, without building them (the fold's hot path).
std::uint32_t log_lines_added(const event_body& b);

//   Queued --task_started--> Executing --task_succeeded--> Success
//     |                        |  \--task_failed / task_interrupted--> Failed
//     |                        |  \--task_timed_out--------------------> TimedOut
//     |                        \--task_cancel_requested--> Cancelling --task_canceled--> Canceled
//     \--task_cancel_requested, task_canceled-----------------------------------------> Canceled
//   (none) --task_recorded--> any final state
//
// REQUIRES: e belongs to s's stream and e.stream_version == s.version + 1. apply trusts the log:
// it does not re-check the rules that decide() enforced before the event was written.
task_state apply(task_state s, const envelope& e);

}  // namespace octomig::events
