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
#include "tests/server/instance.hpp"

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

std::string digest_hex(const EVP_MD* md, const std::string& bytes) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  REQUIRE(EVP_Digest(bytes.data(), bytes.size(), d, &n, md, nullptr) == 1);
  return octomig::base::to_hex(d, n);
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
