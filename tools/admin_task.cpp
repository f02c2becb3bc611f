// `task`: a task's projected state, or its history replayed event by event through events::apply.
#include <boost/json.hpp>
#include <iostream>

#include "events/codec.hpp"
#include "events/json.hpp"
#include "tools/admin_commands.hpp"
#include "tools/admin_print.hpp"
#include "tools/admin_store.hpp"

namespace octomig::admin {
namespace {

error unknown_task(const std::string& id) {
  return make_error(errc::not_found, "There is no task with the id " + id + ".");
}

status print_history(const storage::store& store, const std::string& id, bool as_json) {
  auto stream = store.read_stream(id);
  if (!stream) return stream.err();
  if (stream->empty()) return unknown_task(id);
  const auto now = now_us();
  events::task_state s;
  for (const auto& e : *stream) {
    s = events::apply(std::move(s), e);
    if (as_json) {
      boost::json::object task = events::to_json(s, now);
      task["Version"] = s.version;
      task["CurrentStep"] = s.current_step;
      std::cout << boost::json::serialize(boost::json::object{{"Event", events::to_json(e)},
                                                              {"Task", std::move(task)}})
                << '\n';
    } else {
      std::cout << event_line(e) << "\n          " << state_line(s) << '\n';
    }
  }
  // The replay and the stored read model are the same fold; a difference means a damaged
  // projection.
  auto stored = store.task(id);
  if (!stored || events::encode(*stored) != events::encode(s))
    std::cerr << "octomig-admin: note: the stored state of " << id
              << " differs from this replay; run 'projections verify'\n";
  return ok_status();
}

}  // namespace

status run_task(const invocation& inv) {
  auto opened = open_for_reading(inv.dir);
  if (!opened) return opened.err();
  const storage::store& store = **opened;
  const std::string& id = inv.positional;
  const bool as_json = inv.has("--json");

  if (inv.has("--history")) return print_history(store, id, as_json);

  auto t = store.task(id);
  if (!t) return t.err().code == errc::not_found ? unknown_task(id) : t.err();
  if (as_json)
    std::cout << pretty_json(events::to_json(*t, now_us())) << '\n';
  else
    std::cout << task_text(*t, now_us());
  return ok_status();
}

}  // namespace octomig::admin
