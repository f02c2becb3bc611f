// The task rules: decide(state, command) returns the events that carry the command out, or the
// reason it is refused. Nothing is written for a refused command.
#pragma once

#include <variant>
#include <vector>

#include "events/error.hpp"
#include "events/events.hpp"
#include "events/task_state.hpp"

namespace octomig::events {

namespace cmd {
struct queue {
  std::string name, description, space_id, arguments_json;
  std::int64_t time_limit_ms = 0;
};
struct start {
  std::string server_node;
};
struct start_step {
  std::string step;
};
struct finish_step {
  std::string step, summary;
};
struct log {
  std::string category, text;
};
struct warn {
  std::string message;
};
struct request_cancel {
  std::string requested_by;
};
struct succeed {};
struct fail {
  std::string error_message;
};
struct confirm_canceled {};
struct time_out {};
struct interrupt {
  std::string error_message;
};
struct record {
  task_recorded fact;
};
// A step's fact (is_step_fact), while the task runs.
struct record_fact {
  event_body fact;
};
// Once the task has ended: "success" after Success, "failure" after any other end.
struct schedule_callback {
  std::string kind, uri;
};
// The callback notifier's record of one attempt, and of the callback's end (after the task's end,
// while the callback is open).
struct record_callback_attempt {
  std::string kind;
  std::uint32_t attempt = 0;
  std::uint32_t http_status = 0;
  std::string outcome;
};
struct deliver_callback {
  std::string kind;
  std::uint32_t http_status = 0;
};
struct abandon_callback {
  std::string kind, reason;
};
}  // namespace cmd

using task_command =
    std::variant<cmd::queue, cmd::start, cmd::start_step, cmd::finish_step, cmd::log, cmd::warn,
                 cmd::request_cancel, cmd::succeed, cmd::fail, cmd::confirm_canceled, cmd::time_out,
                 cmd::interrupt, cmd::record, cmd::record_fact, cmd::schedule_callback,
                 cmd::record_callback_attempt, cmd::deliver_callback, cmd::abandon_callback>;

// An empty vector means the command is already satisfied (e.g. a second cancel request).
result<std::vector<event_body>> decide(const task_state& s, const task_command& c);

// Several commands for one task, decided in order, each against the state the events decided
// before it leave (so a task's final event and the callback it schedules can go in one append).
// The events of the commands that were accepted, in order, and for each command its own outcome.
struct decided_batch {
  std::vector<event_body> events;
  std::vector<result<std::vector<event_body>>> outcomes;  // one per command
  task_state state;                                       // after every accepted event
};
decided_batch decide_all(task_state s, const std::vector<task_command>& commands, timestamp_us at);

}  // namespace octomig::events
