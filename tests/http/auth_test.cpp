// Authentication and roles (http/api.cpp) and how a key is presented (http/server.cpp).
#include <catch2/catch.hpp>

#include "tests/http/server_fixture.hpp"

namespace octomig::http_test {
namespace {

const char* login_message =
    "You must be logged in to perform this action. Please provide a valid API key or log in again.";

}  // namespace

TEST_CASE("a protected route without a key answers 401 with an Octopus error body", "[auth]") {
  server_fixture f;
  for (const char* target : {"/api/tasks", "/api/Spaces-1/tasks", "/api/users/me",
                             "/api/serverstatus", "/api/maintenanceconfiguration", "/api/spaces"}) {
    INFO(target);
    auto r = f.client().get(target);
    CHECK(r.status == 401);
    CHECK(error_message(r) == login_message);
  }
}

TEST_CASE("a wrong key answers 401 and is not echoed back", "[auth]") {
  server_fixture f;
  const std::string wrong = "API-NOTAKEYTHISSERVERKNOWS0000";
  auto r = f.client().get("/api/tasks", wrong);
  CHECK(r.status == 401);
  CHECK(error_message(r) == login_message);
  CHECK(r.body.find(wrong) == std::string::npos);
  // A key that differs from a real one only in case is another key.
  std::string lowered = f.user_key;
  for (auto& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  CHECK(f.client().get("/api/tasks", lowered).status == 401);
  CHECK(f.client().get("/api/tasks?apikey=" + wrong).status == 401);
}

TEST_CASE("a key is accepted in X-Octopus-ApiKey, X-NuGet-ApiKey and in apikey in any case",
          "[auth]") {
  server_fixture f;
  CHECK(f.client().get("/api/tasks", f.user_key).status == 200);
  CHECK(f.client().send({"GET", "/api/tasks", {"x-octopus-apikey: " + f.user_key}, {}}).status ==
        200);
  CHECK(f.client().send({"GET", "/api/tasks", {"X-NuGet-ApiKey: " + f.user_key}, {}}).status ==
        200);
  for (const char* name : {"apikey", "ApiKey", "APIKEY"}) {
    INFO(name);
    CHECK(f.client().get("/api/tasks?" + std::string(name) + "=" + f.user_key).status == 200);
    CHECK(f.client().get("/api/tasks?take=1&" + std::string(name) + "=" + f.user_key).status ==
          200);
  }
}

TEST_CASE("an empty X-Octopus-ApiKey header is treated as no key at all", "[auth]") {
  server_fixture f;
  // api-client sends the header empty when it has no key; curl sends "Name;" as an empty header.
  auto root = f.client().send({"GET", "/api", {"X-Octopus-ApiKey;"}, {}});
  CHECK(root.status == 200);
  auto tasks = f.client().send({"GET", "/api/tasks", {"X-Octopus-ApiKey;"}, {}});
  CHECK(tasks.status == 401);
  CHECK(error_message(tasks) == login_message);
  auto with_query =
      f.client().send({"GET", "/api/tasks?apikey=" + f.user_key, {"X-Octopus-ApiKey;"}, {}});
  CHECK(with_query.status == 200);
}

TEST_CASE("a user key on an administrator's route answers 403 and changes nothing", "[auth]") {
  server_fixture f;
  auto task = f.queue_task("Instant");
  auto before = f.wait_for_state(task.id, {"Success"});
  f.wait_for_maintenance(false);

  auto put = f.client().put("/api/maintenanceconfiguration", f.user_key,
                            R"({"IsInMaintenanceMode": true})");
  CHECK(put.status == 403);
  CHECK(error_message(put).find("You do not have permission") == 0);
  auto put_v1 = f.client().put("/api/maintenanceconfiguration/v1", f.user_key,
                               R"({"IsInMaintenanceMode": true})");
  CHECK(put_v1.status == 403);
  auto cancel = f.client().post("/api/tasks/" + task.id + "/cancel", f.user_key);
  CHECK(cancel.status == 403);
  CHECK_FALSE(error_message(cancel).empty());
  auto cancel_unknown =
      f.client().post("/api/Spaces-1/tasks/ServerTasks-999/cancel", f.user_key, "{}");
  CHECK(cancel_unknown.status == 403);

  auto m = f.client().get("/api/maintenanceconfiguration", f.user_key);
  REQUIRE(m.status == 200);
  CHECK(m.object().at("IsInMaintenanceMode") == json::value(false));
  auto after = f.client().get("/api/tasks/" + task.id, f.user_key).object();
  CHECK(after.at("State") == before.at("State"));
  CHECK(after.at("CompletedTime") == before.at("CompletedTime"));

  // The same requests with the administrator's key succeed.
  CHECK(f.client().post("/api/tasks/" + task.id + "/cancel", f.admin_key).status == 200);
  CHECK(f.client()
            .put("/api/maintenanceconfiguration", f.admin_key, R"({"IsInMaintenanceMode": false})")
            .status == 200);
}

TEST_CASE("no response ever contains an API key", "[auth][secrets]") {
  server_fixture f;
  auto task = f.queue_task("Instant");
  f.wait_for_state(task.id, {"Success"});
  auto& c = f.client();
  c.get("/api");
  c.get("/api/users/me", f.admin_key);
  c.get("/api/users/me", f.user_key);
  c.get("/api/users/Users-1/spaces", f.admin_key);
  c.get("/api/tasks", f.admin_key);
  c.get("/api/tasks/" + task.id + "?apikey=" + f.admin_key);
  c.get("/api/tasks/" + task.id + "/details", f.admin_key);
  c.get("/api/tasks/" + task.id + "/raw", f.admin_key);
  c.get("/api/serverstatus", f.admin_key);
  c.get("/api/nothing-here?apikey=" + f.admin_key);
  c.get("/api/tasks?take=x&apikey=" + f.admin_key);
  c.put("/api/maintenanceconfiguration", f.admin_key,
        "{\"IsInMaintenanceMode\": \"" + f.admin_key + "\"}");
  c.put("/api/maintenanceconfiguration", f.admin_key, "{" + f.admin_key);
  c.put("/api/maintenanceconfiguration", f.user_key, R"({"IsInMaintenanceMode": true})");
  c.get("/metrics");
  REQUIRE(c.bodies_seen().size() >= 15);
  for (const auto& body : c.bodies_seen()) {
    INFO(body);
    CHECK(body.find(f.admin_key) == std::string::npos);
    CHECK(body.find(f.user_key) == std::string::npos);
    // Nor any part of one that would identify it.
    CHECK(body.find(f.admin_key.substr(4, 12)) == std::string::npos);
  }
}

}  // namespace octomig::http_test
