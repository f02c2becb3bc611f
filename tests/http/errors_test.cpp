// Error statuses and bodies (http/api.cpp, http/json_util.cpp), the method override and the
// lenient request body, over real HTTP.
#include <algorithm>
#include <catch2/catch.hpp>
#include <mutex>
#include <set>
#include <vector>

#include "runtime/log.hpp"

#include "tests/http/server_fixture.hpp"

namespace octomig::http_test {
namespace {

const char* not_found = "The resource you requested was not found.";
const char* problem = "There was a problem with your request.";

std::vector<std::string> errors_of(const http_reply& r) {
  std::vector<std::string> out;
  auto body = r.object();
  for (const auto& e : body.at("Errors").get_array()) out.emplace_back(e.get_string());
  return out;
}

}  // namespace

TEST_CASE("an unknown route answers 404 with an Octopus error body", "[errors]") {
  server_fixture f;
  for (const char* target :
       {"/api/nothing-here", "/api/tasks/ServerTasks-1/nothing", "/nothing", "/",
        "/api/Spaces-1/maintenanceconfiguration", "/api/spaces/Spaces-1/nothing"}) {
    INFO(target);
    auto r = f.client().get(target, f.user_key);
    CHECK(r.status == 404);
    CHECK(error_message(r) == not_found);
  }
}

TEST_CASE("an unknown task answers 404 on every task route", "[errors][tasks]") {
  server_fixture f;
  for (const char* target :
       {"/api/tasks/ServerTasks-999", "/api/Spaces-1/tasks/ServerTasks-999",
        "/api/spaces/Spaces-1/tasks/ServerTasks-999", "/api/tasks/ServerTasks-999/raw",
        "/api/tasks/ServerTasks-999/details", "/api/tasks/not-a-task-id"}) {
    INFO(target);
    auto r = f.client().get(target, f.user_key);
    CHECK(r.status == 404);
    CHECK(error_message(r) == not_found);
  }
  auto cancel = f.client().post("/api/tasks/ServerTasks-999/cancel", f.admin_key);
  CHECK(cancel.status == 404);
  CHECK(error_message(cancel) == not_found);
}

TEST_CASE("a wrong method answers 405 with an Allow header", "[errors]") {
  server_fixture f;
  struct expectation {
    const char* method;
    const char* target;
    const char* allow;
  };
  for (auto e :
       {expectation{"DELETE", "/api/tasks", "GET"}, expectation{"POST", "/api/tasks", "GET"},
        expectation{"GET", "/api/tasks/ServerTasks-1/cancel", "POST"},
        expectation{"PUT", "/api/Spaces-1/tasks/ServerTasks-1/cancel", "POST"},
        expectation{"DELETE", "/api/maintenanceconfiguration", "GET, PUT"},
        expectation{"POST", "/metrics", "GET"}}) {
    INFO(e.method << " " << e.target);
    auto r = f.client().send({e.method, e.target, {key_header(f.admin_key)}, std::nullopt});
    CHECK(r.status == 405);
    CHECK(r.header("allow") == e.allow);
    CHECK_FALSE(error_message(r).empty());
  }
}

TEST_CASE("a maintenance configuration body that is not JSON answers 400",
          "[errors][maintenance]") {
  server_fixture f;
  for (const char* body :
       {"{not json", "{\"IsInMaintenanceMode\": tru}", "[true]", "\"true\"",
        "{\"IsInMaintenanceMode\": \"maybe\"}", "{\"IsInMaintenanceMode\": 1}", "{}"}) {
    INFO(body);
    auto r = f.client().put("/api/maintenanceconfiguration", f.admin_key, body);
    CHECK(r.status == 400);
    CHECK_FALSE(error_message(r).empty());
  }
  auto missing = f.client().put("/api/maintenanceconfiguration", f.admin_key, "{}");
  CHECK(error_message(missing) == problem);
  CHECK(errors_of(missing) ==
        std::vector<std::string>{"Missing expected 'IsInMaintenanceMode' parameter."});
  f.wait_for_maintenance(false);
}

TEST_CASE("an empty maintenance configuration body answers 400 No request body was supplied.",
          "[errors][maintenance]") {
  server_fixture f;
  for (const char* body : {"", "  \r\n\t"}) {
    auto r = f.client().put("/api/maintenanceconfiguration", f.admin_key, body);
    CHECK(r.status == 400);
    CHECK(error_message(r) == "No request body was supplied.");
  }
  auto no_body = f.client().post("/api/maintenanceconfiguration", f.admin_key, std::nullopt,
                                 {"X-HTTP-Method-Override: PUT"});
  CHECK(no_body.status == 400);
  CHECK(error_message(no_body) == "No request body was supplied.");
}

TEST_CASE("skip and take that are not non-negative integers answer 400", "[errors][tasks]") {
  server_fixture f;
  for (const char* query : {"take=-1", "take=abc", "skip=-5", "skip=1.5", "take=1e3", "skip=%20",
                            "take=99999999999999999999999"}) {
    INFO(query);
    auto r = f.client().get("/api/tasks?" + std::string(query), f.user_key);
    CHECK(r.status == 400);
    CHECK(error_message(r) == problem);
    CHECK(errors_of(r).size() == 1);
  }
  auto spaces = f.client().get("/api/spaces?take=x", f.user_key);
  CHECK(spaces.status == 400);
  CHECK(error_message(spaces) == problem);
}

TEST_CASE("a POST with X-HTTP-Method-Override PUT is a PUT", "[errors][maintenance]") {
  server_fixture f;
  auto on = f.client().post("/api/maintenanceconfiguration", f.admin_key,
                            R"({"IsInMaintenanceMode": true})", {"X-HTTP-Method-Override: PUT"});
  REQUIRE(on.status == 200);
  auto o = on.object();
  CHECK(str(o, "Id") == "maintenance");
  CHECK(o.at("IsInMaintenanceMode") == json::value(true));
  CHECK(str(o.at("Links").get_object(), "Self") == "/api/maintenanceconfiguration");
  f.wait_for_maintenance(true);

  // The header's value in any case; Octopus.Client sends it upper-case.
  auto off = f.client().post("/api/maintenanceconfiguration", f.admin_key,
                             R"({"IsInMaintenanceMode": false})", {"x-http-method-override: put"});
  REQUIRE(off.status == 200);
  CHECK(off.object().at("IsInMaintenanceMode") == json::value(false));
  f.wait_for_maintenance(false);

  // Without the override a POST is a POST, which the route does not take.
  auto plain = f.client().post("/api/maintenanceconfiguration", f.admin_key,
                               R"({"IsInMaintenanceMode": true})");
  CHECK(plain.status == 405);
  // The override only applies to POST.
  auto get = f.client().send({"GET",
                              "/api/maintenanceconfiguration",
                              {key_header(f.admin_key), "X-HTTP-Method-Override: PUT"},
                              std::nullopt});
  CHECK(get.status == 200);
  f.wait_for_maintenance(false);
}

TEST_CASE(
    "the documented lenient body with a string boolean, a comment and a trailing comma is accepted",
    "[errors][maintenance]") {
  server_fixture f;
  auto r = f.client().put("/api/maintenanceconfiguration", f.admin_key,
                          "{\"IsInMaintenanceMode\": \"true\", // comment\n}");
  REQUIRE(r.status == 200);
  CHECK(r.object().at("IsInMaintenanceMode") == json::value(true));
  f.wait_for_maintenance(true);

  auto block_comment =
      f.client().put("/api/maintenanceconfiguration", f.admin_key,
                     "/* turn it off */ {\n  \"IsInMaintenanceMode\": \"FALSE\",\n}\n");
  REQUIRE(block_comment.status == 200);
  CHECK(block_comment.object().at("IsInMaintenanceMode") == json::value(false));
  f.wait_for_maintenance(false);

  // Unknown properties are ignored and null means "not supplied".
  auto extra = f.client().put(
      "/api/maintenanceconfiguration/v1", f.admin_key,
      R"({"Id": null, "Links": {}, "IsInMaintenanceMode": "True", "Extra": [1, 2]})");
  REQUIRE(extra.status == 200);
  CHECK(extra.object().at("Resource").get_object().at("IsInMaintenanceMode") == json::value(true));
  auto null_value = f.client().put("/api/maintenanceconfiguration", f.admin_key,
                                   R"({"IsInMaintenanceMode": null})");
  CHECK(null_value.status == 400);
}

TEST_CASE("every error answer carries a request id, and its body repeats it", "[errors]") {
  server_fixture f;
  auto ok = f.client().get("/api");
  CHECK(ok.header("x-request-id").empty());  // a success needs none
  auto missing = f.client().get("/api/tasks/ServerTasks-999", f.user_key);
  auto refused = f.client().get("/api/tasks");  // no key
  std::set<std::string> ids;
  for (const auto* r : {&missing, &refused}) {
    auto id = r->header("x-request-id");
    INFO("status " << r->status);
    CHECK_FALSE(id.empty());
    ids.insert(id);
  }
  CHECK(ids.size() == 2);
  for (const auto* r : {&missing, &refused}) {
    auto details = r->object().at("Details").as_object();
    CHECK(str(details, "RequestId") == r->header("x-request-id"));
  }
}

TEST_CASE("a 5xx answer is logged with its request id and its cause, and no key", "[errors]") {
  std::mutex mu;
  std::vector<std::string> lines;
  log::observer watch([&](log::level, const std::string& line) {
    std::lock_guard<std::mutex> lock(mu);
    lines.push_back(line);
  });
  server_fixture f;
  // Maintenance mode on, then a write from a user key: 503, declined with its reason.
  REQUIRE(f.client()
              .put("/api/maintenanceconfiguration", f.admin_key, R"({"IsInMaintenanceMode": true})")
              .status == 200);
  auto r = f.client().post("/api/Spaces-1/environments?apikey=" + f.user_key, "",
                           std::string(R"({"Name":"Blocked"})"));
  REQUIRE(r.status == 503);
  auto id = r.header("x-request-id");
  std::lock_guard<std::mutex> lock(mu);
  auto line = std::find_if(lines.begin(), lines.end(), [&](const std::string& l) {
    return l.find("request " + id + " ") != std::string::npos;
  });
  REQUIRE(line != lines.end());
  CHECK(line->find("POST /api/Spaces-1/environments answered 503") != std::string::npos);
  CHECK(line->find("maintenance mode") != std::string::npos);
  for (const auto& l : lines) CHECK(l.find(f.user_key) == std::string::npos);
  for (const auto& l : lines) CHECK(l.find(f.admin_key) == std::string::npos);
}

}  // namespace octomig::http_test
