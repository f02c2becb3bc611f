// The process logger's two formats, read back from its output in memory: text lines as scripts
// read them, and JSON Lines that parse for any message, however hostile its bytes.
#include "runtime/log.hpp"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <vector>

using namespace octomig;

namespace {

// The log's output, in memory while it lives; the logger's defaults (stderr, text, info) are back
// when it goes.
class captured_output {
 public:
  captured_output() : file_(open_memstream(&data_, &size_)) {
    REQUIRE(file_ != nullptr);
    log::set_output(file_);
  }
  ~captured_output() {
    log::set_output(nullptr);
    log::set_format(log::log_format::text);
    log::set_level(log::level::info);
    std::fclose(file_);
    std::free(data_);
  }
  captured_output(const captured_output&) = delete;
  captured_output& operator=(const captured_output&) = delete;

  // Everything written so far. REQUIRES: no thread is logging.
  std::string text() {
    std::fflush(file_);
    return std::string(data_, size_);
  }

  // The lines written so far, without their '\n'; every line must end in one.
  std::vector<std::string> lines() {
    auto all = text();
    std::vector<std::string> out;
    std::size_t start = 0;
    for (auto nl = all.find('\n'); nl != std::string::npos; nl = all.find('\n', start)) {
      out.push_back(all.substr(start, nl - start));
      start = nl + 1;
    }
    CHECK(start == all.size());
    return out;
  }

 private:
  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::FILE* file_;
};

// Exactly one line, parsed strictly (Boost.JSON also refuses invalid UTF-8) as an object.
boost::json::object only_json_line(captured_output& out) {
  auto lines = out.lines();
  REQUIRE(lines.size() == 1);
  boost::json::error_code ec;
  auto v = boost::json::parse(lines[0], ec);
  INFO(lines[0]);
  REQUIRE(!ec);
  REQUIRE(v.is_object());
  return v.as_object();
}

std::string str(const boost::json::object& o, const char* key) {
  REQUIRE(o.contains(key));
  REQUIRE(o.at(key).is_string());
  return std::string(o.at(key).as_string());
}

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// Milliseconds since the epoch of an RFC 3339 UTC time with milliseconds, or -1 if it is not one.
std::int64_t parse_utc_ms(const std::string& time) {
  static const std::regex shape(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)");
  if (!std::regex_match(time, shape)) return -1;
  std::tm tm{};
  int ms = 0;
  std::sscanf(time.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
              &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<std::int64_t>(timegm(&tm)) * 1000 + ms;
}

// Every test runs 3 h 30 min west of UTC (a zone that needs no time zone database), set before
// anything logs: text lines are in local time and JSON lines in UTC, which only a zone other than
// UTC tells apart.
const bool zone_set = [] {
  setenv("TZ", "XST+03:30", 1);
  tzset();
  return true;
}();

bool ends_with(const std::string& s, const std::string& end) {
  return s.size() >= end.size() && s.compare(s.size() - end.size(), end.size(), end) == 0;
}

}  // namespace

TEST_CASE("the log format is text or json, and anything else is refused with both names", "[log]") {
  REQUIRE(log::parse_log_format("text").ok());
  CHECK(*log::parse_log_format("text") == log::log_format::text);
  REQUIRE(log::parse_log_format("json").ok());
  CHECK(*log::parse_log_format("json") == log::log_format::json);
  for (const char* bad : {"", "xml", "JSON", "json ", "jsonl"}) {
    auto r = log::parse_log_format(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().code == errc::invalid_argument);
    CHECK(r.err().message.find("text or json") != std::string::npos);
    CHECK(r.err().message.find('"' + std::string(bad) + '"') != std::string::npos);
  }
  CHECK(std::string(log::to_string(log::log_format::text)) == "text");
  CHECK(std::string(log::to_string(log::log_format::json)) == "json");
}

TEST_CASE("a text line is local time with its offset, the level in five columns and the message",
          "[log]") {
  REQUIRE(zone_set);
  captured_output out;
  const std::string message =
      "octomigd 2026.1.0 listening on http://127.0.0.1:41234/api (data directory ./octomig-data)";
  log::info(message);
  auto lines = out.lines();
  REQUIRE(lines.size() == 1);
  static const std::regex prefix(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}-03:30 INFO  )");
  std::smatch m;
  REQUIRE(std::regex_search(lines[0], m, prefix));
  CHECK(m.position(0) == 0);
  CHECK(lines[0].substr(static_cast<std::size_t>(m.length(0))) == message);
  // What the scripts' sed expression takes from it.
  static const std::regex port(R"(.*listening on http://127\.0\.0\.1:([0-9]*)/api.*)");
  REQUIRE(std::regex_match(lines[0], m, port));
  CHECK(m[1] == "41234");
}

TEST_CASE("a text line holds the message's bytes as they are, newlines included", "[log]") {
  captured_output out;
  const std::string message = "two\nlines \"quoted\" \\ {} \xff";
  log::warn(message);
  auto all = out.text();
  static const std::regex prefix(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}-03:30 WARN  )");
  std::smatch m;
  REQUIRE(std::regex_search(all, m, prefix));
  CHECK(m.position(0) == 0);
  CHECK(all.substr(static_cast<std::size_t>(m.length(0))) == message + "\n");
}

