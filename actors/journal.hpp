// The journal: the only writer of the event log.
//
//   (append_atom, storage::append_request) -> append_reply   once the events are durable
//   (append_atom, storage::append_request, caf::timestamp deadline)
//                                          -> append_reply   the same, unless the deadline has
//                                                            passed when its batch is written: then
//                                                            errc::unavailable, and nothing of it
//                                                            is written, ever
//   (stop_atom)                                              finish the batch in hand and quit
//
// The deadline is what makes a caller's timeout safe: a caller that gives up on an append (after
// the deadline, with some margin) knows it will not land later behind its back.
//
// Group commit: it takes one message, drains every append already waiting, then lingers up to
// `linger` for as many appends as the previous batch held (so a lone writer never waits), and
// writes them all in one synced WriteBatch. It is a detached blocking actor (a synced write must
// not hold a scheduler thread, and blocking receive batches best on CAF 0.17); its handlers are
// checked against journal_actor when it starts, so the interface below is what it implements.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>

#include "actors/messages.hpp"
#include "storage/store.hpp"

namespace octomig::actors {

using journal_actor = caf::typed_actor<
    caf::replies_to<append_atom, storage::append_request>::with<append_reply>,
    caf::replies_to<append_atom, storage::append_request, caf::timestamp>::with<append_reply>,
    caf::reacts_to<stop_atom>>;

// The deadline for an append that must be written within `within`, and how long its caller waits
// for the answer: twice that, so that the journal's own refusal, not the caller's timeout, is what
// the caller normally sees.
inline caf::timestamp append_deadline(std::chrono::milliseconds within) {
  return caf::make_timestamp() + within;
}
inline std::chrono::milliseconds append_wait(std::chrono::milliseconds within) {
  return 2 * within;
}

struct journal_stats {
  std::atomic<std::uint64_t> batches{0};
  std::atomic<std::uint64_t> requests{0};
};

struct journal_options {
  std::chrono::microseconds linger{200};
  journal_stats* stats = nullptr;  // may be null
  // Test hook, called before each batch is written: a test blocks in it to stall the journal.
  std::function<void()> before_write;
};

journal_actor spawn_journal(caf::actor_system& sys, storage::store& st, journal_options opts = {});

}  // namespace octomig::actors
