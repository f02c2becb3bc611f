// JSON views: a task in Octopus's TaskResource shape with its derived fields, and events as the
// admin tool prints them.
#include "events/json.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "events/time_format.hpp"
#include "tests/support/sample_events.hpp"

using namespace octomig::events;
namespace json = boost::json;

namespace {

constexpr timestamp_us t0 = 1490043617205000;  // Monday 2017-03-20 21:00:17.205 UTC
constexpr timestamp_us second = 1000000;

task_state fold(const std::vector<event_body>& bodies) {
  task_state s;
  std::uint64_t v = 0;
  for (const auto& b : bodies) {
    ++v;
    s = apply(std::move(s), envelope{v, "ServerTasks-9", v,
                                     t0 + static_cast<timestamp_us>(v - 1) * 60 * second, b});
  }
  return s;
}

const task_queued queued{"MigrationPartialExport", "Export", "Spaces-1", R"({"PackageId":"p"})", 0};

}  // namespace

TEST_CASE("a queued task's JSON is not completed and has a queue time", "[json]") {
  auto o = to_json(fold({queued}), t0 + 5 * second);
  CHECK(o.at("Id") == "ServerTasks-9");
  CHECK(o.at("State") == "Queued");
  CHECK(o.at("IsCompleted") == false);
  CHECK(o.at("FinishedSuccessfully") == false);
  CHECK(o.at("HasBeenPickedUpByProcessor") == false);
  CHECK(o.at("Completed") == "Queued...");
  CHECK(o.at("QueueTime") == "2017-03-20T21:00:17.205+00:00");
  CHECK(o.at("StartTime").is_null());
  CHECK(o.at("CompletedTime").is_null());
  CHECK(o.at("Duration") == "");
  CHECK(o.at("SpaceId") == "Spaces-1");
  CHECK(o.at("Arguments").at("PackageId") == "p");
}

TEST_CASE("an executing task's duration runs up to now", "[json]") {
  auto s = fold({queued, task_started{"node-1"}});
  auto o = to_json(s, s.start_time + 125 * second);
  CHECK(o.at("State") == "Executing");
  CHECK(o.at("Completed") == "Executing...");
  CHECK(o.at("IsCompleted") == false);
  CHECK(o.at("HasBeenPickedUpByProcessor") == true);
  CHECK(o.at("ServerNode") == "node-1");
  CHECK(o.at("Duration") == "2 minutes");
  CHECK_FALSE(o.at("StartTime").is_null());
}

TEST_CASE("a successful task's JSON says so and when it completed", "[json]") {
  auto s = fold({queued, task_started{"n"}, task_succeeded{}});
  auto o = to_json(s, s.completed_time + 3600 * second);  // now does not matter any more
  CHECK(o.at("State") == "Success");
  CHECK(o.at("IsCompleted") == true);
  CHECK(o.at("FinishedSuccessfully") == true);
  CHECK(o.at("HasWarningsOrErrors") == false);
  CHECK(o.at("Completed") == json::value(human_date(s.completed_time)));
  CHECK(o.at("Completed") == "Monday, March 20, 2017 9:02 PM");
  CHECK(o.at("CompletedTime") == json::value(octopus_date(s.completed_time)));
  CHECK(o.at("Duration") == "1 minute");
  CHECK_FALSE(o.at("QueueTime").is_null());
}

TEST_CASE("failed, canceled and timed-out tasks are completed but not successful", "[json]") {
  auto failed = to_json(fold({queued, task_started{"n"}, task_failed{"boom"}}), t0);
  CHECK(failed.at("State") == "Failed");
  CHECK(failed.at("IsCompleted") == true);
  CHECK(failed.at("FinishedSuccessfully") == false);
  CHECK(failed.at("HasWarningsOrErrors") == true);
  CHECK(failed.at("ErrorMessage") == "boom");

  auto canceled = to_json(fold({queued, task_cancel_requested{"ci"}, task_canceled{}}), t0);
  CHECK(canceled.at("State") == "Canceled");
  CHECK(canceled.at("IsCompleted") == true);
  CHECK(canceled.at("FinishedSuccessfully") == false);
  CHECK(canceled.at("StartTime").is_null());

  auto timed_out = to_json(fold({queued, task_started{"n"}, task_timed_out{10}}), t0);
  CHECK(timed_out.at("State") == "TimedOut");
  CHECK(timed_out.at("Completed") == "Timed out");
  CHECK(timed_out.at("IsCompleted") == true);

  auto cancelling = to_json(fold({queued, task_started{"n"}, task_cancel_requested{"ci"}}), t0);
  CHECK(cancelling.at("State") == "Cancelling");
  CHECK(cancelling.at("Completed") == "Cancelling...");
  CHECK(cancelling.at("IsCompleted") == false);
}

TEST_CASE("a warning shows as HasWarningsOrErrors on a successful task", "[json]") {
  auto o = to_json(fold({queued, task_started{"n"}, warning_raised{"w"}, task_succeeded{}}), t0);
  CHECK(o.at("FinishedSuccessfully") == true);
  CHECK(o.at("HasWarningsOrErrors") == true);
}

TEST_CASE("arguments that are not a JSON object show as an empty object", "[json]") {
  auto s = fold({task_queued{"n", "d", "", "not json", 0}});
  auto o = to_json(s, t0);
  CHECK(o.at("Arguments") == json::object{});
  CHECK(o.at("SpaceId").is_null());
}

TEST_CASE("every event prints with its position, stream, type and data", "[json]") {
  std::uint64_t position = 1;
  for (const auto& body : octomig::testing::sample_events()) {
    INFO(type_name(body));
    auto e = octomig::testing::sample_envelope(body, position);
    auto o = to_json(e);
    CHECK(o.at("Position") == position);
    CHECK(o.at("Stream") == json::value(e.stream));
    CHECK(o.at("Version") == e.stream_version);
    CHECK(o.at("Type") == type_name(body));
    CHECK(o.at("Time") == json::value(octopus_date(e.timestamp)));
    CHECK(o.at("Data").is_object());
    ++position;
  }
}

TEST_CASE("an api key's hash never appears in an event's JSON", "[json]") {
  api_key_created k{"ci", "user", "deadbeefcafe"};
  auto text = json::serialize(to_json(envelope{1, system_stream, 1, t0, k}));
  CHECK_THAT(text, !Catch::Contains("deadbeefcafe"));
  CHECK_THAT(summary(k), !Catch::Contains("deadbeefcafe"));
  CHECK(summary(k) == "Name=ci Role=user");
}