TEST_CASE(
    "a json line has the time in UTC to the millisecond, the level, the message and the logger",
    "[log]") {
  REQUIRE(zone_set);
  captured_output out;
  log::set_format(log::log_format::json);
  auto before = now_ms();
  log::info("task 7 started");
  auto after = now_ms();
  auto o = only_json_line(out);
  CHECK(o.size() == 4);
  auto time = str(o, "time");
  auto ms = parse_utc_ms(time);
  INFO(time);
  CHECK(ms >= before);
  CHECK(ms <= after);
  CHECK(str(o, "level") == "info");
  CHECK(str(o, "message") == "task 7 started");
  CHECK(str(o, "logger") == "octomig");
  // Keys in a fixed order, the time first, for people who read the lines too.
  CHECK(out.text().rfind("{\"time\":\"" + time + "\",\"level\":\"info\",\"message\":", 0) == 0);
}

TEST_CASE("levels are named error, warn, info and debug in json and in five columns in text",
          "[log]") {
  struct row {
    log::level level;
    const char* json;
    const char* text;
  };
  const row rows[] = {{log::level::error, "error", " ERROR "},
                      {log::level::warn, "warn", " WARN  "},
                      {log::level::info, "info", " INFO  "},
                      {log::level::debug, "debug", " DEBUG "}};
  captured_output out;
  log::set_level(log::level::debug);
  for (const auto& r : rows) log::write(r.level, std::string("a ") + r.json + " line");
  log::set_format(log::log_format::json);
  for (const auto& r : rows) log::write(r.level, std::string("a ") + r.json + " line");
  auto lines = out.lines();
  REQUIRE(lines.size() == 8);
  for (std::size_t i = 0; i < 4; ++i) {
    INFO(lines[i]);
    CHECK(ends_with(lines[i], std::string(rows[i].text) + "a " + rows[i].json + " line"));
    auto v = boost::json::parse(lines[4 + i]).as_object();
    CHECK(str(v, "level") == rows[i].json);
    CHECK(str(v, "message") == std::string("a ") + rows[i].json + " line");
  }
}

TEST_CASE("a level below the threshold writes nothing in either format", "[log]") {
  captured_output out;
  log::debug("not this");
  log::set_format(log::log_format::json);
  log::debug("nor this");
  log::set_level(log::level::error);
  log::warn("nor this one");
  CHECK(out.text().empty());
}

TEST_CASE("any valid UTF-8 message, however hostile, is one json line that gives it back exactly",
          "[log]") {
  std::string every_control;
  for (int c = 0; c < 0x20; ++c) every_control.push_back(static_cast<char>(c));
  every_control += "\x7f";
  const std::vector<std::string> messages = {
      "",
      "say \"hi\"",
      R"(C:\octopus\data\ and \"escaped\" \\u0041 \n)",
      "line one\nline two\r\nline three\n",
      "\n",
      "tab\there, bell\a, backspace\b, form feed\f, vertical tab\v, escape\x1b[31mred\x1b[0m",
      every_control,
      std::string("nul \0 inside", 12),
      "{\"message\":\"forged\",\"level\":\"error\"}",
      "}\n{\"level\":\"error\",\"message\":\"injected\"}",
      "{} {0} {:>10} %s %n %%",
      "caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x9a\x80 \xe2\x80\xa8 \xe2\x80\xa9 "
      "\xef\xbf\xbd",
      "\xc2\x80\xc2\x9f \xef\xbf\xbf \xf4\x8f\xbf\xbf",  // C1 controls, U+FFFF, U+10FFFF
      "</script><script>alert(1)</script>",
      std::string(100000, 'x') + "\"\n",
  };
  captured_output out;
  log::set_format(log::log_format::json);
  for (const auto& m : messages) log::error(m);
  auto lines = out.lines();
  REQUIRE(lines.size() == messages.size());
  for (std::size_t i = 0; i < messages.size(); ++i) {
    INFO("message " << i);
    boost::json::error_code ec;
    auto v = boost::json::parse(lines[i], ec);
    REQUIRE(!ec);
    auto o = v.as_object();
    CHECK(o.size() == 4);
    CHECK(str(o, "message") == messages[i]);
    CHECK(str(o, "level") == "error");
  }
}

