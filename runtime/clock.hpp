// The wall clock, read in one place: event timestamps, package publish times and log lines all
// come from here. The pure modules (events/, migration/) never read a clock; callers pass times in.
#pragma once

#include <cstdint>

namespace octomig::runtime {

// Microseconds since the Unix epoch, UTC, from the system clock.
std::int64_t now_us();

}  // namespace octomig::runtime
