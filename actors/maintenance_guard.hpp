// The maintenance guard: owns maintenance mode. It records every change as a maintenance_entered
// or maintenance_left event in the system stream; http reads the projected flag from storage.
//
//   (set_atom, bool on)              manual switch (admin API)      -> maintenance_reply
//   (enter_atom, std::string task)   a task holds it while it runs  -> maintenance_reply
//   (leave_atom, std::string task)   the task ended; the manual
//                                    setting from before stays       -> maintenance_reply
#pragma once

#include <caf/all.hpp>

#include "storage/store.hpp"

namespace octomig::actors {

caf::actor spawn_maintenance_guard(caf::actor_system& sys, storage::store& st, caf::actor journal);

}  // namespace octomig::actors