TEST_CASE("bytes that are not UTF-8 become U+FFFD, one for each maximal ill-formed part", "[log]") {
  const std::string fffd = "\xef\xbf\xbd";
  struct row {
    std::string in;
    std::string out;
  };
  const row rows[] = {
      {"\xff", fffd},
      {"a\x80z", "a" + fffd + "z"},
      {"\xc0\xaf", fffd + fffd},                        // overlong '/': C0 never starts a sequence
      {"\xe0\x80\xaf", fffd + fffd + fffd},             // overlong, three bytes
      {"\xed\xa0\x80", fffd + fffd + fffd},             // a UTF-16 surrogate
      {"\xf4\x90\x80\x80", fffd + fffd + fffd + fffd},  // above U+10FFFF
      {"\xf5\x80", fffd + fffd},
      {"\xe2\x82", fffd},                                   // cut short at the end
      {"\xe2\x82z", fffd + "z"},                            // cut short before ASCII
      {"\xf0\x9f\x9a", fffd},                               // a four-byte sequence cut short
      {"\xf0\x9f\x9a\xe2\x82\xac", fffd + "\xe2\x82\xac"},  // then a whole euro sign
      {"\xc3", fffd},
      {"\xc3\"", fffd + "\""},
      {"\xc3\n", fffd + "\n"},
      {"ok \xe2\x82\xac \xfe\xfe ok", "ok \xe2\x82\xac " + fffd + fffd + " ok"},
  };
  captured_output out;
  log::set_format(log::log_format::json);
  for (const auto& r : rows) log::info(r.in);
  auto lines = out.lines();
  REQUIRE(lines.size() == std::size(rows));
  for (std::size_t i = 0; i < std::size(rows); ++i) {
    INFO("row " << i << ": " << lines[i]);
    boost::json::error_code ec;
    auto v = boost::json::parse(lines[i], ec);
    REQUIRE(!ec);
    CHECK(str(v.as_object(), "message") == rows[i].out);
  }
}

TEST_CASE("random bytes always make one json line, and ASCII comes back exactly", "[log]") {
  // Bytes drawn mostly from the troublesome ones: quotes, backslashes, controls, UTF-8 leads and
  // continuations, bytes that never occur in UTF-8.
  const std::string alphabet = std::string("\"\\\n\r\t\x01\x1f\x7f a{}%") + std::string(1, '\0') +
                               "\x80\xbf\xc0\xc2\xdf\xe0\xed\xef\xf0\xf4\xf5\xff";
  std::mt19937 rng(20261130);
  std::uniform_int_distribution<std::size_t> length(0, 24), pick(0, alphabet.size() - 1);
  std::vector<std::string> messages(2000);
  for (auto& m : messages) {
    for (auto n = length(rng); n > 0; --n) m.push_back(alphabet[pick(rng)]);
  }
  captured_output out;
  log::set_format(log::log_format::json);
  for (const auto& m : messages) log::info(m);
  auto lines = out.lines();
  REQUIRE(lines.size() == messages.size());
  for (std::size_t i = 0; i < messages.size(); ++i) {
    boost::json::error_code ec;
    auto v = boost::json::parse(lines[i], ec);
    INFO(lines[i]);
    REQUIRE(!ec);
    auto message = str(v.as_object(), "message");
    bool ascii = std::all_of(messages[i].begin(), messages[i].end(),
                             [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    if (ascii) CHECK(message == messages[i]);
  }
}

TEST_CASE("observers get the message alone in either format", "[log]") {
  std::vector<std::pair<log::level, std::string>> seen;
  log::observer watch([&](log::level l, const std::string& m) { seen.emplace_back(l, m); });
  captured_output out;
  log::warn("first \"one\"");
  log::set_format(log::log_format::json);
  log::error("second\none");
  REQUIRE(seen.size() == 2);
  CHECK(seen[0] == std::make_pair(log::level::warn, std::string("first \"one\"")));
  CHECK(seen[1] == std::make_pair(log::level::error, std::string("second\none")));
}

TEST_CASE("lines from many threads stay whole while the format changes under them", "[log]") {
  captured_output out;
  constexpr int threads = 4, per_thread = 500;
  std::atomic<int> finished{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < threads; ++t) {
    writers.emplace_back([t, &finished] {
      for (int i = 0; i < per_thread; ++i)
        log::info("thread " + std::to_string(t) + " line " + std::to_string(i) + " \"q\"\n.");
      ++finished;
    });
  }
  for (int flip = 0; finished < threads; ++flip)
    log::set_format(flip % 2 ? log::log_format::text : log::log_format::json);
  for (auto& w : writers) w.join();

  // A text line's message holds a newline, so it spans two lines of output; a json line is one.
  static const std::regex text_head(
      R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}-03:30 INFO  thread (\d) line (\d+) "q")");
  std::vector<int> next(threads, 0);
  auto lines = out.lines();
  for (std::size_t i = 0; i < lines.size(); ++i) {
    INFO(lines[i]);
    std::string message;
    std::smatch m;
    if (!lines[i].empty() && lines[i][0] == '{') {
      boost::json::error_code ec;
      auto v = boost::json::parse(lines[i], ec);
      REQUIRE(!ec);
      message = str(v.as_object(), "message");
    } else {
      REQUIRE(std::regex_match(lines[i], m, text_head));
      REQUIRE(i + 1 < lines.size());
      REQUIRE(lines[++i] == ".");
      message = "thread " + m[1].str() + " line " + m[2].str() + " \"q\"\n.";
    }
    // Each thread's lines arrive whole and in its order.
    int t = message[7] - '0';
    REQUIRE(t >= 0);
    REQUIRE(t < threads);
    CHECK(message ==
          "thread " + std::to_string(t) + " line " + std::to_string(next[t]) + " \"q\"\n.");
    ++next[t];
  }
  for (int t = 0; t < threads; ++t) CHECK(next[t] == per_thread);
}
