// The callback notifier: sends the callbacks that ended tasks scheduled (design §10), from the
// durable outbox that is the task streams themselves.
//
//   (callback_atom, task id)   the task has open callbacks (callback_scheduled with no delivery or
//                              abandonment after it): send them
//   (resume_atom)              find every task with open callbacks (start-up, after recovery)
//
// Each attempt is a GET, recorded as callback_attempted; a 2xx answer is recorded as
// callback_delivered in the same append, and the callback is never sent again. Errors and 5xx are
// retried with exponential backoff up to max_attempts, then callback_abandoned; a 4xx other than
// 408 and 429 is abandoned at once (asking again cannot change the answer). Delivery is at least
// once: a crash between a GET and its record sends the callback again after the restart.
//
// It is a detached actor: a GET blocks (bounded by request_timeout, and cut short at shutdown).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>

#include "actors/journal.hpp"
#include "actors/messages.hpp"
#include "storage/store.hpp"

namespace octomig::actors {

using callback_notifier_actor =
    caf::typed_actor<caf::reacts_to<callback_atom, std::string>, caf::reacts_to<resume_atom>>;

struct notifier_options {
  std::size_t max_attempts = 8;
  // Default: 1 s, doubling per attempt, at most max_backoff.
  std::chrono::milliseconds first_backoff{1000};
  std::chrono::milliseconds max_backoff{60000};
  std::chrono::seconds request_timeout{30};
  std::chrono::milliseconds journal_timeout{30000};
  std::string ca_file;  // an extra CA bundle for https callbacks; verification is always on
  // Set when the engine stops: a GET in flight gives up at once.
  std::shared_ptr<std::atomic<bool>> stopping = std::make_shared<std::atomic<bool>>(false);
};

callback_notifier_actor spawn_callback_notifier(caf::actor_system& sys, storage::store& st,
                                                journal_actor journal, notifier_options opts);

}  // namespace octomig::actors
