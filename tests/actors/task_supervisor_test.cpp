// The task supervisor with the journal and the maintenance guard, on a real store.
#include "engine_fixture.hpp"
#include "storage/projector.hpp"

using namespace octomig;
using events::task_status;
using test::engine_fixture;

TEST_CASE("a queued task runs its pipeline and succeeds", "[supervisor]") {
  engine_fixture f;
  auto t = f.queue("Instant");
  CHECK(t.state == task_status::queued);
  CHECK(t.id == "ServerTasks-1");
  auto done = f.wait_for(t.id, task_status::success);
  CHECK(done.has_warnings_or_errors);  // the instant step raises a warning
  f.wait_maintenance(false);
  auto types = f.event_types(t.id);
  std::vector<std::string> expected{"task_queued",    "task_started",  "step_started",
                                    "warning_raised", "step_finished", "task_succeeded"};
  CHECK(types == expected);
}

TEST_CASE("only one task executes at a time and the queue runs in order", "[supervisor]") {
  engine_fixture f;
  auto a = f.queue("Gated");
  auto b = f.queue("Gated");
  auto c = f.queue("Instant");
  auto first = f.steps->wait_started(1);
  CHECK(f.task(a.id).state == task_status::executing);
  CHECK(f.task(b.id).state == task_status::queued);
  CHECK(f.task(c.id).state == task_status::queued);
  test::release(first);
  f.wait_for(a.id, task_status::success);
  auto second = f.steps->wait_started(2);
  CHECK(f.task(b.id).state == task_status::executing);
  CHECK(f.task(c.id).state == task_status::queued);
  test::release(second);
  f.wait_for(b.id, task_status::success);
  auto last = f.wait_for(c.id, task_status::success);
  CHECK(f.task(b.id).completed_time <= last.start_time);
}

TEST_CASE("a canceled queued task is Canceled at once and never starts", "[supervisor]") {
  engine_fixture f;
  auto a = f.queue("Gated");
  auto b = f.queue("Instant");
  auto worker = f.steps->wait_started(1);
  auto r = f.cancel(b.id);
  REQUIRE(r.ok());
  CHECK(r->state == task_status::canceled);
  test::release(worker);
  f.wait_for(a.id, task_status::success);
  f.wait_maintenance(false);
  auto types = f.event_types(b.id);
  std::vector<std::string> expected{"task_queued", "task_cancel_requested", "task_canceled"};
  CHECK(types == expected);
  CHECK(f.task(b.id).start_time == 0);
}

TEST_CASE("cancelling an executing task goes through Cancelling to Canceled when the step stops",
          "[supervisor]") {
  engine_fixture f;
  auto a = f.queue("Gated");
  f.steps->wait_started(1);
  f.wait_maintenance(true);
  auto r = f.cancel(a.id);
  REQUIRE(r.ok());
  CHECK((r->state == task_status::cancelling || r->state == task_status::canceled));
  auto done = f.wait_for(a.id, task_status::canceled);
  CHECK(done.completed_time != 0);
  f.wait_maintenance(false);
  auto types = f.event_types(a.id);
  CHECK(types.back() == "task_canceled");
  CHECK(std::find(types.begin(), types.end(), "task_cancel_requested") != types.end());
  CHECK(std::find(types.begin(), types.end(), "task_succeeded") == types.end());
}

TEST_CASE("a second cancel of a cancelling task changes nothing and a finished task refuses it",
          "[supervisor]") {
  engine_fixture f;
  auto a = f.queue("Instant");
  f.wait_for(a.id, task_status::success);
  auto r = f.cancel(a.id);
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().code == errc::illegal_transition);
  auto missing = f.cancel("ServerTasks-404");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.err().code == errc::illegal_transition);
}

TEST_CASE("a step that reports failure fails the task with its message", "[supervisor]") {
  engine_fixture f;
  auto a = f.queue("Failing");
  auto t = f.wait_for(a.id, task_status::failed);
  CHECK(t.error_message == "the step broke");
  CHECK(t.has_warnings_or_errors);
  f.wait_maintenance(false);
}

TEST_CASE("a step that crashes fails the task and the next task still runs", "[supervisor]") {
  engine_fixture f;
  auto a = f.queue("Gated");
  auto b = f.queue("Instant");
  auto worker = f.steps->wait_started(1);
  caf::anon_send(worker, test::crash_atom::value);
  auto t = f.wait_for(a.id, task_status::failed);
  CHECK(t.error_message.find("stopped unexpectedly") != std::string::npos);
  f.wait_for(b.id, task_status::success);
  f.wait_maintenance(false);
}

TEST_CASE("a task over its time limit is TimedOut and its step is stopped", "[supervisor]") {
  engine_fixture f;
  auto a = f.queue("Gated", 50);
  f.steps->wait_started(1);
  auto t = f.wait_for(a.id, task_status::timed_out);
  CHECK(t.error_message.find("time limit") != std::string::npos);
  f.wait_maintenance(false);
}

