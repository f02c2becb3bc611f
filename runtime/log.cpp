#include "runtime/log.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>
#include <vector>

namespace octomig::log {
namespace {

spdlog::level::level_enum to_spd(level l) {
  switch (l) {
    case level::error:
      return spdlog::level::err;
    case level::warn:
      return spdlog::level::warn;
    case level::info:
      return spdlog::level::info;
    case level::debug:
      return spdlog::level::debug;
  }
  return spdlog::level::info;
}

level from_spd(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::err:
    case spdlog::level::critical:
      return level::error;
    case spdlog::level::warn:
      return level::warn;
    case spdlog::level::info:
      return level::info;
    default:
      return level::debug;
  }
}

// Hands every line to the observers that live at the time (tests); guarded by its own mutex so
// that observers come and go while other threads log.
struct fanout final : spdlog::sinks::base_sink<std::mutex> {
  std::mutex observers_mu;
  std::vector<const observer::fn*> observers;  // guarded by observers_mu

 protected:
  void sink_it_(const spdlog::details::log_msg& m) override {
    std::lock_guard<std::mutex> lock(observers_mu);
    if (observers.empty()) return;
    // Without the level word that write() put in front.
    std::string text(m.payload.data(), m.payload.size());
    if (text.size() >= 6) text.erase(0, 6);
    for (const auto* f : observers) (*f)(from_spd(m.level), text);
  }
  void flush_() override {}
};

struct process_logger {
  std::shared_ptr<fanout> observed = std::make_shared<fanout>();
  std::shared_ptr<spdlog::logger> logger;

  process_logger() {
    spdlog::sinks_init_list sinks{std::make_shared<spdlog::sinks::stderr_sink_mt>(), observed};
    logger = std::make_shared<spdlog::logger>("octomig", sinks);
    // The level is part of the message (see write): spdlog's own names ("warning") are longer.
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %v");
    logger->set_level(spdlog::level::info);
    // Every line is flushed: a crash must not lose the line that explains it, and there are only
    // a few lines a request or a task.
    logger->flush_on(spdlog::level::trace);
  }
};

process_logger& instance() {
  static process_logger p;
  return p;
}

spdlog::logger& logger() {
  return *instance().logger;
}

}  // namespace

observer::observer(fn f) : f_(std::move(f)) {
  auto& o = *instance().observed;
  std::lock_guard<std::mutex> lock(o.observers_mu);
  o.observers.push_back(&f_);
}

observer::~observer() {
  auto& o = *instance().observed;
  std::lock_guard<std::mutex> lock(o.observers_mu);
  o.observers.erase(std::remove(o.observers.begin(), o.observers.end(), &f_), o.observers.end());
}

std::optional<level> parse_level(const std::string& text) {
  if (text == "error") return level::error;
  if (text == "warn" || text == "warning") return level::warn;
  if (text == "info") return level::info;
  if (text == "debug") return level::debug;
  return std::nullopt;
}

const char* to_string(level l) {
  switch (l) {
    case level::error:
      return "error";
    case level::warn:
      return "warn";
    case level::info:
      return "info";
    case level::debug:
      return "debug";
  }
  return "info";
}

void set_level(level l) {
  logger().set_level(to_spd(l));
}

bool enabled(level l) {
  return logger().should_log(to_spd(l));
}

void write(level l, std::string_view message) {
  static constexpr const char* names[] = {"ERROR", "WARN ", "INFO ", "DEBUG"};
  auto& lg = logger();
  if (!lg.should_log(to_spd(l))) return;
  lg.log(to_spd(l), "{} {}", names[static_cast<int>(l)], message);
}

}  // namespace octomig::log
