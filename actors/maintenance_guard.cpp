#include "actors/maintenance_guard.hpp"

#include "runtime/clock.hpp"
#include "runtime/log.hpp"

namespace octomig::actors {
namespace {

struct guard_state {
  storage::store* st = nullptr;
  journal_actor journal;
  std::chrono::milliseconds journal_timeout{0};
  static inline const char* name = "maintenance_guard";
};

using guard_pointer = maintenance_guard_actor::stateful_pointer<guard_state>;

// Appends ev to the system stream when `needed` says the state must change, then answers with the
// projected state. await keeps changes strictly in order; it gives up after journal_timeout.
caf::result<maintenance_reply> change(guard_pointer self, bool needed, events::event_body ev) {
  auto& s = self->state;
  if (!needed) return maintenance_reply(s.st->maintenance());
  auto version = s.st->stream_version(events::system_stream);
  if (!version) return maintenance_reply(version.err());
  storage::append_request r;
  r.stream = events::system_stream;
  r.expected_version = *version;
  r.events.push_back(std::move(ev));
  r.timestamp = runtime::now_us();
  auto rp = self->make_response_promise<maintenance_reply>();
  self->request(s.journal, append_wait(s.journal_timeout), append_atom::value, std::move(r),
                append_deadline(s.journal_timeout))
      .await(
          [=](append_reply& a) mutable {
            if (!a) {
              log::error("maintenance mode could not be changed: " + a.err().message);
              rp.deliver(maintenance_reply(a.err()));
              return;
            }
            rp.deliver(maintenance_reply(self->state.st->maintenance()));
          },
          [=](caf::error& e) mutable {
            auto err = make_error(errc::unavailable,
                                  "the journal did not answer in time (" + to_string(e) + ")");
            log::error("maintenance mode could not be changed: " + err.message);
            rp.deliver(maintenance_reply(err));
          });
  return rp;
}

maintenance_guard_actor::behavior_type guard(guard_pointer self, storage::store* st,
                                             journal_actor journal,
                                             std::chrono::milliseconds journal_timeout) {
  self->state.st = st;
  self->state.journal = std::move(journal);
  self->state.journal_timeout = journal_timeout;
  return {
      [=](set_atom, bool on) -> caf::result<maintenance_reply> {
        auto current = self->state.st->maintenance();
        if (!current) return maintenance_reply(current.err());
        if (on) return change(self, !current->manual, events::maintenance_entered{});
        return change(self, current->manual, events::maintenance_left{});
      },
      [=](enter_atom, const std::string& task_id) -> caf::result<maintenance_reply> {
        auto current = self->state.st->maintenance();
        if (!current) return maintenance_reply(current.err());
        return change(self, current->task_id != task_id, events::maintenance_entered{task_id});
      },
      [=](leave_atom, const std::string& task_id) -> caf::result<maintenance_reply> {
        auto current = self->state.st->maintenance();
        if (!current) return maintenance_reply(current.err());
        return change(self, current->task_id == task_id, events::maintenance_left{task_id});
      },
  };
}

}  // namespace

maintenance_guard_actor spawn_maintenance_guard(caf::actor_system& sys, storage::store& st,
                                                journal_actor journal,
                                                std::chrono::milliseconds journal_timeout) {
  return sys.spawn(guard, &st, std::move(journal), journal_timeout);
}

}  // namespace octomig::actors
