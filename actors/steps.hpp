// The step interface: a task runs as a pipeline of steps, each a worker actor spawned for that
// task. Exporter, packager, feed pusher and importer are steps; tests bring their own.
//
// Protocol: the supervisor spawns the worker, monitors it and sends (run_atom, step_context); the
// worker answers with a step_outcome. While it runs it may send (log_atom, task_id, category, text)
// and (warn_atom, task_id, message) to ctx.supervisor; they reach the task log as events.
// Cancellation and time limits stop a worker with exit_reason::user_shutdown: a step must leave
// nothing half-written when it is stopped at a message boundary.
#pragma once

#include <caf/all.hpp>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace octomig::actors {

struct step_context {
  std::string task_id;
  std::string space_id;
  std::string arguments_json;
  std::filesystem::path work_dir;  // work/<TaskId>, removed when the task ends
  caf::actor supervisor;
};

struct step_outcome {
  bool ok = true;
  std::string summary;        // one line for the task log when ok
  std::string error_message;  // why the task fails when !ok; never contains a secret
};

using step_spawner = std::function<caf::actor(caf::actor_system&)>;

struct step_def {
  std::string name;  // shown in the task log: "Collect documents"
  step_spawner spawn;
};

struct pipeline {
  std::vector<step_def> steps;
  bool needs_maintenance = true;  // migrations hold maintenance mode while they run
};

// Task type (TaskResource.Name) -> its pipeline.
using pipeline_registry = std::map<std::string, pipeline>;

}  // namespace octomig::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(octomig::actors::step_context)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(octomig::actors::step_outcome)
