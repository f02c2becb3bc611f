// The one logger of every module (spdlog underneath): one line per message on stderr, with time and
// level, as text for people or as JSON Lines for log collectors. Lines are for operators: each
// names what happened and why, and never holds a secret (passwords, API keys, sensitive values),
// which callers must leave out before they get here.
#pragma once

#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "events/error.hpp"

namespace octomig::log {

enum class level { error = 0, warn = 1, info = 2, debug = 3 };

std::optional<level> parse_level(const std::string& text);  // error, warn(ing), info, debug
const char* to_string(level l);
void set_level(level l);
bool enabled(level l);

// How lines are written. Default: text.
//   text  2026-11-30T05:01:13.141+01:00 INFO  task 7 started
//         local time with its offset, the level in five columns, the message as given (scripts read
//         these lines: keep them as they are).
//   json  {"time":"2026-11-30T04:01:13.141Z","level":"info","message":"...","logger":"octomig"}
//         one JSON object per line (JSON Lines): UTC time to the millisecond (RFC 3339), the level
//         as to_string(level) names it, the message exactly; control characters are escaped and
//         bytes that are not UTF-8 become U+FFFD, so every message is one line of valid JSON.
enum class log_format { text, json };

// "text" or "json"; anything else is invalid_argument, with a message that says what is accepted.
result<log_format> parse_log_format(std::string_view text);
const char* to_string(log_format f);
// Takes effect from the next line; safe while other threads log.
void set_format(log_format f);

// Where lines go: `out`, or stderr again for nullptr. Every line is flushed as it is written.
// Safe while other threads log. REQUIRES: `out` stays open until it is replaced.
void set_output(std::FILE* out);

void write(level l, std::string_view message);
inline void error(std::string_view m) {
  write(level::error, m);
}
inline void warn(std::string_view m) {
  write(level::warn, m);
}
inline void info(std::string_view m) {
  write(level::info, m);
}
inline void debug(std::string_view m) {
  write(level::debug, m);
}

// Sees every message written while it lives (for tests that check what reached the log), besides
// the output. Observers are called under the logger's lock: they must not log.
class observer {
 public:
  using fn = std::function<void(level, const std::string& message)>;
  explicit observer(fn f);
  ~observer();
  observer(const observer&) = delete;
  observer& operator=(const observer&) = delete;

 private:
  fn f_;
};

}  // namespace octomig::log
