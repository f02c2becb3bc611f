#include "server/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>

#include "events/time_format.hpp"

namespace octomig::log {
namespace {

std::atomic<int> current{static_cast<int>(level::info)};
std::mutex mu;

void write(level l, const char* name, const std::string& message) {
  if (static_cast<int>(l) > current.load()) return;
  using namespace std::chrono;
  auto now = duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
  std::lock_guard<std::mutex> lock(mu);
  std::fprintf(stderr, "%s %-5s %s\n", events::octopus_date(now).c_str(), name, message.c_str());
  std::fflush(stderr);
}

}  // namespace

std::optional<level> parse_level(const std::string& text) {
  if (text == "error") return level::error;
  if (text == "warn" || text == "warning") return level::warn;
  if (text == "info") return level::info;
  if (text == "debug") return level::debug;
  return std::nullopt;
}

void set_level(level l) {
  current = static_cast<int>(l);
}
void error(const std::string& m) {
  write(level::error, "ERROR", m);
}
void warn(const std::string& m) {
  write(level::warn, "WARN", m);
}
void info(const std::string& m) {
  write(level::info, "INFO", m);
}
void debug(const std::string& m) {
  write(level::debug, "DEBUG", m);
}

}  // namespace octomig::log