TEST_CASE("a task of an unknown type fails with a clear message", "[supervisor]") {
  engine_fixture f;
  auto a = f.queue("NoSuchPipeline");
  auto t = f.wait_for(a.id, task_status::failed);
  CHECK(t.error_message == "No pipeline runs tasks of type NoSuchPipeline.");
  f.wait_maintenance(false);
}

TEST_CASE("steps run in order and log to the task log", "[supervisor]") {
  engine_fixture f;
  auto a = f.queue("TwoSteps");
  auto worker = f.steps->wait_started(1);
  CHECK(f.task(a.id).current_step == "Second");
  test::release(worker, true, "second done");
  f.wait_for(a.id, task_status::success);
  auto log = f.store->task_log(a.id);
  REQUIRE(log.ok());
  std::string all;
  for (const auto& l : *log) all += l.category + ": " + l.text + "\n";
  CHECK(all.find("Step finished: First (first done)") != std::string::npos);
  CHECK(all.find("gated step running") != std::string::npos);
  CHECK(all.find("Step finished: Second (second done)") != std::string::npos);
}

TEST_CASE("maintenance mode held by a task restores the previous manual setting in every outcome",
          "[supervisor][maintenance]") {
  for (bool manual : {false, true}) {
    for (const char* outcome : {"success", "failure", "cancel", "timeout"}) {
      DYNAMIC_SECTION("manual " << manual << ", outcome " << outcome) {
        engine_fixture f;
        f.set_maintenance(manual);
        std::string kind = outcome == std::string("success")   ? "Instant"
                           : outcome == std::string("failure") ? "Failing"
                                                               : "Gated";
        auto a = f.queue(kind, outcome == std::string("timeout") ? 50 : 0);
        if (kind == "Gated") {
          f.steps->wait_started(1);
          CHECK(testing::must(f.store->maintenance()).task_id == a.id);
          CHECK(testing::must(f.store->maintenance()).on());
          if (outcome == std::string("cancel")) REQUIRE(f.cancel(a.id).ok());
        }
        auto final_state = outcome == std::string("success")   ? task_status::success
                           : outcome == std::string("failure") ? task_status::failed
                           : outcome == std::string("cancel")  ? task_status::canceled
                                                               : task_status::timed_out;
        f.wait_for(a.id, final_state);
        // Given back before the final state is recorded: a client that sees the task finished
        // can write at once.
        auto m = testing::must(f.store->maintenance());
        CHECK(m.task_id.empty());
        CHECK(m.manual == manual);
        CHECK(m.on() == manual);
      }
    }
  }
}

TEST_CASE("a task without maintenance needs leaves maintenance mode alone",
          "[supervisor][maintenance]") {
  engine_fixture f;
  auto a = f.queue("NoMaintenance");
  f.wait_for(a.id, task_status::success);
  auto sys = f.store->read_stream(events::system_stream);
  REQUIRE(sys.ok());
  for (const auto& e : *sys)
    CHECK_FALSE(std::holds_alternative<events::maintenance_entered>(e.body));
}

TEST_CASE(
    "after a restart an executing task is interrupted, maintenance is restored and the queue runs",
    "[supervisor][recovery]") {
  engine_fixture f;
  f.set_maintenance(true);
  auto a = f.queue("Gated");
  auto b = f.queue("Instant");
  auto c = f.queue("Instant");
  f.steps->wait_started(1);
  REQUIRE(testing::must(f.store->maintenance()).task_id == a.id);
  std::filesystem::create_directories(f.data.work() / a.id / "scratch");
  f.stop();
  CHECK(f.task(a.id).state == task_status::executing);
  CHECK(f.task(b.id).state == task_status::queued);

  f.start();
  auto interrupted = f.task(a.id);
  CHECK(interrupted.state == task_status::failed);
  CHECK(interrupted.error_message.find("restarted") != std::string::npos);
  CHECK(f.event_types(a.id).back() == "task_interrupted");
  CHECK_FALSE(std::filesystem::exists(f.data.work() / a.id));
  auto tb = f.wait_for(b.id, task_status::success);
  auto tc = f.wait_for(c.id, task_status::success);
  CHECK(tb.start_time <= tc.start_time);
  f.wait_maintenance(true);  // the manual setting from before survives the restart
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!testing::must(f.store->maintenance()).task_id.empty() &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK(testing::must(f.store->maintenance()).task_id.empty());
  CHECK(testing::must(f.store->maintenance()).manual);
  // New ids continue after the highest one ever written.
  auto d = f.queue("Instant");
  CHECK(d.id == "ServerTasks-4");
}

TEST_CASE("the read model stays consistent with the log through a run of tasks", "[supervisor]") {
  engine_fixture f;
  for (int i = 0; i < 5; ++i) f.queue(i % 2 ? "Instant" : "Failing");
  f.wait_for("ServerTasks-5", task_status::failed);
  f.stop();
  auto report = f.store->verify_projections();
  REQUIRE(report.ok());
  INFO((report->differences.empty() ? std::string() : report->differences.front()));
  CHECK(report->differences.empty());
}
