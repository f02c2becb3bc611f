// The server's log: one line per message on stderr, with time and level. Never pass it a secret.
#pragma once

#include <optional>
#include <string>

namespace octomig::log {

enum class level { error = 0, warn = 1, info = 2, debug = 3 };

std::optional<level> parse_level(const std::string& text);
void set_level(level l);

void error(const std::string& message);
void warn(const std::string& message);
void info(const std::string& message);
void debug(const std::string& message);

}  // namespace octomig::log
