// Octopus's wire formats for times and durations.
#include "events/time_format.hpp"

#include <catch2/catch.hpp>
#include <regex>

using namespace octomig::events;

namespace {
constexpr timestamp_us second = 1000000;
constexpr timestamp_us t0 = 1490043617205000;  // 2017-03-20T21:00:17.205Z
}  // namespace

TEST_CASE("dates are written as yyyy-MM-ddTHH:mm:ss.fff+00:00", "[time_format]") {
  CHECK(octopus_date(t0) == "2017-03-20T21:00:17.205+00:00");
  CHECK(octopus_date(0) == "1970-01-01T00:00:00.000+00:00");
  CHECK(octopus_date(t0 + 999) == "2017-03-20T21:00:17.205+00:00");  // microseconds are cut
  CHECK(octopus_date(-1000) == "1969-12-31T23:59:59.999+00:00");
  CHECK(octopus_date(951782400 * second) == "2000-02-29T00:00:00.000+00:00");
  const std::regex shape(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00)");
  for (timestamp_us t = 0; t < 4102444800 * second; t += 864001234567)
    CHECK(std::regex_match(octopus_date(t), shape));
}

TEST_CASE("a written date parses back to the same millisecond", "[time_format]") {
  for (timestamp_us t : {timestamp_us{0}, t0, timestamp_us{951782399999000},
                         timestamp_us{4102444799123000}, timestamp_us{-86400 * second}}) {
    INFO(octopus_date(t));
    timestamp_us back = 1;
    REQUIRE(parse_octopus_date(octopus_date(t), back));
    CHECK(back == t);
  }
}

TEST_CASE("dates parse with Z, offsets, and without fractions", "[time_format]") {
  timestamp_us t = 0;
  REQUIRE(parse_octopus_date("2017-03-20T21:00:17Z", t));
  CHECK(t == 1490043617 * second);
  REQUIRE(parse_octopus_date("2017-03-20T21:00:17", t));
  CHECK(t == 1490043617 * second);
  REQUIRE(parse_octopus_date("2017-03-20T23:30:17.205+02:30", t));
  CHECK(t == t0);
  REQUIRE(parse_octopus_date("2017-03-20T20:00:17.205-01:00", t));
  CHECK(t == t0);
  REQUIRE(parse_octopus_date("2017-03-20T21:00:17.205123Z", t));
  CHECK(t == t0 + 123);
}

TEST_CASE("anything else is not a date", "[time_format]") {
  timestamp_us t = 7;
  for (const char* bad :
       {"", "yesterday", "2017-03-20", "2017-03-20T21:00", "2017-03-20T21:00:17+",
        "2017-03-20T21:00:17+02", "2017-03-20T21:00:17.205+00:00 ", "2017-03-20T21:00:17Zjunk"}) {
    INFO('"' << bad << '"');
    CHECK_FALSE(parse_octopus_date(bad, t));
  }
  CHECK(t == 7);
}

TEST_CASE("durations show the largest whole unit", "[time_format]") {
  CHECK(human_duration(t0, t0) == "0 seconds");
  CHECK(human_duration(t0, t0 + 1 * second) == "1 second");
  CHECK(human_duration(t0, t0 + 32 * second + 999999) == "32 seconds");
  CHECK(human_duration(t0, t0 + 59 * second) == "59 seconds");
  CHECK(human_duration(t0, t0 + 60 * second) == "1 minute");
  CHECK(human_duration(t0, t0 + 3599 * second) == "59 minutes");
  CHECK(human_duration(t0, t0 + 3600 * second) == "1 hour");
  CHECK(human_duration(t0, t0 + 3 * 3600 * second + 59 * 60 * second) == "3 hours");
  CHECK(human_duration(t0, t0 + 86400 * second) == "1 day");
  CHECK(human_duration(t0, t0 + 400 * 86400 * second) == "400 days");
  CHECK(human_duration(t0, t0 - 5 * second) ==
        "0 seconds");  // a clock step back is no negative time
}

TEST_CASE("completion times read as Octopus shows them", "[time_format]") {
  CHECK(human_date(t0) == "Monday, March 20, 2017 9:00 PM");
  CHECK(human_date(0) == "Thursday, January 1, 1970 12:00 AM");
  CHECK(human_date(1490011200 * second) == "Monday, March 20, 2017 12:00 PM");
}
