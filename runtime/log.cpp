#include "runtime/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <ctime>
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

void append(spdlog::memory_buf_t& out, std::string_view s) {
  out.append(s.data(), s.data() + s.size());
}

// The level word of text lines, in five columns: spdlog's own names ("warning") are longer.
struct level_word final : spdlog::custom_flag_formatter {
  void format(const spdlog::details::log_msg& m, const std::tm&,
              spdlog::memory_buf_t& out) override {
    static constexpr std::string_view words[] = {"ERROR", "WARN ", "INFO ", "DEBUG"};
    append(out, words[static_cast<int>(from_spd(m.level))]);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<level_word>();
  }
};

// The length of the well-formed UTF-8 sequence at s[i] (2 to 4 bytes; ASCII is handled by the
// caller), or, as a negative number, the length of its maximal ill-formed prefix (at least 1),
// which Unicode recommends replacing by one U+FFFD. Table 3-7 of the Unicode Standard: no overlong
// forms, no surrogates, nothing above U+10FFFF.
int utf8_sequence(std::string_view s, std::size_t i) {
  auto b = static_cast<unsigned char>(s[i]);
  int n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range; later bytes are 80..BF
  if (b >= 0xC2 && b <= 0xDF) {
    n = 2;
  } else if (b >= 0xE0 && b <= 0xEF) {
    n = 3;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    n = 4;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
  } else {
    return -1;
  }
  int k = 1;
  for (; k < n && i + k < s.size(); ++k) {
    auto c = static_cast<unsigned char>(s[i + k]);
    if (k == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF)) break;
  }
  return k == n ? n : -k;
}

// `s` as a JSON string: quotes, backslashes and control characters escaped, each ill-formed UTF-8
// sequence replaced by U+FFFD. Any bytes give valid JSON on one line.
void append_json_string(spdlog::memory_buf_t& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      int n = utf8_sequence(s, i);
      if (n > 0) {
        append(out, s.substr(i, static_cast<std::size_t>(n)));
      } else {
        append(out, "\xEF\xBF\xBD");
        n = -n;
      }
      i += static_cast<std::size_t>(n);
      continue;
    }
    switch (c) {
      case '"':
        append(out, "\\\"");
        break;
      case '\\':
        append(out, "\\\\");
        break;
      case '\n':
        append(out, "\\n");
        break;
      case '\r':
        append(out, "\\r");
        break;
      case '\t':
        append(out, "\\t");
        break;
      case '\b':
        append(out, "\\b");
        break;
      case '\f':
        append(out, "\\f");
        break;
      default:
        if (c < 0x20) {
          const char esc[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF]};
          out.append(esc, esc + sizeof esc);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out.push_back('"');
}

// 2026-11-30T04:01:13.141Z: UTC, milliseconds, RFC 3339.
void append_utc_time(spdlog::memory_buf_t& out, spdlog::log_clock::time_point t) {
  using namespace std::chrono;
  auto ms = floor<milliseconds>(t.time_since_epoch()).count();
  auto secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  auto milli = static_cast<int>(ms - static_cast<long long>(secs) * 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char text[64];
  int n = std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, milli);
  append(out, std::string_view(text, static_cast<std::size_t>(std::max(n, 0))));
}

void append_json_line(spdlog::memory_buf_t& out, const spdlog::details::log_msg& m) {
  append(out, "{\"time\":\"");
  append_utc_time(out, m.time);
  append(out, "\",\"level\":\"");
  append(out, to_string(from_spd(m.level)));
  append(out, "\",\"message\":");
  append_json_string(out, std::string_view(m.payload.data(), m.payload.size()));
  append(out, ",\"logger\":");
  append_json_string(out, std::string_view(m.logger_name.data(), m.logger_name.size()));
  append(out, "}\n");
}

// Writes each line to one stream, in the format of the moment. Format and stream are guarded by
// base_sink's mutex, the one every line is written under, so switching them is safe mid-traffic.
class output_sink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  output_sink() {
    auto text = std::make_unique<spdlog::pattern_formatter>();
    text->add_flag<level_word>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %* %v");
    formatter_ = std::move(text);
  }

  void set_format(log_format f) {
    std::lock_guard<std::mutex> lock(mutex_);
    format_ = f;
  }

  void set_file(std::FILE* f) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::fflush(file_);
    file_ = f ? f : stderr;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& m) override {
    spdlog::memory_buf_t line;
    if (format_ == log_format::json) {
      append_json_line(line, m);
    } else {
      formatter_->format(m, line);
    }
    std::fwrite(line.data(), 1, line.size(), file_);
  }
  void flush_() override { std::fflush(file_); }

 private:
  log_format format_ = log_format::text;  // guarded by mutex_
  std::FILE* file_ = stderr;              // guarded by mutex_
};

// Hands every message to the observers that live at the time (tests); guarded by its own mutex so
// that observers come and go while other threads log.
struct fanout final : spdlog::sinks::base_sink<std::mutex> {
  std::mutex observers_mu;
  std::vector<const observer::fn*> observers;  // guarded by observers_mu

 protected:
  void sink_it_(const spdlog::details::log_msg& m) override {
    std::lock_guard<std::mutex> lock(observers_mu);
    if (observers.empty()) return;
    std::string text(m.payload.data(), m.payload.size());
    for (const auto* f : observers) (*f)(from_spd(m.level), text);
  }
  void flush_() override {}
};

struct process_logger {
  std::shared_ptr<output_sink> output = std::make_shared<output_sink>();
  std::shared_ptr<fanout> observed = std::make_shared<fanout>();
  std::shared_ptr<spdlog::logger> logger;

  process_logger() {
    spdlog::sinks_init_list sinks{output, observed};
    logger = std::make_shared<spdlog::logger>("octomig", sinks);
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

result<log_format> parse_log_format(std::string_view text) {
  if (text == "text") return log_format::text;
  if (text == "json") return log_format::json;
  return make_error(errc::invalid_argument,
                    "the log format is text or json, not \"" + std::string(text) + "\"");
}

const char* to_string(log_format f) {
  return f == log_format::json ? "json" : "text";
}

void set_format(log_format f) {
  instance().output->set_format(f);
}

void set_output(std::FILE* out) {
  instance().output->set_file(out);
}

void set_level(level l) {
  logger().set_level(to_spd(l));
}

bool enabled(level l) {
  return logger().should_log(to_spd(l));
}

void write(level l, std::string_view message) {
  auto& lg = logger();
  if (!lg.should_log(to_spd(l))) return;
  lg.log(spdlog::source_loc{}, to_spd(l), spdlog::string_view_t(message.data(), message.size()));
}

}  // namespace octomig::log
