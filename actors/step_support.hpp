// What the migration steps share: a step that runs its work on a thread of its own, its log
// lines, its outcomes, and the Octopus-style texts of its log (count lines, durations, sizes).
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <string>

#include "actors/steps.hpp"

namespace octomig::actors {

// Lines for the task log, as a step writes them.
class step_log {
 public:
  explicit step_log(const step_context& ctx) : ctx_(ctx) {}
  void info(std::string text) const { line("Info", std::move(text)); }
  void line(const char* category, std::string text) const;
  void warn(std::string text) const;

 private:
  const step_context& ctx_;
};

step_outcome failed(std::string message);
step_outcome stopped();  // the step saw its stop signal

// Tests only: the step named `step` logs "Paused for a test" and waits for its stop signal, at
// most `for_at_most` (a crash test kills the server meanwhile).
struct test_pause {
  std::string step;
  std::chrono::milliseconds for_at_most{120000};
};

using blocking_body =
    std::function<step_outcome(const step_context&, const step_log&, caf::actor_system&)>;

// A step that runs body on a detached actor (it blocks: files, RocksDB, libcurl), checks its stop
// signal first, and ends its log with how long it took.
step_spawner blocking_step(std::string name, test_pause pause, blocking_body body);

// "     Project.......................................3", as Octopus's migrator logs its counts.
std::string count_line(const std::string& what, const std::string& value);
inline std::string count_line(const std::string& what, std::uint64_t n) {
  return count_line(what, std::to_string(n));
}
std::string mib(std::uint64_t bytes);  // "1.5 MiB"

// A migration's callbacks, scheduled with its end (pipeline::after_end): the request's
// SuccessCallbackUri when it succeeded, its FailureCallbackUri otherwise.
std::vector<events::task_command> request_callbacks(const task_end& end);

// The string and flag fields of a task's (JSON) arguments: empty and false when absent.
std::string string_field(const boost::json::object& o, const char* field);
bool flag_field(const boost::json::object& o, const char* field);

}  // namespace octomig::actors
