#include "actors/api_ingress.hpp"

#include "actors/messages.hpp"

namespace octomig::actors {
namespace {

caf::behavior ingress(caf::event_based_actor* self, caf::actor supervisor, caf::actor guard,
                      caf::actor documents) {
  return {
      [=](queue_atom q, queue_request& r) -> caf::result<caf::message> {
        if (r.name.empty())
          return caf::make_message(
              task_reply(make_error(errc::invalid_argument, "A task needs a type.")));
        if (r.time_limit_ms < 0)
          return caf::make_message(
              task_reply(make_error(errc::invalid_argument, "A time limit cannot be negative.")));
        return self->delegate(supervisor, q, std::move(r));
      },
      [=](cancel_atom c, std::string& id, std::string& by) -> caf::result<caf::message> {
        if (id.empty())
          return caf::make_message(
              task_reply(make_error(errc::invalid_argument, "No id parameter was provided.")));
        return self->delegate(supervisor, c, std::move(id), std::move(by));
      },
      [=](set_atom s, bool on) -> caf::result<caf::message> {
        return self->delegate(guard, s, on);
      },
      [=](document_atom d, storage::document_command& cmd) -> caf::result<caf::message> {
        if (cmd.space_id.empty() || cmd.collection.empty())
          return caf::make_message(document_reply(
              make_error(errc::invalid_argument, "A document command needs a space and a type.")));
        if (cmd.op != storage::document_op::create && cmd.id.empty())
          return caf::make_message(
              document_reply(make_error(errc::invalid_argument, "No id parameter was provided.")));
        return self->delegate(documents, d, std::move(cmd));
      },
  };
}

}  // namespace

caf::actor spawn_api_ingress(caf::actor_system& sys, caf::actor supervisor, caf::actor guard,
                             caf::actor documents) {
  return sys.spawn(ingress, std::move(supervisor), std::move(guard), std::move(documents));
}

}  // namespace octomig::actors
