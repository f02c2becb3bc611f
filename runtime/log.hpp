// The one logger of every module (spdlog underneath): one line per message on stderr, with time and
// level. Lines are for operators: each names what happened and why, and never holds a secret
// (passwords, API keys, sensitive values), which callers must leave out before they get here.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace octomig::log {

enum class level { error = 0, warn = 1, info = 2, debug = 3 };

std::optional<level> parse_level(const std::string& text);  // error, warn(ing), info, debug
const char* to_string(level l);
void set_level(level l);
bool enabled(level l);

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

// Sees every line written while it lives (for tests that check what reached the log), besides the
// stderr output. Observers are called under the logger's lock: they must not log.
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
