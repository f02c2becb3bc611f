// api_ingress: where http's commands enter the actor system. It checks the shape of a command and
// hands it to the actor that owns the decision: the supervisor for tasks, the guard for maintenance
// mode, the document writer for an instance's resources, the feed publisher for packages.
#pragma once

#include "actors/document_writer.hpp"
#include "actors/feed_publisher.hpp"
#include "actors/maintenance_guard.hpp"
#include "actors/messages.hpp"
#include "actors/task_supervisor.hpp"

namespace octomig::actors {

using api_ingress_actor = caf::typed_actor<
    caf::replies_to<queue_atom, queue_request>::with<task_reply>,
    caf::replies_to<cancel_atom, std::string, std::string>::with<task_reply>,
    caf::replies_to<set_atom, bool>::with<maintenance_reply>,
    caf::replies_to<document_atom, storage::document_command>::with<document_reply>,
    caf::replies_to<publish_atom, storage::publish_command>::with<publish_reply>,
    caf::replies_to<unpublish_atom, storage::package_record>::with<unpublish_reply>>;

struct ingress_targets {
  task_supervisor_actor supervisor;
  maintenance_guard_actor guard;
  document_writer_actor documents;
  feed_publisher_actor feed;
};

api_ingress_actor spawn_api_ingress(caf::actor_system& sys, ingress_targets targets);

}  // namespace octomig::actors
