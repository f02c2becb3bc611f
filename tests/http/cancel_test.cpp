// POST /api/tasks/{id}/cancel (http/api.cpp) over real HTTP, against the real task supervisor.
#include <catch2/catch.hpp>

#include "tests/http/server_fixture.hpp"

namespace octomig::http_test {
namespace {

std::size_t log_lines(server_fixture& f, const std::string& id) {
  auto r = f.client().get("/api/tasks/" + id + "/raw", f.admin_key);
  REQUIRE(r.status == 200);
  return static_cast<std::size_t>(std::count(r.body.begin(), r.body.end(), '\n'));
}

}  // namespace

TEST_CASE("canceling a queued task with no body or with {} cancels it before it starts",
          "[cancel]") {
  server_fixture f;
  auto running = f.queue_task("Test", "holds the queue");
  f.wait_until_step_runs(running.id);
  auto first = f.queue_task("Instant", "canceled without a body");
  auto second = f.queue_task("Instant", "canceled with {}");

  // Octopus.Client posts no body.
  auto a = f.client().post("/api/tasks/" + first.id + "/cancel", f.admin_key);
  REQUIRE(a.status == 200);
  auto ta = a.object();
  CHECK(str(ta, "Id") == first.id);
  CHECK(str(ta, "State") == "Canceled");
  CHECK(ta.at("IsCompleted") == json::value(true));
  CHECK(ta.at("StartTime").is_null());
  CHECK(str(ta.at("Links").get_object(), "Self") == "/api/tasks/" + first.id);

  // api-client posts {} to the space-scoped route.
  auto b = f.client().post("/api/Spaces-1/tasks/" + second.id + "/cancel", f.admin_key,
                           std::string("{}"));
  REQUIRE(b.status == 200);
  CHECK(str(b.object(), "State") == "Canceled");

  // The running task is untouched and still holds maintenance mode.
  CHECK(str(f.client().get("/api/tasks/" + running.id, f.admin_key).object(), "State") ==
        "Executing");
  f.wait_for_maintenance(true);

  // Once the running task ends, the canceled ones never start.
  f.release_step(running.id);
  CHECK(str(f.wait_for_state(running.id, {"Success", "Failed", "Canceled"}), "State") == "Success");
  f.wait_for_maintenance(false);
  for (const auto& id : {first.id, second.id}) {
    auto t = f.client().get("/api/tasks/" + id, f.admin_key).object();
    CHECK(str(t, "State") == "Canceled");
    CHECK(t.at("StartTime").is_null());
  }
  auto canceled = f.client().get("/api/tasks?states=Canceled", f.user_key).object();
  CHECK(integer(canceled, "TotalResults") == 2);
}

TEST_CASE("canceling an executing task answers Cancelling and the task ends Canceled", "[cancel]") {
  server_fixture f;
  auto task = f.queue_task("Test", "canceled while running");
  f.wait_until_step_runs(task.id);
  f.wait_for_state(task.id, {"Executing"});
  f.wait_for_maintenance(true);

  std::optional<std::string> body;
  SECTION("with no body") {}
  SECTION("with {}") {
    body = "{}";
  }
  auto r = f.client().post("/api/tasks/" + task.id + "/cancel", f.admin_key, body);
  REQUIRE(r.status == 200);
  auto t = r.object();
  CHECK(str(t, "State") == "Cancelling");
  CHECK(t.at("IsCompleted") == json::value(false));
  CHECK(str(t, "Completed") == "Cancelling...");

  auto ended = f.wait_for_state(task.id, {"Canceled", "Success", "Failed", "TimedOut"});
  CHECK(str(ended, "State") == "Canceled");
  CHECK(ended.at("IsCompleted") == json::value(true));
  CHECK(ended.at("FinishedSuccessfully") == json::value(false));
  CHECK_FALSE(ended.at("CompletedTime").is_null());
  // The task gave maintenance mode back.
  f.wait_for_maintenance(false);
  auto status = f.client().get("/api/serverstatus", f.user_key).object();
  CHECK(status.at("IsInMaintenanceMode") == json::value(false));

  auto raw = f.client().get("/api/tasks/" + task.id + "/raw", f.user_key).body;
  CHECK(raw.find("Cancellation requested") != std::string::npos);
  CHECK(raw.find("Task canceled") != std::string::npos);
}

TEST_CASE("canceling a completed task answers 200 with the task unchanged", "[cancel]") {
  server_fixture f;
  auto done = f.queue_task("Instant", "already done");
  auto before = f.wait_for_state(done.id, {"Success"});
  auto lines = log_lines(f, done.id);

  for (const std::optional<std::string>& body :
       {std::optional<std::string>(), std::optional<std::string>("{}")}) {
    auto r = f.client().post("/api/tasks/" + done.id + "/cancel", f.admin_key, body);
    REQUIRE(r.status == 200);
    auto t = r.object();
    CHECK(str(t, "State") == "Success");
    CHECK(t.at("CompletedTime") == before.at("CompletedTime"));
    CHECK(t.at("LastUpdatedTime") == before.at("LastUpdatedTime"));
  }
  CHECK(log_lines(f, done.id) == lines);

  // A canceled task canceled again stays as it was, too.
  auto waiting = f.queue_task("Test");
  f.wait_until_step_runs(waiting.id);
  f.client().post("/api/tasks/" + waiting.id + "/cancel", f.admin_key);
  auto canceled = f.wait_for_state(waiting.id, {"Canceled"});
  auto again =
      f.client().post("/api/tasks/" + waiting.id + "/cancel", f.admin_key, std::string("{}"));
  REQUIRE(again.status == 200);
  CHECK(str(again.object(), "State") == "Canceled");
  CHECK(again.object().at("CompletedTime") == canceled.at("CompletedTime"));
}

}  // namespace octomig::http_test
