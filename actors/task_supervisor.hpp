// The task supervisor: owns the task queue and runs one task at a time through its pipeline.
//
//   (queue_atom, queue_request)                 -> task_reply (the task, Queued, once durable)
//   (cancel_atom, std::string id, std::string by) -> task_reply (Canceled for a queued task;
//                                                   Cancelling for a running one, then Canceled
//                                                   once its running step has stopped)
//   (recover_atom)                              -> bool; run once before any other command:
//                                                   closes tasks found Executing with
//                                                   task_interrupted, restores maintenance mode,
//                                                   re-queues Queued tasks in order
// Steps talk back with (log_atom, id, category, text) and (warn_atom, id, message).
//
// Every transition is decided by events::decide against the projected state and appended through
// the journal before anything else happens; the supervisor keeps no task state of its own beyond
// the queue order and the handle of the running step.
#pragma once

#include <caf/all.hpp>
#include <filesystem>

#include "actors/steps.hpp"
#include "storage/store.hpp"

namespace octomig::actors {

struct supervisor_config {
  storage::store* store = nullptr;
  caf::actor journal;
  caf::actor guard;
  pipeline_registry pipelines;
  std::filesystem::path work_root;  // work/ of the data directory
  std::string server_node;
  std::size_t max_queue = 1000;  // queued tasks beyond this are refused
};

caf::actor spawn_task_supervisor(caf::actor_system& sys, supervisor_config cfg);

}  // namespace octomig::actors
