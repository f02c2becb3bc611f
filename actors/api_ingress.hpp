// api_ingress: where http's commands enter the actor system. It checks the shape of a command and
// hands it to the actor that owns the decision (the supervisor for tasks, the guard for
// maintenance mode, the document writer for an instance's resources).
#pragma once

#include <caf/all.hpp>

namespace octomig::actors {

caf::actor spawn_api_ingress(caf::actor_system& sys, caf::actor supervisor, caf::actor guard,
                             caf::actor documents);

}  // namespace octomig::actors
