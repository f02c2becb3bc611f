// What the two-server tests (export_test.cpp, import_test.cpp) share: a data directory and the
// octomigd on it (instance), which a test may crash and start again; the small JSON helpers they
// read answers with; and the checks of the one callback a loopback receiver got.
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/outbound/receiver.hpp"
#include "tests/server/process.hpp"

namespace octomig::server_test {

// How long a test waits for a task to reach a line or its end before it fails.
inline constexpr std::chrono::seconds task_limit{15};

bool contains(const std::string& text, const std::string& part);
// The body of a response as a JSON object; fails the test (showing the response) otherwise.
boost::json::object object_of(const http_result& r);
// A string member, or "" when it is missing or not a string.
std::string text_of(const boost::json::object& o, const char* field);
// The lines, each followed by a line end.
std::string joined(const std::vector<std::string>& lines);
// How many entries (or only regular files) dir holds, at any depth; 0 when it does not exist.
std::size_t entries_under(const std::filesystem::path& dir, bool files_only);

// A data directory (seeded with three projects, or empty) and the octomigd on it, which a test may
// crash and start again. Every start has cheap Argon2 and 20 ms retry backoffs and no pause or
// write limit unless the test asks for one.
class instance {
 public:
  instance(const char* prefix, bool seeded);

  void start(const env_vars& extra = {});
  // kill -9, as a crash would.
  void crash();
  void stop();

  const std::filesystem::path& data() const { return data_; }
  const std::string& key() const { return key_; }
  int port() const;
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port()); }
  // Everything every run of octomigd on this directory has logged so far.
  std::string log();

  http_result call(const std::string& method, const std::string& path,
                   const std::string& body = "") {
    return call_as(key_, method, path, body);
  }
  http_result call_as(const std::string& key, const std::string& method, const std::string& path,
                      const std::string& body = "");
  // A GET that must answer 200 with a JSON object.
  boost::json::object get(const std::string& path);
  // POST /api/Spaces-1/packages/raw of the file, as a multipart upload named file_name.
  http_result upload(const std::filesystem::path& file, const std::string& file_name);

  // Posts the export request; the echo, once it is a 200 with a TaskId.
  boost::json::object start_export(const boost::json::object& body);

  // The task's messages, in order (GET /api/tasks/{id}/details).
  std::vector<std::string> log_of(const std::string& id);
  // Polls the task until its log has a line containing text; its lines. Fails the test after
  // task_limit.
  std::vector<std::string> wait_for_line(const std::string& id, const std::string& text);
  // Polls the task until it has ended; its resource. Fails the test after limit.
  boost::json::object wait_until_ended(const std::string& id,
                                       std::chrono::milliseconds limit = task_limit);

  bool in_maintenance();
  boost::json::array packages();
  std::size_t work_entries() const { return entries_under(data_ / "work", false); }
  std::size_t feed_files() const { return entries_under(data_ / "feed", true); }

 private:
  temp_dir dir_;
  std::filesystem::path data_;
  std::string key_;
  std::unique_ptr<server_process> proc_;
  std::string logs_;  // of the runs before this one
};

// ---- callbacks ----

// The receiver's one request: it arrived within 10 s, and no second one within a second after.
outbound_test::request_seen the_one_callback(const outbound_test::receiver& hook);
// The query parameters of a request target, name -> value (not percent-decoded).
std::map<std::string, std::string> query_of(const std::string& target);
// The target without its query.
std::string path_of(const std::string& target);

}  // namespace octomig::server_test
