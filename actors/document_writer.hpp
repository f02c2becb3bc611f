// document_writer: the one writer of an instance's resources. It owns the write side of
// storage::documents and executes one command at a time:
//
//   (document_atom, storage::document_command) -> document_reply   once durable (or refused)
//
// It is detached: every command is a synced RocksDB write, which must not hold a scheduler thread.
#pragma once

#include <string>

#include "actors/messages.hpp"
#include "storage/store.hpp"

namespace octomig::actors {

using document_writer_actor = caf::typed_actor<
    caf::replies_to<document_atom, storage::document_command>::with<document_reply>>;

// REQUIRES: docs' store is open read_write and outlives the actor; no other documents object
// writes to it (the import shares this one).
document_writer_actor spawn_document_writer(caf::actor_system& sys,
                                            std::shared_ptr<storage::documents> docs);

}  // namespace octomig::actors
