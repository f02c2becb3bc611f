// The task supervisor: owns the task queue and runs one task at a time through its pipeline.
//
//   (queue_atom, queue_request)                   -> task_reply: the task, Queued, once durable
//   (cancel_atom, std::string id, std::string by) -> task_reply: Canceled for a queued task;
//                                                    Cancelling for a running one (its step is
//                                                    told to stop at once), then Canceled
//   (recover_atom)                                -> status; run once before anything else starts:
//                                                    closes tasks found Executing with
//                                                    task_interrupted, gives back maintenance mode,
//                                                    empties work/, re-queues Queued tasks in order
//   and the steps' (log_atom ...) and (warn_atom ...) (actors/messages.hpp: step_sink).
//
// Every transition is decided by events::decide_all against the projected state and appended
// through the journal before anything depends on it. Appends never block the supervisor: each task
// has an outbox of commands, sent as one append at a time; whatever arrives meanwhile (log lines,
// a cancel, the final event and the callbacks after it) goes into the next append, together. So a
// cancel or a time limit is acted on at once, whatever the journal is doing, and a step's log
// lines cost one synced write per batch, not per line. No request waits without a bound: appends
// and maintenance switches give up after journal_timeout.
//
// A queued task's secrets (queue_request::secrets) stay in the supervisor's memory until the task
// starts, then go to its steps in the task's workspace (step_context::workspace); they are never
// appended. When a task's end scheduled callbacks, the callback notifier is told once the append
// is durable.
//
// Failures reach someone: one that only concerns the task (a step failed, a log line could not be
// appended, maintenance mode could not be entered, the work folder could not be made) fails the
// task with its reason; one that leaves the engine's own books wrong (a task's final event or the
// maintenance mode at its end could not be recorded) stops the server through on_fatal, and the
// next start's recovery puts things right. Both are logged.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

#include "actors/callback_notifier.hpp"
#include "actors/journal.hpp"
#include "actors/maintenance_guard.hpp"
#include "actors/messages.hpp"
#include "actors/steps.hpp"
#include "storage/store.hpp"

namespace octomig::actors {

using task_supervisor_actor =
    step_sink::extend<caf::replies_to<recover_atom>::with<status>,
                      caf::replies_to<queue_atom, queue_request>::with<task_reply>,
                      caf::replies_to<cancel_atom, std::string, std::string>::with<task_reply>>;

struct supervisor_config {
  storage::store* store = nullptr;
  journal_actor journal;
  maintenance_guard_actor guard;
  pipeline_registry pipelines;
  std::filesystem::path work_root;  // work/ of the data directory
  std::string server_node;
  std::size_t max_queue = 1000;  // queued tasks beyond this are refused
  // Default: 30 s. An append or a maintenance switch unanswered this long has failed.
  std::chrono::milliseconds journal_timeout{30000};
  // Default: 10 s. A step told to stop that has not answered after this is killed.
  std::chrono::milliseconds stop_grace{10000};
  // Told of each task that scheduled callbacks at its end (may be null: no callbacks are sent).
  callback_notifier_actor notifier;
  // Called once when the engine's own records could not be kept (see above): the server stops.
  std::function<void(const std::string& reason)> on_fatal;
};

task_supervisor_actor spawn_task_supervisor(caf::actor_system& sys, supervisor_config cfg);

}  // namespace octomig::actors
