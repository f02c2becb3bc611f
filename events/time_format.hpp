// Octopus's wire formats for times and durations. Pure: the caller supplies every time.
#pragma once

#include <string>

#include "events/events.hpp"

namespace octomig::events {

// "2017-03-20T21:00:17.205+00:00" (UTC, milliseconds).
std::string octopus_date(timestamp_us t);

// Parses ISO-8601 "YYYY-MM-DDTHH:MM:SS[.fff][Z|+hh:mm]"; false on anything else.
bool parse_octopus_date(const std::string& text, timestamp_us& out);

// "Monday, March 20, 2017 9:00 PM", as Octopus shows a completion time.
std::string human_date(timestamp_us t);

// "32 seconds", "1 minute", "3 hours": the largest whole unit, as Octopus's task list shows it.
std::string human_duration(timestamp_us from, timestamp_us to);

}  // namespace octomig::events
