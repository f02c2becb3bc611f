#include "actors/api_ingress.hpp"

namespace octomig::actors {
namespace {

api_ingress_actor::behavior_type ingress(api_ingress_actor::pointer self, ingress_targets t) {
  return {
      [=](queue_atom q, queue_request& r) -> caf::result<task_reply> {
        if (r.name.empty())
          return task_reply(make_error(errc::invalid_argument, "A task needs a type."));
        if (r.time_limit_ms < 0)
          return task_reply(make_error(errc::invalid_argument, "A time limit cannot be negative."));
        return self->delegate(t.supervisor, q, std::move(r));
      },
      [=](cancel_atom c, std::string& id, std::string& by) -> caf::result<task_reply> {
        if (id.empty())
          return task_reply(make_error(errc::invalid_argument, "No id parameter was provided."));
        return self->delegate(t.supervisor, c, std::move(id), std::move(by));
      },
      [=](set_atom s, bool on) -> caf::result<maintenance_reply> {
        return self->delegate(t.guard, s, on);
      },
      [=](document_atom d, storage::document_command& cmd) -> caf::result<document_reply> {
        if (cmd.space_id.empty() || cmd.collection.empty())
          return document_reply(
              make_error(errc::invalid_argument, "A document command needs a space and a type."));
        if (cmd.op != storage::document_op::create && cmd.id.empty())
          return document_reply(
              make_error(errc::invalid_argument, "No id parameter was provided."));
        return self->delegate(t.documents, d, std::move(cmd));
      },
      [=](publish_atom p, storage::publish_command& cmd) -> caf::result<publish_reply> {
        if (!cmd.writer || cmd.space_id.empty())
          return publish_reply(
              make_error(errc::invalid_argument, "A publish needs a space and a package file."));
        return self->delegate(t.feed, p, std::move(cmd));
      },
      [=](unpublish_atom u, storage::package_record& rec) -> caf::result<unpublish_reply> {
        if (rec.space_id.empty() || rec.file_name.empty())
          return unpublish_reply(
              make_error(errc::invalid_argument, "A delete needs a package of a space."));
        return self->delegate(t.feed, u, std::move(rec));
      },
  };
}

}  // namespace

api_ingress_actor spawn_api_ingress(caf::actor_system& sys, ingress_targets targets) {
  return sys.spawn(ingress, std::move(targets));
}

}  // namespace octomig::actors
