// End to end: POST /api/migrations/partialexport between two real octomigd processes on loopback
// (a seeded source, an empty destination) with a scripted webhook receiver: the documented request,
// its defaults, its 400s, the failures (a refused key, an unreachable destination, a full disk), a
// cancel and a crash in each step, and no secret in any log. After every export, whatever its end:
// maintenance mode is off, the work folder is empty, no partial package is left, and each callback
// was sent exactly once.
#include <openssl/evp.h>
#include <signal.h>

#include <algorithm>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <iterator>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "base/hex.hpp"
#include "tests/outbound/receiver.hpp"
#include "tests/server/process.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace octomig::server_test;
using namespace std::chrono_literals;
using octomig::outbound_test::answer;
using octomig::outbound_test::closed_port;
using octomig::outbound_test::receiver;
using octomig::outbound_test::request_seen;

namespace {

const std::string kPassword = "Rick-And-Morty-Passw0rd-7";
const std::string kRoute = "/api/migrations/partialexport";
constexpr auto kTaskLimit = 15s;

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

std::size_t entries_under(const fs::path& dir, bool files_only) {
  std::error_code ec;
  std::size_t n = 0;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec))
    if (!files_only || it->is_regular_file()) ++n;
  return n;
}

// A data directory (seeded with three projects, or empty) and the octomigd on it, which a test may
// crash and start again. Every start has cheap Argon2 and 20 ms retry backoffs and no pause or
// write limit unless the test asks for one.
class instance {
 public:
  instance(const char* prefix, bool seeded) : dir_(prefix), data_(dir_.path / "data") {
    if (!seeded) return;
    auto r = run_tool(data_, {"seed", "--projects", "3", "--releases", "2", "--deployments", "2",
                              "--log-lines", "5"});
    INFO("octomig-admin seed: " << r.all());
    REQUIRE(r.code == 0);
  }

