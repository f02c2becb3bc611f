// The callback notifier (actors/callback_notifier.cpp) in a real engine over a real store: ended
// tasks schedule the callbacks their arguments ask for, and a scripted HTTP receiver on loopback
// answers the GETs. What was sent is what the receiver saw; what was recorded is the task stream.
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "engine_fixture.hpp"
#include "tests/outbound/receiver.hpp"

namespace octomig::test {
namespace {

using namespace std::chrono_literals;
using outbound_test::answer;
using outbound_test::closed_port;
using outbound_test::receiver;

// Small backoffs: a retry follows within tens of milliseconds.
actors::notifier_options quick_retries(std::size_t max_attempts = 3) {
  actors::notifier_options o;
  o.max_attempts = max_attempts;
  o.first_backoff = 20ms;
  o.max_backoff = 50ms;
  o.request_timeout = 5s;
  return o;
}

// Long enough for several retries at quick_retries' backoffs: a GET that should not come would
// have come by then.
constexpr auto quiet_period = 400ms;

std::string arguments(const std::string& success_uri, const std::string& failure_uri = "",
                      const std::string& version = "1.0.0") {
  boost::json::object a{{"PackageId", "Octopus.Migration"}, {"PackageVersion", version}};
  if (!success_uri.empty()) a["SuccessCallbackUri"] = success_uri;
  if (!failure_uri.empty()) a["FailureCallbackUri"] = failure_uri;
  return boost::json::serialize(a);
}

// The callback events of a task's stream, in order.
struct callback_events {
  std::vector<events::callback_scheduled> scheduled;
  std::vector<events::callback_attempted> attempted;
  std::vector<events::callback_delivered> delivered;
  std::vector<events::callback_abandoned> abandoned;
  std::vector<std::string> types;  // every callback event's type name, in stream order
};

callback_events read_callbacks(engine_fixture& f, const std::string& id) {
  auto stream = f.store->read_stream(id);
  REQUIRE(stream.ok());
  callback_events out;
  for (const auto& e : *stream) {
    if (const auto* s = std::get_if<events::callback_scheduled>(&e.body))
      out.scheduled.push_back(*s);
    else if (const auto* a = std::get_if<events::callback_attempted>(&e.body))
      out.attempted.push_back(*a);
    else if (const auto* d = std::get_if<events::callback_delivered>(&e.body))
      out.delivered.push_back(*d);
    else if (const auto* b = std::get_if<events::callback_abandoned>(&e.body))
      out.abandoned.push_back(*b);
    else
      continue;
    out.types.push_back(events::type_name(e.body));
  }
  return out;
}

// Bounded wait until the task's callback events satisfy done; fails the test with what the stream
// holds otherwise.
callback_events wait_callbacks(engine_fixture& f, const std::string& id,
                               const std::function<bool(const callback_events&)>& done,
                               const std::string& what, std::chrono::seconds limit = 10s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  callback_events seen;
  while (std::chrono::steady_clock::now() < deadline) {
    seen = read_callbacks(f, id);
    if (done(seen)) return seen;
    std::this_thread::sleep_for(1ms);
  }
  std::string types;
  for (const auto& t : seen.types) types += " " + t;
  FAIL("task " << id << ": " << what << " did not happen within " << limit.count()
               << " s; its callback events are:" << types);
  return seen;
}

callback_events wait_settled(engine_fixture& f, const std::string& id) {
  return wait_callbacks(
      f, id, [](const callback_events& c) { return !c.delivered.empty() || !c.abandoned.empty(); },
      "the callback's delivery or abandonment");
}

// Whether the receiver got no more than n requests in the quiet period after the last one.
bool stays_at(const receiver& r, std::size_t n) {
  return !r.wait_for_requests(n + 1, quiet_period) && r.requests().size() == n;
}

TEST_CASE("the notifier sends a succeeded task's success callback once, with the package appended",
          "[notifier]") {
  receiver hook({answer(200)});
  engine_fixture f(false);
  f.callbacks = quick_retries();
  f.start();
  // The URI's own query stays; a version with build metadata needs encoding.
  auto t = f.queue("Hooked", 0,
                   arguments(hook.base_url() + "/hooks/done?token=abc&x=1", "", "1.0.0+build.5"));
  f.wait_for(t.id, events::task_status::success);
  auto c = wait_settled(f, t.id);

  REQUIRE(hook.wait_for_requests(1, 5s));
  CHECK(stays_at(hook, 1));
  auto seen = hook.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].method == "GET");
  CHECK(seen[0].target ==
        "/hooks/done?token=abc&x=1&packageId=Octopus.Migration&packageVersion=1.0.0%2Bbuild.5");

