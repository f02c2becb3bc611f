// The step protocol: a task runs as a pipeline of steps, each a worker actor spawned for that task.
// Exporter, packager, feed pusher and importer are steps; tests bring their own.
//
//   supervisor --(run_atom, step_context)--> step          spawned for one task, monitored
//   step --(log_atom ...), (warn_atom ...)--> ctx.sink     any number, while it runs
//   step --step_outcome--> supervisor                      the reply to run; then the step quits
//
// A step's facts (its outcome's events, see events::is_step_fact) are recorded in the same append
// as its end and handed to the steps after it in step_context::facts: that is how a step passes
// on a typed result (find_fact<events::package_built>(ctx.facts) gives the package's file and
// digest). A cancel or a time limit sets ctx.stop; the step stops at its next check and answers
// (any outcome: the task ends as canceled or timed out regardless). One that has not answered
// after the grace period is killed, and the task ends without it.
//
// Steps doing blocking work (files, libcurl, RocksDB writes) are spawned detached.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "actors/messages.hpp"
#include "events/decide.hpp"

namespace octomig::actors {

using step_actor = caf::typed_actor<caf::replies_to<run_atom, step_context>::with<step_outcome>>;

using step_spawner = std::function<step_actor(caf::actor_system&)>;

struct step_def {
  std::string name;  // shown in the task log: "Collect documents"
  step_spawner spawn;
};

// How a task ended, for what a pipeline appends after its final event.
struct task_end {
  std::string task_id;
  std::string arguments_json;             // the task's (redacted) arguments
  events::task_status final_state;        // Success, Failed, Canceled or TimedOut
  std::vector<events::event_body> facts;  // every fact the task's steps recorded
};

struct pipeline {
  std::vector<step_def> steps;
  bool needs_maintenance = true;  // migrations hold maintenance mode while they run
  // Commands appended in the same batch as the task's final event, decided after it (the
  // callback a request asked for: events::cmd::schedule_callback); also for a task that start-up
  // recovery closes as interrupted. Optional.
  std::function<std::vector<events::task_command>(const task_end&)> after_end;
  // What the task says when start-up recovery closes it as interrupted, given the facts its steps
  // recorded (an import that committed says its documents are in place). Optional: the default
  // asks to run the task again.
  std::function<std::string(const std::vector<events::event_body>& facts)> interrupted_message =
      nullptr;
};

// Task type (TaskResource.Name) -> its pipeline.
using pipeline_registry = std::map<std::string, pipeline>;

// The last fact of type Fact in facts, or nullptr.
template <class Fact>
const Fact* find_fact(const std::vector<events::event_body>& facts) {
  for (auto it = facts.rbegin(); it != facts.rend(); ++it)
    if (const auto* f = std::get_if<Fact>(&*it)) return f;
  return nullptr;
}

}  // namespace octomig::actors
