// GET /metrics (http/metrics.cpp and http/api.cpp) over real HTTP.
#include <catch2/catch.hpp>
#include <regex>

#include "tests/http/server_fixture.hpp"

namespace octomig::http_test {
namespace {

// The value of the sample whose name and labels are exactly series, or -1 when absent.
double sample(const std::string& text, const std::string& series) {
  std::size_t pos = 0;
  while ((pos = text.find(series + " ", pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') return std::stod(text.substr(pos + series.size() + 1));
    pos += series.size();
  }
  return -1;
}

}  // namespace

TEST_CASE("metrics count requests by route and status, appended events and tasks by state",
          "[metrics]") {
  server_fixture f;
  auto done = f.queue_task("Instant");
  f.wait_for_state(done.id, {"Success"});
  auto waiting = f.queue_task("Test");
  f.wait_until_step_runs(waiting.id);
  f.wait_for_state(waiting.id, {"Executing"});

  f.client().get("/api/tasks", f.user_key);
  f.client().get("/api/tasks", f.user_key);
  f.client().get("/api/tasks");  // 401
  f.client().get("/api/tasks/ServerTasks-999", f.user_key);
  f.client().get("/api/no/such/route");

  auto r = f.client().get("/metrics");
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(r.header("content-type").rfind("text/plain", 0) == 0);
  CHECK(r.body.find("# TYPE octomig_http_requests_total counter") != std::string::npos);
  CHECK(sample(r.body, R"(octomig_http_requests_total{route="tasks",status="200"})") == 2);
  CHECK(sample(r.body, R"(octomig_http_requests_total{route="tasks",status="401"})") == 1);
  CHECK(sample(r.body, R"(octomig_http_requests_total{route="tasks/{id}",status="404"})") == 1);
  CHECK(sample(r.body, R"(octomig_http_requests_total{route="unmatched",status="404"})") == 1);
  CHECK(sample(r.body, R"(octomig_http_requests_total{route="tasks/{id}",status="200"})") >= 2);
  // Raw paths never become labels.
  CHECK(r.body.find("ServerTasks-999") == std::string::npos);
  CHECK(r.body.find("no/such/route") == std::string::npos);

  CHECK(r.body.find("# TYPE octomig_events_appended_total counter") != std::string::npos);
  CHECK(sample(r.body, "octomig_events_appended_total") > 0);
  CHECK(sample(r.body, R"(octomig_tasks{state="Success"})") == 1);
  CHECK(sample(r.body, R"(octomig_tasks{state="Executing"})") == 1);
  CHECK(sample(r.body, R"(octomig_tasks{state="Queued"})") == 0);
  CHECK(sample(r.body, R"(octomig_tasks{state="Canceled"})") == 0);
  CHECK(sample(r.body, "octomig_maintenance_mode") == 1);

  // Every sample line is "name{labels} value" or "name value".
  std::regex line(
      R"(^(# (HELP|TYPE) .*|[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+)$)");
  std::size_t start = 0;
  while (start < r.body.size()) {
    auto end = r.body.find('\n', start);
    REQUIRE(end != std::string::npos);
    auto text = r.body.substr(start, end - start);
    INFO(text);
    CHECK(std::regex_match(text, line));
    start = end + 1;
  }

  // The metrics request itself is counted on the next scrape.
  auto again = f.client().get("/metrics");
  CHECK(sample(again.body, R"(octomig_http_requests_total{route="metrics",status="200"})") == 1);
}

}  // namespace octomig::http_test