  CHECK(c.types ==
        std::vector<std::string>{"callback_scheduled", "callback_attempted", "callback_delivered"});
  REQUIRE(c.scheduled.size() == 1);
  CHECK(c.scheduled[0].kind == "success");
  CHECK(c.scheduled[0].uri == hook.base_url() + "/hooks/done?token=abc&x=1");
  REQUIRE(c.attempted.size() == 1);
  CHECK(c.attempted[0].kind == "success");
  CHECK(c.attempted[0].attempt == 1);
  CHECK(c.attempted[0].http_status == 200);
  REQUIRE(c.delivered.size() == 1);
  CHECK(c.delivered[0].http_status == 200);
  CHECK(f.task(t.id).callbacks_pending == 0);
}

TEST_CASE("the notifier retries a callback answered 503 twice and delivers it on the third attempt",
          "[notifier]") {
  receiver hook({answer(503), answer(503), answer(200)});
  engine_fixture f(false);
  f.callbacks = quick_retries(5);
  f.start();
  auto t = f.queue("Hooked", 0, arguments(hook.base_url() + "/hook"));
  auto c = wait_settled(f, t.id);

  REQUIRE(hook.wait_for_requests(3, 5s));
  CHECK(stays_at(hook, 3));
  REQUIRE(c.attempted.size() == 3);
  for (std::uint32_t i = 0; i < 3; ++i) {
    INFO("attempt " << i + 1);
    CHECK(c.attempted[i].attempt == i + 1);
    CHECK(c.attempted[i].http_status == (i < 2 ? 503u : 200u));
  }
  CHECK(c.delivered.size() == 1);
  CHECK(c.abandoned.empty());
  // Nothing was recorded after the delivery either.
  CHECK(read_callbacks(f, t.id).types.size() == 5);
  CHECK(f.task(t.id).callbacks_pending == 0);
}

TEST_CASE("the notifier abandons a callback answered 500 every time after max_attempts",
          "[notifier]") {
  receiver hook({answer(500)});
  engine_fixture f(false);
  f.callbacks = quick_retries(3);
  f.start();
  auto t = f.queue("Hooked", 0, arguments(hook.base_url() + "/hook"));
  auto c = wait_settled(f, t.id);

  REQUIRE(hook.wait_for_requests(3, 5s));
  CHECK(stays_at(hook, 3));
  REQUIRE(c.attempted.size() == 3);
  CHECK(c.attempted.back().attempt == 3);
  CHECK(c.attempted.back().http_status == 500);
  CHECK(c.delivered.empty());
  REQUIRE(c.abandoned.size() == 1);
  CHECK(c.abandoned[0].kind == "success");
  CHECK_THAT(c.abandoned[0].reason, Catch::Contains("3 attempts"));
  CHECK(f.task(t.id).callbacks_pending == 0);
}

TEST_CASE("the notifier abandons a callback answered 404 after its first attempt", "[notifier]") {
  receiver hook({answer(404)});
  engine_fixture f(false);
  f.callbacks = quick_retries(5);
  f.start();
  auto t = f.queue("Hooked", 0, arguments(hook.base_url() + "/missing"));
  auto c = wait_settled(f, t.id);

  REQUIRE(hook.wait_for_requests(1, 5s));
  CHECK(stays_at(hook, 1));
  REQUIRE(c.attempted.size() == 1);
  CHECK(c.attempted[0].http_status == 404);
  REQUIRE(c.abandoned.size() == 1);
  CHECK_THAT(c.abandoned[0].reason, Catch::Contains("404"));
  CHECK(f.task(t.id).callbacks_pending == 0);
}

