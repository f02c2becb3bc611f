// How octomig-admin opens a data directory's store: reads as a secondary instance (works beside a
// running server), writes as the only writer (refused, with a clear message, while the server
// runs).
#pragma once

#include <memory>

#include "events/error.hpp"
#include "events/events.hpp"
#include "runtime/clock.hpp"
#include "storage/data_dir.hpp"
#include "storage/store.hpp"

namespace octomig::admin {

// errc::not_found when the data directory or its store does not exist; nothing is created.
status require_store(const storage::data_dir& d);

// A secondary instance of the store, caught up with the server's writes at the time of the call.
result<std::unique_ptr<storage::store>> open_for_reading(const storage::data_dir& d);

// The store opened read_write. errc::unavailable "the server is running; stop it first" when
// another process holds the store's lock.
result<std::unique_ptr<storage::store>> open_for_writing(const storage::data_dir& d);

// As open_for_writing, but a data directory or store that does not exist yet is created, with
// the directory layout octomigd makes (the master key and bootstrap are the caller's). With
// sync false, writes are not synced one by one: the caller calls store::sync() when done (a crash
// before that can lose the last writes; only for bulk loads into a new store).
result<std::unique_ptr<storage::store>> open_or_create_for_writing(const storage::data_dir& d,
                                                                   bool sync = true);

using runtime::now_us;

}  // namespace octomig::admin
