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
}  // namespace cmd

using task_command =
    std::variant<cmd::queue, cmd::start, cmd::start_step, cmd::finish_step, cmd::log, cmd::warn,
                 cmd::request_cancel, cmd::succeed, cmd::fail, cmd::confirm_canceled, cmd::time_out,
                 cmd::interrupt, cmd::record>;

// An empty vector means the command is already satisfied (e.g. a second cancel request).
result<std::vector<event_body>> decide(const task_state& s, const task_command& c);

}  // namespace octomig::events