  void start(const env_vars& extra = {}) {
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

  // kill -9, as a crash would.
  void crash() { CHECK(proc_->stop(SIGKILL) == 128 + SIGKILL); }
  void stop() { CHECK(proc_->stop(SIGTERM) == 0); }

  const fs::path& data() const { return data_; }
  const std::string& key() const { return key_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(proc_->port); }
  // Everything every run of octomigd on this directory has logged so far.
  std::string log() {
    proc_->pump(0ms);
    return logs_ + proc_->log;
  }

  http_result call(const std::string& method, const std::string& path,
                   const std::string& body = "") {
    return call_as(key_, method, path, body);
  }
  http_result call_as(const std::string& key, const std::string& method, const std::string& path,
                      const std::string& body = "") {
    proc_->pump(0ms);
    return http_call(proc_->port, method, path, key, body);
  }
  json::object get(const std::string& path) {
    auto r = call("GET", path);
    INFO("GET " << path << ": " << r.status << " " << r.body);
    REQUIRE(r.status == 200);
    return object_of(r);
  }

  // Posts the export request; the echo, once it is a 200 with a TaskId.
  json::object start_export(const json::object& body) {
    auto r = call("POST", kRoute, json::serialize(body));
    INFO("POST " << kRoute << ": " << r.status << " " << r.body);
    REQUIRE(r.status == 200);
    auto echo = object_of(r);
    REQUIRE(text_of(echo, "TaskId").rfind("ServerTasks-", 0) == 0);
    return echo;
  }

  // The task's messages, in order (GET /api/tasks/{id}/details).
  std::vector<std::string> log_of(const std::string& id) {
    auto details = get("/api/tasks/" + id + "/details");
    std::vector<std::string> lines;
    const auto& logs = details.at("ActivityLogs").as_array();
    REQUIRE_FALSE(logs.empty());
    for (const auto& e : logs[0].as_object().at("LogElements").as_array())
      lines.push_back(text_of(e.as_object(), "MessageText"));
    return lines;
  }

  // Polls the task until its log has a line containing text; fails the test after kTaskLimit.
  std::vector<std::string> wait_for_line(const std::string& id, const std::string& text) {
    const auto deadline = clock_type::now() + kTaskLimit;
    while (true) {
      auto lines = log_of(id);
      for (const auto& l : lines)
        if (contains(l, text)) return lines;
      if (clock_type::now() >= deadline) {
        std::string shown;
        for (const auto& l : lines) shown += l + "\n";
        FAIL("the log of " << id << " has no line with \"" << text << "\" after 15 s:\n"
                           << shown << "octomigd's log:\n"
                           << log());
      }
      proc_->pump();
    }
  }

  // Polls the task until it has ended; its resource. Fails the test after kTaskLimit.
  json::object wait_until_ended(const std::string& id) {
    const auto deadline = clock_type::now() + kTaskLimit;
    std::string state;
    while (true) {
      auto task = get("/api/tasks/" + id);
      state = text_of(task, "State");
      if (state == "Success" || state == "Failed" || state == "Canceled" || state == "TimedOut")
        return task;
      if (clock_type::now() >= deadline)
        FAIL("task " << id << " is still " << state << " after 15 s; octomigd's log:\n" << log());
      proc_->pump();
    }
  }

  bool in_maintenance() {
    auto m = get("/api/maintenanceconfiguration");
    REQUIRE(m.at("IsInMaintenanceMode").is_bool());
    return m.at("IsInMaintenanceMode").get_bool();
  }
  json::array packages() { return get("/api/Spaces-1/packages").at("Items").as_array(); }
  std::size_t work_entries() const { return entries_under(data_ / "work", false); }
  std::size_t feed_files() const { return entries_under(data_ / "feed", true); }

 private:
  temp_dir dir_;
  fs::path data_;
  std::string key_;
  std::unique_ptr<server_process> proc_;
  std::string logs_;  // of the runs before this one
};

// What every export leaves, whatever its end: maintenance mode off and an empty work folder.
void check_left_clean(instance& source) {
  CHECK_FALSE(source.in_maintenance());
  INFO("the source's work folder: " << (source.data() / "work").string());
  CHECK(source.work_entries() == 0);
}

// What a failed export leaves: no package in the destination's feed, nor a file in the source's.
void check_no_package(instance& source, instance& destination) {
  CHECK(destination.packages().empty());
  CHECK(source.packages().empty());
  CHECK(source.feed_files() == 0);
}

// The receiver's one request: it arrived within 10 s, and no second one within a second after.
request_seen the_one_callback(const receiver& hook) {
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

// The query parameters of a request target, name -> value (not percent-decoded).
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

std::string digest_hex(const EVP_MD* md, const std::string& bytes) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  REQUIRE(EVP_Digest(bytes.data(), bytes.size(), d, &n, md, nullptr) == 1);
  return octomig::base::to_hex(d, n);
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// The package the task log says Build package created: its size and SHA-256.
struct built_package {
  std::uint64_t size = 0;
  std::string sha256;
};
built_package created_package(const std::vector<std::string>& lines, const std::string& file) {
  const std::regex created("^Created package " +
                           std::regex_replace(file, std::regex("\\."), "\\.") +
                           ": .* \\(([0-9]+) bytes\\), SHA-256 ([0-9a-f]{64})");
  for (const auto& l : lines) {
    std::smatch m;
    if (std::regex_search(l, m, created)) return {std::stoull(m[1].str()), m[2].str()};
  }
  FAIL("the task log has no \"Created package " << file << ": ... (N bytes)\" line:\n"
                                                << joined(lines));
  return {};
}

// The body of the docs' raw example (contract §1.6) to the destination, with both callbacks.
json::object documented_body(instance& destination, const receiver& hook) {
  return json::object{{"PackageId", "Demo.Migration"},
                      {"PackageVersion", "1.0.0"},
                      {"Password", kPassword},
                      {"Projects", json::array{"Web Portal", "Order API"}},
                      {"EncryptPackage", true},
                      {"IncludeTaskLogs", true},
                      {"DestinationApiKey", destination.key()},
                      {"DestinationPackageFeed", destination.base_url()},
                      {"SuccessCallbackUri", hook.base_url() + "/hooks/success?token=s3cr"},
                      {"FailureCallbackUri", hook.base_url() + "/hooks/failure?token=f41l"}};
}

// The documented export from a seeded source to an empty destination, run to its end.
struct documented_export {
  instance source{"octomig-export-src", true};
  instance destination{"octomig-export-dst", false};
  receiver hook{{answer(200)}};
  json::object echo, task;
  std::vector<std::string> log;

  documented_export() {
    source.start();
    destination.start();
    echo = source.start_export(documented_body(destination, hook));
    task = source.wait_until_ended(text_of(echo, "TaskId"));
    log = source.log_of(text_of(echo, "TaskId"));
  }
};

// A failed export's end: Failed with a message containing each of parts, one GET to the failure
// callback and none to the success one, and nothing left behind. The message, for more checks.
std::string check_failed_export(instance& source, instance& destination, const receiver& hook,
                                const std::string& id, const std::vector<std::string>& parts) {
  auto task = source.wait_until_ended(id);
  const auto message = text_of(task, "ErrorMessage");
  INFO("task log:\n" << joined(source.log_of(id)) << "ErrorMessage: " << message);
  CHECK(text_of(task, "State") == "Failed");
  for (const auto& p : parts) {
    INFO("the message should contain: " << p);
    CHECK(contains(message, p));
  }
  auto callback = the_one_callback(hook);
  CHECK(callback.method == "GET");
  CHECK(path_of(callback.target) == "/hooks/failure");
  CHECK(query_of(callback.target)["token"] == "f41l");
  check_left_clean(source);
  check_no_package(source, destination);
  return message;
}

const char* const kSteps[] = {"Collect documents", "Build package", "Push package"};

// Starts the documented export with the source paused in step; its task id, once the task log
// says "Paused for a test" right after that step started.
std::string export_paused_in(instance& source, instance& destination, const receiver& hook,
                             const std::string& step) {
  source.start({{"OCTOMIG_TEST_PAUSE_IN_STEP", step}});
  destination.start();
  auto id = text_of(source.start_export(documented_body(destination, hook)), "TaskId");
  auto lines = source.wait_for_line(id, "Paused for a test");
  auto paused = std::find(lines.begin(), lines.end(), "Paused for a test");
  INFO("task log:\n" << joined(lines));
  REQUIRE(paused != lines.end());
  REQUIRE(paused != lines.begin());
  CHECK(*std::prev(paused) == "Step started: " + step);
  return id;
}

}  // namespace

TEST_CASE(
    "the documented export request pushes an encrypted package to the destination and calls back "
    "once",
    "[export]") {
  documented_export run;
  auto& echo = run.echo;
  const auto id = text_of(echo, "TaskId");
  INFO("task log:\n" << joined(run.log));

  // The echo: the request with TaskId, defaults applied, and the secrets blanked.
  CHECK(text_of(echo, "PackageId") == "Demo.Migration");
  CHECK(text_of(echo, "PackageVersion") == "1.0.0");
  CHECK(echo.at("Password").is_null());
  CHECK(echo.at("DestinationApiKey").is_null());
  CHECK(text_of(echo, "SpaceId") == "Spaces-1");
  CHECK(text_of(echo, "DestinationPackageFeedSpaceId") == "Spaces-1");
  CHECK(json::serialize(echo.at("Projects")) == R"(["Web Portal","Order API"])");
  CHECK(echo.at("EncryptPackage").as_bool());
  CHECK(echo.at("IncludeTaskLogs").as_bool());
  CHECK(text_of(echo, "DestinationPackageFeed") == run.destination.base_url());

  REQUIRE(text_of(run.task, "State") == "Success");
  CHECK(text_of(run.task, "Name") == "MigrationPartialExport");

  // The destination has exactly the package the source built.
  const auto built = created_package(run.log, "Demo.Migration.1.0.0.zip");
  auto listed = run.destination.packages();
  REQUIRE(listed.size() == 1);
  const auto& package = listed[0].as_object();
  CHECK(text_of(package, "PackageId") == "Demo.Migration");
  CHECK(text_of(package, "Version") == "1.0.0");
  CHECK(package.at("PackageSizeBytes").to_number<std::uint64_t>() == built.size);
  const auto raw_path = text_of(package.at("Links").as_object(), "Raw");
  auto raw = run.destination.call("GET", raw_path);
  REQUIRE(raw.status == 200);
  CHECK(raw.body.size() == built.size);
  CHECK(text_of(package, "Hash") == digest_hex(EVP_sha1(), raw.body));
  CHECK(digest_hex(EVP_sha256(), raw.body) == built.sha256);
  CHECK(run.source.packages().empty());  // pushed, not published locally

  // One success callback, carrying the package, with the URI's own query kept.
  auto callback = the_one_callback(run.hook);
  CHECK(callback.method == "GET");
  CHECK(path_of(callback.target) == "/hooks/success");
  auto query = query_of(callback.target);
  CHECK(query["token"] == "s3cr");
  CHECK(query["packageId"] == "Demo.Migration");
  CHECK(query["packageVersion"] == "1.0.0");

  check_left_clean(run.source);

  // The log as Octopus's migrator writes it: a count line per type, the package, step durations.
  const std::regex project_count("^     Project\\.+2$");
  CHECK(std::any_of(run.log.begin(), run.log.end(),
                    [&](const std::string& l) { return std::regex_match(l, project_count); }));
  CHECK(std::count_if(run.log.begin(), run.log.end(),
                      [](const std::string& l) { return l.rfind("Step took \"", 0) == 0; }) == 3);
}

TEST_CASE(
    "an export without package id, version or destination publishes Octopus.Space.Migration "
    "1.0.0-xxxxxxxx in the source's own feed",
    "[export]") {
  instance source("octomig-export-src", true);
  source.start();
  auto echo = source.start_export(
      json::object{{"Password", kPassword}, {"Projects", json::array{"Inventory Service"}}});
  const auto id = text_of(echo, "TaskId");
  const auto version = text_of(echo, "PackageVersion");
  CHECK(text_of(echo, "PackageId") == "Octopus.Space.Migration");
  CHECK(std::regex_match(version, std::regex("^1\\.0\\.0-[a-z0-9]{8}$")));
  CHECK(echo.at("DestinationPackageFeed").is_null());

  auto task = source.wait_until_ended(id);
  auto lines = source.log_of(id);
  INFO("task log:\n" << joined(lines) << "ErrorMessage: " << text_of(task, "ErrorMessage"));
  REQUIRE(text_of(task, "State") == "Success");
  const auto built = created_package(lines, "Octopus.Space.Migration." + version + ".zip");
  auto listed = source.packages();
  REQUIRE(listed.size() == 1);
  const auto& package = listed[0].as_object();
  CHECK(text_of(package, "PackageId") == "Octopus.Space.Migration");
  CHECK(text_of(package, "Version") == version);
  CHECK(package.at("PackageSizeBytes").to_number<std::uint64_t>() == built.size);
  check_left_clean(source);
}

TEST_CASE("a bad export request is refused with a 400 in the Octopus shape naming every problem",
          "[export]") {
  instance source("octomig-export-src", true);
  auto user = run_tool(source.data(), {"apikeys", "create", "--name", "u"});
  INFO("apikeys create (stderr): " << user.err);
  REQUIRE(user.code == 0);
  std::string user_key = user.out.substr(0, user.out.find_first_of("\r\n"));
  REQUIRE(user_key.rfind("API-", 0) == 0);
  source.start();
  const auto tasks_before = source.get("/api/tasks").at("TotalResults");

  const json::object valid{{"Password", kPassword}, {"Projects", json::array{"Web Portal"}}};
  auto refused = [&](json::object body, const std::vector<std::string>& named) {
    auto r = source.call("POST", kRoute, json::serialize(body));
    INFO("request: " << json::serialize(body) << "\nresponse " << r.status << ": " << r.body);
    CHECK(r.status == 400);
    auto error = object_of(r);
    REQUIRE(error.at("ErrorMessage").is_string());
    REQUIRE(error.at("Errors").is_array());
    std::string said = text_of(error, "ErrorMessage");
    for (const auto& e : error.at("Errors").as_array())
      if (e.is_string()) said += "\n" + std::string(e.get_string());
    for (const auto& n : named) {
      INFO("the error should name: " << n);
      CHECK(contains(said, n));
    }
  };

  SECTION("no body") {
    auto r = source.call("POST", kRoute);
    INFO("response " << r.status << ": " << r.body);
    CHECK(r.status == 400);
    auto error = object_of(r);
    CHECK(text_of(error, "ErrorMessage") == "No request body was supplied.");
    CHECK(error.at("Errors").is_array());
  }
  SECTION("no Password") {
    auto body = valid;
    body.erase("Password");
    refused(body, {"Missing expected 'Password' parameter."});
  }
  SECTION("no Projects") {
    auto body = valid;
    body.erase("Projects");
    refused(body, {"Missing expected 'Projects' parameter."});
  }
  SECTION("two unknown projects, both named") {
    auto body = valid;
    body["Projects"] = json::array{"Web Portal", "No Such Project", "Nor This One"};
    refused(body, {"No Such Project", "Nor This One"});
  }
  SECTION("a destination that is not http(s)") {
    auto body = valid;
    body["DestinationPackageFeed"] = "ftp://x";
    body["DestinationApiKey"] = "API-IRRELEVANT0000000000000000";
    refused(body, {"DestinationPackageFeed"});
  }
  SECTION("a destination URL that carries credentials") {
    auto body = valid;
    body["DestinationPackageFeed"] = "http://someone:secret-in-url@127.0.0.1:9";
    body["DestinationApiKey"] = "API-IRRELEVANT0000000000000000";
    refused(body, {"must not carry credentials"});
  }
  SECTION("a version that is not SemVer") {
    auto body = valid;
    body["PackageVersion"] = "1.x";
    refused(body, {"1.x"});
  }
  SECTION("a failure callback that is not a URL") {
    auto body = valid;
    body["FailureCallbackUri"] = "not a url";
    refused(body, {"FailureCallbackUri"});
  }
  SECTION("a user key") {
    auto r = source.call_as(user_key, "POST", kRoute, json::serialize(valid));
    INFO("response " << r.status << ": " << r.body);
    CHECK(r.status == 403);
    CHECK(object_of(r).at("ErrorMessage").is_string());
  }
  // Nothing was queued, and maintenance mode was never taken.
  CHECK(source.get("/api/tasks").at("TotalResults") == tasks_before);
  CHECK_FALSE(source.in_maintenance());
}

TEST_CASE(
    "an export the destination refuses with 401 fails naming the key's role, never the key, and "
    "calls back once",
    "[export]") {
  instance source("octomig-export-src", true);
  instance destination("octomig-export-dst", false);
  receiver hook({answer(200)});
  source.start();
  destination.start();
  const std::string wrong_key = "API-WRONGKEY0123456789ABCDEFGH";
  auto body = documented_body(destination, hook);
  body["DestinationApiKey"] = wrong_key;
  const auto id = text_of(source.start_export(body), "TaskId");
  auto message = check_failed_export(source, destination, hook, id, {"401", "DestinationApiKey"});
  CHECK_FALSE(contains(message, wrong_key));
  CHECK_FALSE(contains(joined(source.log_of(id)), wrong_key));
  CHECK_FALSE(contains(source.log(), wrong_key));
}

TEST_CASE(
    "an export to a destination that cannot be reached fails after its retries and calls back once",
    "[export]") {
  instance source("octomig-export-src", true);
  instance destination("octomig-export-dst", false);
  receiver hook({answer(200)});
  closed_port nowhere;
  source.start();
  destination.start();
  auto body = documented_body(destination, hook);
  body["DestinationPackageFeed"] = nowhere.base_url();
  const auto id = text_of(source.start_export(body), "TaskId");
  check_failed_export(source, destination, hook, id, {"could not be reached"});
}

TEST_CASE("an export whose package cannot be written (disk full) fails and leaves no package",
          "[export]") {
  instance source("octomig-export-src", true);
  instance destination("octomig-export-dst", false);
  receiver hook({answer(200)});
  source.start({{"OCTOMIG_TEST_PACKAGE_WRITE_LIMIT", "20000"}});
  destination.start();
  const auto id = text_of(source.start_export(documented_body(destination, hook)), "TaskId");
  check_failed_export(source, destination, hook, id, {"No space left on device"});
}

TEST_CASE(
    "an export canceled in any of its steps ends Canceled, calls back once and leaves nothing",
    "[export]") {
  const std::string step = GENERATE(from_range(std::begin(kSteps), std::end(kSteps)));
  INFO("canceled in the step: " << step);
  instance source("octomig-export-src", true);
  instance destination("octomig-export-dst", false);
  receiver hook({answer(200)});
  const auto id = export_paused_in(source, destination, hook, step);

  auto canceled = source.call("POST", "/api/tasks/" + id + "/cancel");
  INFO("cancel: " << canceled.status << " " << canceled.body);
  CHECK(canceled.status == 200);
  auto task = source.wait_until_ended(id);
  INFO("task log:\n" << joined(source.log_of(id)));
  CHECK(text_of(task, "State") == "Canceled");
  auto callback = the_one_callback(hook);
  CHECK(callback.method == "GET");
  CHECK(path_of(callback.target) == "/hooks/failure");
  check_left_clean(source);
  check_no_package(source, destination);
}

TEST_CASE(
    "an export whose server crashes in any of its steps is Failed after the restart, calls back "
    "once and leaves nothing",
    "[export]") {
  const std::string step = GENERATE(from_range(std::begin(kSteps), std::end(kSteps)));
  INFO("crashed in the step: " << step);
  instance source("octomig-export-src", true);
  instance destination("octomig-export-dst", false);
  receiver hook({answer(200)});
  const auto id = export_paused_in(source, destination, hook, step);

  source.crash();
  source.start();  // without the pause
  auto task = source.wait_until_ended(id);
  INFO("task log:\n" << joined(source.log_of(id)) << "octomigd's log:\n" << source.log());
  CHECK(text_of(task, "State") == "Failed");
  CHECK(contains(text_of(task, "ErrorMessage"), "restarted"));
  auto callback = the_one_callback(hook);
  CHECK(callback.method == "GET");
  CHECK(path_of(callback.target) == "/hooks/failure");
  check_left_clean(source);
  check_no_package(source, destination);
}

TEST_CASE(
    "the export's password and destination key appear in no log, event or task log of either "
    "server",
    "[export]") {
  documented_export run;
  REQUIRE(text_of(run.task, "State") == "Success");
  REQUIRE(run.hook.wait_for_requests(1, 10s));
  const auto destination_key = run.destination.key();
  const auto task_log = joined(run.log);
  run.source.stop();
  run.destination.stop();
  auto source_events = run_tool(run.source.data(), {"events", "--json"});
  auto destination_events = run_tool(run.destination.data(), {"events", "--json"});
  REQUIRE(source_events.code == 0);
  REQUIRE(destination_events.code == 0);
  // The export's own events are there to be searched.
  REQUIRE(contains(source_events.out, "package_built"));

  const std::pair<const char*, std::string> places[] = {
      {"the source's log", run.source.log()},
      {"the destination's log", run.destination.log()},
      {"the source's events", source_events.all()},
      {"the destination's events", destination_events.all()},
      {"the task log", task_log}};
  for (const auto& [where, text] : places) {
    INFO("searched: " << where);
    CHECK_FALSE(contains(text, kPassword));
    CHECK_FALSE(contains(text, destination_key));
  }
}

TEST_CASE(
    "an export still queued when its server crashes fails after the restart, saying its password "
    "was not kept",
    "[export]") {
  instance source("octomig-export-src", true);
  instance destination("octomig-export-dst", false);
  receiver hook({answer(200), answer(200)});
  const auto running = export_paused_in(source, destination, hook, "Collect documents");
  // One task runs at a time: the second waits in the queue, its secrets in memory only.
  auto queued = text_of(source.start_export(documented_body(destination, hook)), "TaskId");
  CHECK(text_of(source.get("/api/tasks/" + queued), "State") == "Queued");

  source.crash();
  source.start();
  CHECK(text_of(source.wait_until_ended(running), "State") == "Failed");
  auto task = source.wait_until_ended(queued);
  INFO("task log:\n" << joined(source.log_of(queued)) << "octomigd's log:\n" << source.log());
  CHECK(text_of(task, "State") == "Failed");
  CHECK(contains(text_of(task, "ErrorMessage"), "Request the export again"));
  check_left_clean(source);
  check_no_package(source, destination);
}
