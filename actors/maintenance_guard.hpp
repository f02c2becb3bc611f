// The maintenance guard: owns maintenance mode. It records every change as a maintenance_entered
// or maintenance_left event in the system stream; http reads the projected state from storage.
//
//   (set_atom, bool on)              manual switch (admin API)      -> maintenance_reply
//   (enter_atom, std::string task)   a task holds it while it runs  -> maintenance_reply
//   (leave_atom, std::string task)   the task ended; the manual
//                                    setting from before stays       -> maintenance_reply
//
// Changes are strictly one after the other: each reads the projected state, appends, and waits
// for the journal before the next is taken. An append not written within journal_timeout is
// refused by the journal and never written (actors/journal.hpp), so a refused change has not
// happened. A state that cannot be read refuses the change with the error.
#pragma once

#include <chrono>

#include "actors/journal.hpp"
#include "actors/messages.hpp"
#include "storage/store.hpp"

namespace octomig::actors {

using maintenance_guard_actor =
    caf::typed_actor<caf::replies_to<set_atom, bool>::with<maintenance_reply>,
                     caf::replies_to<enter_atom, std::string>::with<maintenance_reply>,
                     caf::replies_to<leave_atom, std::string>::with<maintenance_reply>>;

maintenance_guard_actor spawn_maintenance_guard(caf::actor_system& sys, storage::store& st,
                                                journal_actor journal,
                                                std::chrono::milliseconds journal_timeout);

}  // namespace octomig::actors
