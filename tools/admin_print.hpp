// Text forms of the engine's values for octomig-admin. Everything printed comes from the engine's
// own views (events::summary, events::to_json, events::octopus_date); this file only lays them out.
#pragma once

#include <boost/json/value.hpp>
#include <string>

#include "events/events.hpp"
#include "events/task_state.hpp"

namespace octomig::admin {

// "      12  2026-01-02T03:04:05.678+00:00  ServerTasks-3  task_started  ServerNode=node-1"
std::string event_line(const events::envelope& e);

// The key fields of a task after an event, for a history: "state=Executing version=2 step=- ..."
std::string state_line(const events::task_state& s);

// A task as "Key  value" lines, from events::to_json(task_state), plus the fields that view omits.
std::string task_text(const events::task_state& s, events::timestamp_us now);

// JSON indented by two spaces, ending without a newline.
std::string pretty_json(const boost::json::value& v);

// Control characters escaped (\n, \t, \xNN) so that one value stays on one line.
std::string printable(const std::string& text);

// A 64-digit hex run (a keyed API key hash) shortened to its first 8 digits: a hash is no secret,
// but it has no use to a reader and need not travel further than the store.
std::string without_hashes(const std::string& text);

}  // namespace octomig::admin
