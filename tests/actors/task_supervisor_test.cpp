// The task supervisor with the journal and the maintenance guard, on a real store.
#include <set>

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

TEST_CASE("a cancel tells the running step to stop, and the task is Canceled once it answers",
          "[supervisor][stop]") {
  engine_fixture f;
  auto a = f.queue("Gated");
  f.steps->wait_started(1);
  CHECK_FALSE(f.steps->context(1).stop.requested());
  REQUIRE(f.cancel(a.id).ok());
  f.steps->wait_stopped(1);
  CHECK(f.steps->context(1).stop.requested());
  auto done = f.wait_for(a.id, task_status::canceled);
  CHECK(done.error_message == "The task was canceled.");
}

TEST_CASE("a step that ignores its stop signal is stopped hard after the grace period",
          "[supervisor][stop]") {
  engine_fixture f(false);
  f.stop_grace = std::chrono::milliseconds(200);
  f.start();
  auto a = f.queue("Stubborn");
  f.steps->wait_started(1);
  auto began = std::chrono::steady_clock::now();
  REQUIRE(f.cancel(a.id).ok());
  f.wait_for(a.id, task_status::canceled);
  // Not before the grace period: the step was given its chance to stop.
  CHECK(std::chrono::steady_clock::now() - began >= std::chrono::milliseconds(200));
  CHECK(f.steps->stopped_count() == 0);
  f.wait_maintenance(false);
  // The queue goes on.
  auto b = f.queue("Instant");
  f.wait_for(b.id, task_status::success);
}

