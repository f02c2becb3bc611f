// The two-server tests' instance, JSON helpers and callback checks (instance.hpp).
#include "tests/server/instance.hpp"

#include <signal.h>

#include <catch2/catch.hpp>

namespace octomig::server_test {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

json::object object_of(const http_result& r) {
  INFO("response " << r.status << ": " << r.body);
  json::error_code ec;
  auto v = json::parse(r.body, ec);
  REQUIRE_FALSE(ec);
  REQUIRE(v.is_object());
  return v.as_object();
}

std::string text_of(const json::object& o, const char* field) {
  auto* v = o.if_contains(field);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

std::size_t entries_under(const fs::path& dir, bool files_only) {
  std::error_code ec;
  std::size_t n = 0;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec))
    if (!files_only || it->is_regular_file()) ++n;
  return n;
}

// ---- instance ----

instance::instance(const char* prefix, bool seeded) : dir_(prefix), data_(dir_.path / "data") {
  if (!seeded) return;
  auto r = run_tool(data_, {"seed", "--projects", "3", "--releases", "2", "--deployments", "2",
                            "--log-lines", "5"});
  INFO("octomig-admin seed: " << r.all());
  REQUIRE(r.code == 0);
}

void instance::start(const env_vars& extra) {
  env_vars env{{"OCTOMIG_TEST_FAST_KDF", "1"},
               {"OCTOMIG_TEST_FAST_RETRIES", "1"},
               {"OCTOMIG_TEST_PAUSE_IN_STEP", ""},
               {"OCTOMIG_TEST_PACKAGE_WRITE_LIMIT", ""}};
  env.insert(env.end(), extra.begin(), extra.end());
  if (proc_) logs_ += proc_->log;
  proc_ = std::make_unique<server_process>(data_, std::vector<std::string>{}, env);
  INFO("octomigd's log:\n" << proc_->log);
  REQUIRE(proc_->started);
  key_ = read_file(data_ / "admin-api-key");
  REQUIRE(key_.rfind("API-", 0) == 0);
}

void instance::crash() {
  CHECK(proc_->stop(SIGKILL) == 128 + SIGKILL);
}

void instance::stop() {
  CHECK(proc_->stop(SIGTERM) == 0);
}

int instance::port() const {
  REQUIRE(proc_);
  return proc_->port;
}

std::string instance::log() {
  if (!proc_) return logs_;
  proc_->pump(0ms);
  return logs_ + proc_->log;
}

http_result instance::call_as(const std::string& key, const std::string& method,
                              const std::string& path, const std::string& body) {
  proc_->pump(0ms);
  return http_call(proc_->port, method, path, key, body);
}

json::object instance::get(const std::string& path) {
  auto r = call("GET", path);
  INFO("GET " << path << ": " << r.status << " " << r.body);
  REQUIRE(r.status == 200);
  return object_of(r);
}

http_result instance::upload(const fs::path& file, const std::string& file_name) {
  proc_->pump(0ms);
  CURL* c = curl_easy_init();
  REQUIRE(c != nullptr);
  http_result r;
  const std::string url = base_url() + "/api/Spaces-1/packages/raw";
  curl_slist* headers = curl_slist_append(nullptr, ("X-Octopus-ApiKey: " + key_).c_str());
  curl_mime* mime = curl_mime_init(c);
  curl_mimepart* part = curl_mime_addpart(mime);
  curl_mime_name(part, "data");
  curl_mime_filedata(part, file.c_str());
  curl_mime_filename(part, file_name.c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  curl_mime_free(mime);
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  return r;
}

json::object instance::start_export(const json::object& body) {
  const std::string route = "/api/migrations/partialexport";
  auto r = call("POST", route, json::serialize(body));
  INFO("POST " << route << ": " << r.status << " " << r.body);
  REQUIRE(r.status == 200);
  auto echo = object_of(r);
  REQUIRE(text_of(echo, "TaskId").rfind("ServerTasks-", 0) == 0);
  return echo;
}

std::vector<std::string> instance::log_of(const std::string& id) {
  auto details = get("/api/tasks/" + id + "/details");
  std::vector<std::string> lines;
  const auto& logs = details.at("ActivityLogs").as_array();
  REQUIRE_FALSE(logs.empty());
  for (const auto& e : logs[0].as_object().at("LogElements").as_array())
    lines.push_back(text_of(e.as_object(), "MessageText"));
  return lines;
}

std::vector<std::string> instance::wait_for_line(const std::string& id, const std::string& text) {
  const auto deadline = clock_type::now() + task_limit;
  while (true) {
    auto lines = log_of(id);
    for (const auto& l : lines)
      if (contains(l, text)) return lines;
    if (clock_type::now() >= deadline)
      FAIL("the log of " << id << " has no line with \"" << text << "\" after "
                         << task_limit.count() << " s:\n"
                         << joined(lines) << "octomigd's log:\n"
                         << log());
    proc_->pump();
  }
}

json::object instance::wait_until_ended(const std::string& id, std::chrono::milliseconds limit) {
  const auto deadline = clock_type::now() + limit;
  std::string state;
  while (true) {
    auto task = get("/api/tasks/" + id);
    state = text_of(task, "State");
    if (state == "Success" || state == "Failed" || state == "Canceled" || state == "TimedOut")
      return task;
    if (clock_type::now() >= deadline)
      FAIL("task " << id << " is still " << state << " after " << limit.count()
                   << " ms; octomigd's log:\n"
                   << log());
    proc_->pump();
  }
}

bool instance::in_maintenance() {
  auto m = get("/api/maintenanceconfiguration");
  REQUIRE(m.at("IsInMaintenanceMode").is_bool());
  return m.at("IsInMaintenanceMode").get_bool();
}

json::array instance::packages() {
  return get("/api/Spaces-1/packages").at("Items").as_array();
}

// ---- callbacks ----

outbound_test::request_seen the_one_callback(const outbound_test::receiver& hook) {
  INFO("waiting up to 10 s for the callback");
  REQUIRE(hook.wait_for_requests(1, 10s));
  CHECK_FALSE(hook.wait_for_requests(2, 1s));
  auto seen = hook.requests();
  std::string received;
  for (const auto& r : seen) received += r.method + " " + r.target + "\n";
  INFO("received:\n" << received);
  CHECK(seen.size() == 1);
  return seen.front();
}

std::map<std::string, std::string> query_of(const std::string& target) {
  std::map<std::string, std::string> out;
  auto q = target.find('?');
  if (q == std::string::npos) return out;
  std::string rest = target.substr(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string pair = rest.substr(0, amp);
    auto eq = pair.find('=');
    out[pair.substr(0, eq)] = eq == std::string::npos ? "" : pair.substr(eq + 1);
    rest = amp == std::string::npos ? "" : rest.substr(amp + 1);
  }
  return out;
}

std::string path_of(const std::string& target) {
  return target.substr(0, target.find('?'));
}

}  // namespace octomig::server_test
