#include "events/time_format.hpp"

#include <cstdio>
#include <ctime>

namespace octomig::events {
namespace {

std::tm utc(timestamp_us t, int& millis) {
  std::int64_t secs = t / 1000000;
  std::int64_t rem = t % 1000000;
  if (rem < 0) {
    rem += 1000000;
    --secs;
  }
  millis = static_cast<int>(rem / 1000);
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return tm;
}

std::string plural(std::int64_t n, const char* unit) {
  return std::to_string(n) + " " + unit + (n == 1 ? "" : "s");
}

}  // namespace

std::string octopus_date(timestamp_us t) {
  int ms = 0;
  std::tm tm = utc(t, ms);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03d+00:00", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

bool parse_octopus_date(const std::string& text, timestamp_us& out) {
  int y, mo, d, h, mi, s;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &consumed) !=
      6)
    return false;
  std::size_t i = static_cast<std::size_t>(consumed);
  std::int64_t micros = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    std::int64_t scale = 100000;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      micros += (text[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
  }
  std::int64_t offset_secs = 0;
  if (i < text.size()) {
    if (text[i] == 'Z') {
      ++i;
    } else if (text[i] == '+' || text[i] == '-') {
      int oh = 0, om = 0;
      if (std::sscanf(text.c_str() + i + 1, "%2d:%2d", &oh, &om) != 2) return false;
      offset_secs = (oh * 3600 + om * 60) * (text[i] == '-' ? -1 : 1);
      i += 6;
    }
  }
  if (i != text.size()) return false;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  std::int64_t secs = static_cast<std::int64_t>(timegm(&tm)) - offset_secs;
  out = secs * 1000000 + micros;
  return true;
}

std::string human_date(timestamp_us t) {
  static constexpr const char* days[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                         "Thursday", "Friday", "Saturday"};
  static constexpr const char* months[] = {"January",   "February", "March",    "April",
                                           "May",       "June",     "July",     "August",
                                           "September", "October",  "November", "December"};
  int ms = 0;
  std::tm tm = utc(t, ms);
  int hour12 = tm.tm_hour % 12 == 0 ? 12 : tm.tm_hour % 12;
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s, %s %d, %d %d:%02d %s", days[tm.tm_wday % 7],
                months[tm.tm_mon % 12], tm.tm_mday, tm.tm_year + 1900, hour12, tm.tm_min,
                tm.tm_hour < 12 ? "AM" : "PM");
  return buf;
}

std::string human_duration(timestamp_us from, timestamp_us to) {
  std::int64_t secs = (to - from) / 1000000;
  if (secs < 0) secs = 0;
  if (secs < 60) return plural(secs, "second");
  if (secs < 3600) return plural(secs / 60, "minute");
  if (secs < 86400) return plural(secs / 3600, "hour");
  return plural(secs / 86400, "day");
}

}  // namespace octomig::events
