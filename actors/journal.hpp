// The journal: the only writer of the event log.
//
// Receives (append_atom, storage::append_request) and answers append_reply once the events are
// durable. Group commit: it takes one message, drains every append already waiting, then lingers
// up to `linger` for as many appends as the previous batch held (so a lone writer never waits),
// and writes them all in one synced WriteBatch. (stop_atom) finishes the batch in hand and quits.
#pragma once

#include <caf/all.hpp>
#include <chrono>

#include "storage/store.hpp"

namespace octomig::actors {

struct journal_stats {
  std::atomic<std::uint64_t> batches{0};
  std::atomic<std::uint64_t> requests{0};
};

// Spawns the journal as a detached (blocking) actor. stats may be null.
caf::actor spawn_journal(caf::actor_system& sys, storage::store& st,
                         std::chrono::microseconds linger = std::chrono::microseconds(200),
                         journal_stats* stats = nullptr);

}  // namespace octomig::actors
