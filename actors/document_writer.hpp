// document_writer: the one writer of an instance's resources. It owns the write side of
// storage::documents and executes (document_atom, storage::document_command) one at a time,
// answering document_reply once the change is durable (or refused). It is detached: every
// command is a synced RocksDB write, which must not hold a scheduler thread.
#pragma once

#include <caf/all.hpp>
#include <string>

#include "storage/store.hpp"

namespace octomig::actors {

// REQUIRES: st is open read_write and outlives the actor; no other documents object writes to it.
caf::actor spawn_document_writer(caf::actor_system& sys, storage::store& st,
                                 const std::string& master_key);

}  // namespace octomig::actors