TEST_CASE("the notifier retries a receiver that is down, then abandons the callback with the error",
          "[notifier]") {
  closed_port down;
  engine_fixture f(false);
  f.callbacks = quick_retries(3);
  f.start();
  auto t = f.queue("Hooked", 0, arguments(down.base_url() + "/hook?token=s3cret-token"));
  auto c = wait_settled(f, t.id);

  REQUIRE(c.attempted.size() == 3);
  for (const auto& a : c.attempted) {
    INFO("attempt " << a.attempt << ": " << a.outcome);
    CHECK(a.http_status == 0);
    CHECK_THAT(a.outcome, Catch::StartsWith("no answer: "));
    CHECK_THAT(a.outcome, Catch::Contains("127.0.0.1"));
    // The callback URI's query may hold a token: it is no part of the record.
    CHECK_THAT(a.outcome, !Catch::Contains("s3cret-token"));
  }
  REQUIRE(c.abandoned.size() == 1);
  CHECK_THAT(c.abandoned[0].reason, Catch::Contains("3 attempts"));
  CHECK_THAT(c.abandoned[0].reason, Catch::Contains("no answer"));
  CHECK_THAT(c.abandoned[0].reason, !Catch::Contains("s3cret-token"));
  CHECK(f.task(t.id).callbacks_pending == 0);
}

TEST_CASE("the notifier resumes an open callback after a restart and never resends a delivered one",
          "[notifier]") {
  receiver hook({answer(503), answer(200)});
  engine_fixture f(false);
  // The retry is far off: the engine stops before it.
  f.callbacks = quick_retries(5);
  f.callbacks.first_backoff = 60s;
  f.callbacks.max_backoff = 60s;
  f.start();
  auto t = f.queue("Hooked", 0, arguments(hook.base_url() + "/hook"));
  wait_callbacks(
      f, t.id, [](const callback_events& c) { return c.attempted.size() == 1; },
      "the first attempt's record");
  f.stop();
  REQUIRE(hook.requests().size() == 1);
  CHECK(f.task(t.id).callbacks_pending == 1);

  f.callbacks = quick_retries(5);
  f.start();
  auto c = wait_settled(f, t.id);
  REQUIRE(hook.wait_for_requests(2, 5s));
  CHECK(stays_at(hook, 2));
  REQUIRE(c.attempted.size() == 2);
  CHECK(c.attempted[0].http_status == 503);
  CHECK(c.attempted[1].attempt >= 2);
  CHECK(c.attempted[1].http_status == 200);
  REQUIRE(c.delivered.size() == 1);
  CHECK(f.task(t.id).callbacks_pending == 0);

  // A delivered callback is out of the outbox: another restart sends nothing. The notifier takes
  // its start-up scan before the callback of a task queued after the start, so once that one is
  // delivered the scan has passed.
  f.stop();
  f.start();
  receiver later({answer(200)});
  auto u = f.queue("Hooked", 0, arguments(later.base_url() + "/later"));
  CHECK(wait_settled(f, u.id).delivered.size() == 1);
  CHECK(stays_at(hook, 2));
  CHECK(read_callbacks(f, t.id).types.size() == 4);
}

TEST_CASE("the notifier sends a failed task's failure callback without the package", "[notifier]") {
  receiver hook({answer(200)});
  engine_fixture f(false);
  f.callbacks = quick_retries();
  f.start();
  auto t = f.queue("HookedFailing", 0,
                   arguments(hook.base_url() + "/ok", hook.base_url() + "/failed?run=7"));
  f.wait_for(t.id, events::task_status::failed);
  auto c = wait_settled(f, t.id);

  REQUIRE(hook.wait_for_requests(1, 5s));
  CHECK(stays_at(hook, 1));
  auto seen = hook.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].target == "/failed?run=7");
  REQUIRE(c.scheduled.size() == 1);
  CHECK(c.scheduled[0].kind == "failure");
  REQUIRE(c.delivered.size() == 1);
  CHECK(c.delivered[0].kind == "failure");
  CHECK(f.task(t.id).callbacks_pending == 0);
}

}  // namespace
}  // namespace octomig::test
