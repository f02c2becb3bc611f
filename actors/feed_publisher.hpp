// The feed publisher: where complete uploads enter the built-in feed, and packages leave it.
//
//   (publish_atom, storage::publish_command)  -> publish_reply    once indexed (or refused)
//   (unpublish_atom, storage::package_record) -> unpublish_reply  once removed
//
// Each request runs in a detached worker of its own: a publish finishes the file (fsync), renames
// it and writes the index with synced writes, so it must hold neither an I/O thread nor a scheduler
// thread, and publishes of different packages run side by side (storage serialises those of one
// package).
#pragma once

#include <filesystem>

#include "actors/messages.hpp"
#include "storage/packages.hpp"
#include "storage/store.hpp"

namespace octomig::actors {

using feed_publisher_actor = caf::typed_actor<
    caf::replies_to<publish_atom, storage::publish_command>::with<publish_reply>,
    caf::replies_to<unpublish_atom, storage::package_record>::with<unpublish_reply>>;

struct feed_options {
  std::filesystem::path feed_root;  // feed/ of the data directory
  storage::publish_faults faults;   // tests only
};

// REQUIRES: st is open read_write and outlives the actor.
feed_publisher_actor spawn_feed_publisher(caf::actor_system& sys, storage::store& st,
                                          feed_options opts);

}  // namespace octomig::actors
