#include "actors/maintenance_guard.hpp"

#include "actors/messages.hpp"

namespace octomig::actors {
namespace {

struct guard_state {
  storage::store* st = nullptr;
  caf::actor journal;
  static inline const char* name = "maintenance_guard";
};

using guard_actor = caf::stateful_actor<guard_state>;

// Appends one system event unless `needed` is false, then replies with the projected state.
// await keeps the guard's changes strictly one after the other.
caf::result<maintenance_reply> change(guard_actor* self, bool needed, events::event_body ev) {
  auto& s = self->state;
  if (!needed) return maintenance_reply(s.st->maintenance());
  storage::append_request r;
  r.stream = events::system_stream;
  r.expected_version = s.st->stream_version(events::system_stream);
  r.events.push_back(std::move(ev));
  r.timestamp = now_us();
  auto rp = self->make_response_promise<maintenance_reply>();
  self->request(s.journal, caf::infinite, append_atom::value, std::move(r))
      .await(
          [=](append_reply& a) mutable {
            if (!a) {
              rp.deliver(maintenance_reply(a.err()));
              return;
            }
            rp.deliver(maintenance_reply(self->state.st->maintenance()));
          },
          [=](caf::error& e) mutable {
            rp.deliver(maintenance_reply(
                make_error(errc::unavailable, "journal did not answer: " + to_string(e))));
          });
  return rp;
}

caf::behavior guard(guard_actor* self, storage::store* st, caf::actor journal) {
  self->state.st = st;
  self->state.journal = std::move(journal);
  return {
      [=](set_atom, bool on) -> caf::result<maintenance_reply> {
        bool current = self->state.st->maintenance().manual;
        if (on) return change(self, !current, events::maintenance_entered{});
        return change(self, current, events::maintenance_left{});
      },
      [=](enter_atom, const std::string& task_id) -> caf::result<maintenance_reply> {
        bool held = self->state.st->maintenance().task_id == task_id;
        return change(self, !held, events::maintenance_entered{task_id});
      },
      [=](leave_atom, const std::string& task_id) -> caf::result<maintenance_reply> {
        bool held = self->state.st->maintenance().task_id == task_id;
        return change(self, held, events::maintenance_left{task_id});
      },
  };
}

}  // namespace

caf::actor spawn_maintenance_guard(caf::actor_system& sys, storage::store& st, caf::actor journal) {
  return sys.spawn(guard, &st, std::move(journal));
}

}  // namespace octomig::actors
