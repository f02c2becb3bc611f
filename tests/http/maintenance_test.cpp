// Maintenance mode as the REST surface enforces it (http/api.cpp), over real HTTP.
#include <catch2/catch.hpp>

#include "tests/http/server_fixture.hpp"

namespace octomig::http_test {
namespace {

const char* maintenance_message =
    "The Octopus Server is currently in maintenance mode. Only administrators can make changes.";

bool server_status_says(server_fixture& f, const std::string& key) {
  auto r = f.client().get("/api/serverstatus", key);
  REQUIRE(r.status == 200);
  auto o = r.object();
  REQUIRE(o.contains("IsInMaintenanceMode"));
  REQUIRE(o.at("IsInMaintenanceMode").is_bool());
  return o.at("IsInMaintenanceMode").get_bool();
}

}  // namespace

TEST_CASE(
    "maintenance mode refuses a user's changes with 503 and lets reads and administrators through",
    "[maintenance]") {
  server_fixture f;
  auto done = f.queue_task("Instant");
  f.wait_for_state(done.id, {"Success"});
  f.wait_for_maintenance(false);
  CHECK_FALSE(server_status_says(f, f.user_key));

  auto on = f.client().put("/api/maintenanceconfiguration", f.admin_key,
                           R"({"IsInMaintenanceMode": true})");
  REQUIRE(on.status == 200);
  CHECK(on.object().at("IsInMaintenanceMode") == json::value(true));
  CHECK(server_status_says(f, f.user_key));
  CHECK(server_status_says(f, f.admin_key));

  SECTION("a user's non-GET requests get 503 with the documented message") {
    auto put =
        f.client().post("/api/maintenanceconfiguration", f.user_key,
                        R"({"IsInMaintenanceMode": false})", {"X-HTTP-Method-Override: PUT"});
    CHECK(put.status == 503);
    CHECK(error_message(put) == maintenance_message);
    auto real_put = f.client().put("/api/maintenanceconfiguration", f.user_key,
                                   R"({"IsInMaintenanceMode": false})");
    CHECK(real_put.status == 503);
    auto cancel =
        f.client().post("/api/tasks/" + done.id + "/cancel", f.user_key, std::string("{}"));
    CHECK(cancel.status == 503);
    CHECK(error_message(cancel) == maintenance_message);
    // The refused requests changed nothing.
    CHECK(server_status_says(f, f.admin_key));
  }

  SECTION("a user's GET requests still work") {
    CHECK(f.client().get("/api/tasks", f.user_key).status == 200);
    CHECK(f.client().get("/api/tasks/" + done.id, f.user_key).status == 200);
    CHECK(f.client().get("/api/Spaces-1/tasks?ids=" + done.id, f.user_key).status == 200);
    auto m = f.client().get("/api/maintenanceconfiguration", f.user_key);
    REQUIRE(m.status == 200);
    CHECK(m.object().at("IsInMaintenanceMode") == json::value(true));
  }

  SECTION("requests without a valid key still get 401, not 503") {
    auto r = f.client().post("/api/maintenanceconfiguration", "",
                             R"({"IsInMaintenanceMode": false})", {"X-HTTP-Method-Override: PUT"});
    CHECK(r.status == 401);
    CHECK(f.client().get("/api").status == 200);
  }

  SECTION("the administrator's requests still work, turning it off included") {
    auto cancel = f.client().post("/api/tasks/" + done.id + "/cancel", f.admin_key);
    CHECK(cancel.status == 200);
    auto off =
        f.client().post("/api/maintenanceconfiguration", f.admin_key,
                        R"({"IsInMaintenanceMode": false})", {"X-HTTP-Method-Override: PUT"});
    REQUIRE(off.status == 200);
    CHECK(off.object().at("IsInMaintenanceMode") == json::value(false));
    CHECK_FALSE(server_status_says(f, f.user_key));
    // Off again, a user's change is refused for the role (403), no longer for the mode.
    auto put = f.client().put("/api/maintenanceconfiguration", f.user_key,
                              R"({"IsInMaintenanceMode": true})");
    CHECK(put.status == 403);
  }
}

TEST_CASE("turning maintenance mode on twice is idempotent and both answers agree",
          "[maintenance]") {
  server_fixture f;
  for (int i = 0; i < 2; ++i) {
    auto r = f.client().put("/api/maintenanceconfiguration", f.admin_key,
                            R"({"IsInMaintenanceMode": true})");
    REQUIRE(r.status == 200);
    CHECK(r.object().at("IsInMaintenanceMode") == json::value(true));
  }
  auto v1 = f.client().put("/api/maintenanceconfiguration/v1", f.admin_key,
                           R"({"IsInMaintenanceMode": false})");
  REQUIRE(v1.status == 200);
  CHECK(v1.object().at("Resource").get_object().at("IsInMaintenanceMode") == json::value(false));
  auto m = f.client().get("/api/maintenanceconfiguration", f.admin_key).object();
  CHECK(m.at("IsInMaintenanceMode") == json::value(false));
}

TEST_CASE("a running task holds maintenance mode and gives it back when it succeeds",
          "[maintenance][tasks]") {
  server_fixture f;
  auto task = f.queue_task("Test");
  f.wait_until_step_runs(task.id);
  CHECK(str(f.wait_for_state(task.id, {"Executing"}), "State") == "Executing");
  CHECK(server_status_says(f, f.user_key));
  auto refused = f.client().put("/api/maintenanceconfiguration", f.user_key,
                                R"({"IsInMaintenanceMode": false})");
  CHECK(refused.status == 503);

  f.release_step(task.id);
  auto t = f.wait_for_state(task.id, {"Success", "Failed", "Canceled", "TimedOut"});
  CHECK(str(t, "State") == "Success");
  f.wait_for_maintenance(false);
  CHECK_FALSE(server_status_says(f, f.user_key));
}

}  // namespace octomig::http_test