TEST_CASE("a stalled journal does not keep a cancel from stopping the step", "[supervisor][stop]") {
  engine_fixture f;
  auto a = f.queue("Gated");
  f.steps->wait_started(1);
  // A line the step logs while the journal holds every write back: its append is in flight.
  f.stall->set(true);
  caf::anon_send(f.steps->context(1).sink, actors::log_atom::value, a.id, std::string("Info"),
                 std::string("a line written while the journal is stalled"));
  f.stall->wait_holding();
  auto answer = f.cancel_async(a.id);
  // The step is told to stop while the journal still holds the line back.
  f.steps->wait_stopped(1);
  {
    std::lock_guard<std::mutex> lock(f.stall->mu);
    CHECK(f.stall->waiting > 0);
  }
  f.stall->set(false);
  REQUIRE(answer.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  auto r = answer.get();
  INFO((r ? std::string() : r.err().message));
  REQUIRE(r.ok());
  f.wait_for(a.id, task_status::canceled);
  auto types = f.event_types(a.id);
  // The line is in the log, then the cancel, then its end.
  auto line = std::find(types.begin(), types.end(), "message_logged");
  auto cancel = std::find(types.begin(), types.end(), "task_cancel_requested");
  CHECK(line < cancel);
  CHECK(types.back() == "task_canceled");
}

TEST_CASE("a stalled journal does not keep a time limit from stopping the step",
          "[supervisor][stop]") {
  engine_fixture f;
  auto a = f.queue("Gated", 300);
  f.steps->wait_started(1);
  f.stall->set(true);
  caf::anon_send(f.steps->context(1).sink, actors::log_atom::value, a.id, std::string("Info"),
                 std::string("a line written while the journal is stalled"));
  f.stall->wait_holding();
  f.steps->wait_stopped(1);
  f.stall->set(false);
  auto t = f.wait_for(a.id, task_status::timed_out);
  CHECK(t.error_message.find("time limit of 300 ms") != std::string::npos);
  f.wait_maintenance(false);
}

TEST_CASE("a step's log lines are appended in batches, not one synced append a line",
          "[supervisor]") {
  engine_fixture f;
  auto a = f.queue("Gated");
  f.steps->wait_started(1);
  auto sink = f.steps->context(1).sink;
  // The first line's append is held back; the other 99 wait in the task's outbox meanwhile.
  f.stall->set(true);
  for (int i = 0; i < 100; ++i)
    caf::anon_send(sink, actors::log_atom::value, a.id, std::string("Info"),
                   "line " + std::to_string(i));
  f.stall->wait_holding();
  f.stall->set(false);
  test::release(f.steps->wait_started(1));
  f.wait_for(a.id, task_status::success);
  auto evs = testing::must(f.store->read_stream(a.id));
  std::set<events::timestamp_us> appends;  // one timestamp per append
  std::vector<std::string> lines;
  for (const auto& e : evs)
    if (const auto* m = std::get_if<events::message_logged>(&e.body);
        m && m->text.rfind("line ", 0) == 0) {
      appends.insert(e.timestamp);
      lines.push_back(m->text);
    }
  REQUIRE(lines.size() == 100);
  for (int i = 0; i < 100; ++i)
    CHECK(lines[static_cast<std::size_t>(i)] == "line " + std::to_string(i));
  INFO(appends.size() << " appends for 100 lines");
  CHECK(appends.size() <= 3);
}

TEST_CASE("a log line the journal does not take in time fails the task with the reason",
          "[supervisor]") {
  engine_fixture f(false);
  f.journal_timeout = std::chrono::milliseconds(300);
  f.start();
  auto a = f.queue("Gated");
  f.steps->wait_started(1);
  f.stall->set(true);
  caf::anon_send(f.steps->context(1).sink, actors::log_atom::value, a.id, std::string("Info"),
                 std::string("this line times out"));
  // The task ends early: its step is told to stop once the append has timed out.
  f.steps->wait_stopped(1);
  f.stall->set(false);
  auto t = f.wait_for(a.id, task_status::failed);
  CHECK(t.error_message.find("The task log could not be written") != std::string::npos);
  // The supervisor waits twice the journal's deadline; the journal then drops the line unwritten.
  CHECK(t.error_message.find("did not answer within 600 ms") != std::string::npos);
  f.wait_maintenance(false);
  std::lock_guard<std::mutex> lock(*f.fatal_mu);
  CHECK(f.fatal_reasons->empty());
}

TEST_CASE("a final event that cannot be recorded stops the server instead of going on",
          "[supervisor]") {
  engine_fixture f(false);
  f.journal_timeout = std::chrono::milliseconds(200);
  f.start();
  auto a = f.queue("Gated");
  auto worker = f.steps->wait_started(1);
  f.stall->set(true);
  test::release(worker);
  // The step's end, then maintenance mode, then the final event time out: the last is fatal.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool told = false;
  while (!told && std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard<std::mutex> lock(*f.fatal_mu);
      told = !f.fatal_reasons->empty();
    }
    if (!told) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  f.stall->set(false);
  REQUIRE(told);
  {
    std::lock_guard<std::mutex> lock(*f.fatal_mu);
    CHECK(f.fatal_reasons->size() == 1);
    CHECK(f.fatal_reasons->front().find("the end of task " + a.id + " could not be recorded") !=
          std::string::npos);
  }
  // Nothing new starts once the server is stopping.
  std::promise<result<events::task_state>> p;
  auto queued = p.get_future();
  f.engine->commands().queue_task(
      actors::queue_request{"Instant", "x", "Spaces-1", "{}", 0, nullptr},
      [&p](result<events::task_state> r) { p.set_value(std::move(r)); });
  REQUIRE(queued.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  auto refused = queued.get();
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.err().code == errc::unavailable);
}

TEST_CASE("a step's facts reach the next step and the callback goes in the final event's append",
          "[supervisor][facts]") {
  engine_fixture f;
  auto a = f.queue("Facts");
  auto push = f.steps->wait_started(1);
  // The Push step got the Build step's package_built, typed.
  auto ctx = f.steps->context(1);
  const auto* built = actors::find_fact<events::package_built>(ctx.facts);
  REQUIRE(built != nullptr);
  CHECK(built->file_name == "Sample.1.0.0.zip");
  CHECK(built->size_bytes == 1234);
  CHECK(built->encrypted);
  test::release(push);
  f.wait_for(a.id, task_status::success);
  auto evs = testing::must(f.store->read_stream(a.id));
  std::vector<std::string> types;
  for (const auto& e : evs) types.push_back(events::type_name(e.body));
  // The fact is recorded with the end of the step that made it.
  auto fact = std::find(types.begin(), types.end(), "package_built");
  REQUIRE(fact != types.end());
  CHECK(*(fact + 1) == "step_finished");
  CHECK(evs[static_cast<std::size_t>(fact - types.begin())].timestamp ==
        evs[static_cast<std::size_t>(fact - types.begin()) + 1].timestamp);
  // The success callback follows the final event, in the same append.
  REQUIRE(evs.size() >= 2);
  const auto& last = evs[evs.size() - 1];
  const auto& final_event = evs[evs.size() - 2];
  CHECK(events::type_name(final_event.body) == std::string("task_succeeded"));
  const auto* cb = std::get_if<events::callback_scheduled>(&last.body);
  REQUIRE(cb != nullptr);
  CHECK(cb->kind == "success");
  CHECK(cb->uri == "http://127.0.0.1:9/hook?package=Sample.1.0.0.zip");
  CHECK(last.timestamp == final_event.timestamp);
  CHECK(last.position == final_event.position + 1);
}

TEST_CASE("a canceled task and a task closed by recovery schedule their failure callback",
          "[supervisor][facts][recovery]") {
  engine_fixture f;
  auto a = f.queue("Facts");
  f.steps->wait_started(1);
  REQUIRE(f.cancel(a.id).ok());
  f.wait_for(a.id, task_status::canceled);
  // The callback is scheduled right after the final event, in its append; the notifier's attempts
  // (to a port where nothing listens) may follow.
  auto canceled = f.event_types(a.id);
  auto end = std::find(canceled.begin(), canceled.end(), "task_canceled");
  REQUIRE(end != canceled.end());
  REQUIRE(end + 1 != canceled.end());
  CHECK(*(end + 1) == "callback_scheduled");

  auto b = f.queue("Facts");
  f.steps->wait_started(2);
  f.stop();
  f.start();
  auto t = f.task(b.id);
  CHECK(t.state == task_status::failed);
  auto evs = testing::must(f.store->read_stream(b.id));
  auto interrupted = std::find_if(evs.begin(), evs.end(), [](const events::envelope& e) {
    return std::holds_alternative<events::task_interrupted>(e.body);
  });
  REQUIRE(interrupted != evs.end());
  REQUIRE(interrupted + 1 != evs.end());
  const auto* cb = std::get_if<events::callback_scheduled>(&(interrupted + 1)->body);
  REQUIRE(cb != nullptr);
  CHECK(cb->kind == "failure");
  // Recovery read the task's facts from its stream.
  CHECK(cb->uri == "http://127.0.0.1:9/hook?package=Sample.1.0.0.zip");
}

TEST_CASE("recovery empties the work folder before the queue runs", "[supervisor][recovery]") {
  engine_fixture f;
  f.stop();
  std::filesystem::create_directories(f.data.work() / "ServerTasks-999" / "left");
  f.start();
  CHECK(std::filesystem::is_empty(f.data.work()));
}

TEST_CASE("a step that quits without answering fails the task at once", "[supervisor]") {
  engine_fixture f;
  auto a = f.queue("Mute");
  auto t = f.wait_for(a.id, task_status::failed);
  CHECK(t.error_message == "The step Say nothing ended without an answer.");
  f.wait_maintenance(false);
}

TEST_CASE("an after-end command that decide refuses never holds back the final event",
          "[supervisor][facts]") {
  engine_fixture f;
  auto a = f.queue("BadCallback");
  f.wait_for(a.id, task_status::success);
  auto types = f.event_types(a.id);
  CHECK(types.back() == "task_succeeded");
  CHECK(std::find(types.begin(), types.end(), "callback_scheduled") == types.end());
}
