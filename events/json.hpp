// JSON views of events and task state, shared by the server, the task log and the admin tool.
#pragma once

#include <boost/json/object.hpp>
#include <string>

#include "events/events.hpp"
#include "events/task_state.hpp"

namespace octomig::events {

// {"Position":..,"Stream":..,"Version":..,"Time":..,"Type":..,"Data":{...}}
boost::json::object to_json(const envelope& e);

// One line of text: the event's type-specific facts, e.g. `name=MigrationImport space=Spaces-1`.
std::string summary(const event_body& b);

// The task's fields in Octopus's TaskResource spelling, derived fields included. now is used for
// the Duration of a task that has not completed. Links are the caller's business.
boost::json::object to_json(const task_state& s, timestamp_us now);

}  // namespace octomig::events
