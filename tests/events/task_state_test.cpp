// The task fold, as given-events / then-state: every transition of the state machine in
// events/task_state.hpp, and the fields each event sets.
#include "events/task_state.hpp"

#include <catch2/catch.hpp>
#include <vector>

using namespace octomig::events;

namespace {

constexpr timestamp_us t0 = 1490043617000000;  // 2017-03-20T21:00:17Z
constexpr timestamp_us second = 1000000;
const std::string stream = "ServerTasks-7";

// The i-th event of the stream happens i seconds after t0.
timestamp_us at(int i) {
  return t0 + i * second;
}

std::vector<envelope> stream_of(const std::vector<event_body>& bodies) {
  std::vector<envelope> out;
  std::uint64_t position = 100;
  for (std::size_t i = 0; i < bodies.size(); ++i)
    out.push_back(envelope{position++, stream, i + 1, at(static_cast<int>(i)), bodies[i]});
  return out;
}

task_state given(const std::vector<event_body>& bodies) {
  task_state s;
  for (const auto& e : stream_of(bodies)) s = apply(std::move(s), e);
  return s;
}

const task_queued queued{"MigrationPartialExport", "Export Spaces-1", "Spaces-1",
                         R"({"PackageId":"pkg"})", 90000};
const task_started started{"node-1"};

}  // namespace

TEST_CASE("a queued task holds the request and waits", "[apply]") {
  auto s = given({queued});
  CHECK(s.id == stream);
  CHECK(s.version == 1);
  CHECK(s.state == task_status::queued);
  CHECK(s.name == queued.name);
  CHECK(s.description == queued.description);
  CHECK(s.space_id == "Spaces-1");
  CHECK(s.arguments_json == queued.arguments_json);
  CHECK(s.time_limit_ms == 90000);
  CHECK(s.queue_time == at(0));
  CHECK(s.start_time == 0);
  CHECK(s.completed_time == 0);
  CHECK(s.last_updated == at(0));
  CHECK(s.error_message.empty());
  CHECK_FALSE(s.has_warnings_or_errors);
  CHECK_FALSE(is_completed(s));
  CHECK_FALSE(finished_successfully(s));
}

TEST_CASE("a started task is executing on its node", "[apply]") {
  auto s = given({queued, started});
  CHECK(s.state == task_status::executing);
  CHECK(s.version == 2);
  CHECK(s.start_time == at(1));
  CHECK(s.server_node == "node-1");
  CHECK(s.queue_time == at(0));
  CHECK(s.last_updated == at(1));
  CHECK_FALSE(is_completed(s));
}

TEST_CASE("a task canceled while queued is canceled without ever starting", "[apply]") {
  auto requested = given({queued, task_cancel_requested{"ci"}});
  CHECK(requested.state == task_status::queued);  // the task_canceled that follows settles it

  auto s = given({queued, task_cancel_requested{"ci"}, task_canceled{}});
  CHECK(s.state == task_status::canceled);
  CHECK(s.start_time == 0);
  CHECK(s.completed_time == at(2));
  CHECK(s.error_message == "The task was canceled.");
  CHECK(is_completed(s));
  CHECK_FALSE(finished_successfully(s));
}

TEST_CASE("a cancel while executing makes the task cancelling, then canceled", "[apply]") {
  auto cancelling = given({queued, started, step_started{"Collect"}, task_cancel_requested{"ci"}});
  CHECK(cancelling.state == task_status::cancelling);
  CHECK(cancelling.completed_time == 0);
  CHECK_FALSE(is_completed(cancelling));

  auto s = given(
      {queued, started, step_started{"Collect"}, task_cancel_requested{"ci"}, task_canceled{}});
  CHECK(s.state == task_status::canceled);
  CHECK(s.start_time == at(1));
  CHECK(s.completed_time == at(4));
  CHECK(s.current_step.empty());
  CHECK(s.error_message == "The task was canceled.");
  CHECK(is_completed(s));
}

TEST_CASE("a succeeded task finished successfully", "[apply]") {
  auto s = given({queued, started, step_started{"Build"}, task_succeeded{}});
  CHECK(s.state == task_status::success);
  CHECK(s.completed_time == at(3));
  CHECK(s.current_step.empty());
  CHECK(s.error_message.empty());
  CHECK_FALSE(s.has_warnings_or_errors);
  CHECK(is_completed(s));
  CHECK(finished_successfully(s));
}

TEST_CASE("a failed task keeps its error and has errors", "[apply]") {
  auto s = given({queued, started, step_started{"Push"}, task_failed{"feed refused the package"}});
  CHECK(s.state == task_status::failed);
  CHECK(s.completed_time == at(3));
  CHECK(s.error_message == "feed refused the package");
  CHECK(s.has_warnings_or_errors);
  CHECK(s.current_step.empty());
  CHECK(is_completed(s));
  CHECK_FALSE(finished_successfully(s));
}

TEST_CASE("a task that runs past its limit is timed out and says the limit", "[apply]") {
  auto s = given({queued, started, task_timed_out{90000}});
  CHECK(s.state == task_status::timed_out);
  CHECK(s.completed_time == at(2));
  CHECK(s.error_message == "The task exceeded its time limit of 90000 ms.");
  CHECK(s.has_warnings_or_errors);
  CHECK(is_completed(s));
}

TEST_CASE("a task interrupted by a restart is failed with the interruption's message", "[apply]") {
  auto s = given({queued, started, task_interrupted{"The server restarted."}});
  CHECK(s.state == task_status::failed);
  CHECK(s.completed_time == at(2));
  CHECK(s.error_message == "The server restarted.");
  CHECK(s.has_warnings_or_errors);
}

TEST_CASE("a cancelling task that fails or is interrupted ends failed", "[apply]") {
  auto failed = given({queued, started, task_cancel_requested{"ci"}, task_failed{"boom"}});
  CHECK(failed.state == task_status::failed);
  auto interrupted =
      given({queued, started, task_cancel_requested{"ci"}, task_interrupted{"restart"}});
  CHECK(interrupted.state == task_status::failed);
  CHECK(interrupted.error_message == "restart");
}

TEST_CASE("a recorded task arrives with its final state and its own times", "[apply]") {
  task_recorded r{"MigrationImport",
                  "Seeded",
                  "Spaces-4",
                  "{}",
                  task_status::success,
                  t0 - 30 * second,
                  t0 - 20 * second,
                  t0 - 10 * second,
                  "",
                  true,
                  {}};
  auto s = given({r});
  CHECK(s.version == 1);
  CHECK(s.state == task_status::success);
  CHECK(s.name == "MigrationImport");
  CHECK(s.description == "Seeded");
  CHECK(s.space_id == "Spaces-4");
  CHECK(s.queue_time == t0 - 30 * second);
  CHECK(s.start_time == t0 - 20 * second);
  CHECK(s.completed_time == t0 - 10 * second);
  CHECK(s.last_updated == at(0));
  CHECK(s.has_warnings_or_errors);
  CHECK(s.log_line_count == 0);  // this one brings no log
  CHECK(finished_successfully(s));
}

TEST_CASE("a warning sets HasWarningsOrErrors and the task can still succeed", "[apply]") {
  auto warned = given({queued, started, warning_raised{"no lifecycle"}});
  CHECK(warned.state == task_status::executing);
  CHECK(warned.has_warnings_or_errors);
  auto s = given({queued, started, warning_raised{"no lifecycle"}, task_succeeded{}});
  CHECK(s.state == task_status::success);
  CHECK(s.has_warnings_or_errors);
  CHECK(finished_successfully(s));
}

TEST_CASE("steps set and clear the current step", "[apply]") {
  CHECK(given({queued, started, step_started{"Collect"}}).current_step == "Collect");
  CHECK(given({queued, started, step_started{"Collect"}, step_finished{"Collect", "3 docs"}})
            .current_step.empty());
}

TEST_CASE("log_line_count counts the lines the events add to the task log", "[apply]") {
  std::vector<event_body> bodies{queued,
                                 started,
                                 step_started{"Collect"},
                                 message_logged{"Verbose", "a"},
                                 message_logged{"Info", "b"},
                                 warning_raised{"c"},
                                 step_finished{"Collect", ""},
                                 task_succeeded{}};
  task_state s;
  std::uint32_t lines = 0;
  for (const auto& e : stream_of(bodies)) {
    auto line = log_line_for(e);
    REQUIRE(line);  // every one of these events writes a line
    CHECK(line->occurred_at == e.timestamp);
    s = apply(std::move(s), e);
    CHECK(s.log_line_count == ++lines);
  }
  CHECK(s.log_line_count == bodies.size());
  CHECK(given({task_recorded{"n", "d", "", "{}", task_status::failed, 1, 2, 3, "x", true, {}}})
            .log_line_count == 0);
}

TEST_CASE("a recorded task's log lines are its own, in order, and counted", "[apply]") {
  const std::vector<log_line> log{{"Info", t0 - 20 * second, "Deploying web 1.2.0"},
                                  {"Warning", t0 - 15 * second, "Slow health check"},
                                  {"Error", t0 - 10 * second, "Deployment failed"}};
  const task_recorded r{"Deploy",
                        "Deploy web",
                        "Spaces-1",
                        "{}",
                        task_status::failed,
                        t0 - 30 * second,
                        t0 - 20 * second,
                        t0 - 10 * second,
                        "failed",
                        true,
                        log};
  const envelope e{1, stream, 1, at(0), r};
  CHECK(log_lines_added(e.body) == 3);
  CHECK_FALSE(log_line_for(e));  // not one line: the recorded ones, with their own times
  auto lines = log_lines_for(e);
  REQUIRE(lines.size() == 3);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    CHECK(lines[i].category == log[i].category);
    CHECK(lines[i].occurred_at == log[i].occurred_at);
    CHECK(lines[i].text == log[i].text);
  }
  CHECK(given({r}).log_line_count == 3);
  // Events that log one line say so through both functions alike.
  const envelope one{1, stream, 1, at(0), message_logged{"Info", "x"}};
  CHECK(log_lines_added(one.body) == 1);
  CHECK(log_lines_for(one).size() == 1);
  CHECK(log_lines_added(maintenance_entered{""}) == 0);
}

TEST_CASE("the log lines say what happened, in Octopus's categories", "[apply]") {
  auto line = [](event_body b) { return *log_line_for(envelope{1, stream, 1, at(5), b}); };
  CHECK(line(message_logged{"Verbose", "hello"}).category == "Verbose");
  CHECK(line(message_logged{"Verbose", "hello"}).text == "hello");
  CHECK(line(warning_raised{"careful"}).category == "Warning");
  CHECK(line(task_failed{"boom"}).category == "Error");
  CHECK(line(task_failed{"boom"}).text == "Task failed: boom");
  CHECK(line(task_succeeded{}).category == "Highlight");
  CHECK(line(step_finished{"Push", "2 packages"}).text == "Step finished: Push (2 packages)");
  CHECK(line(step_finished{"Push", ""}).text == "Step finished: Push");
  CHECK(line(task_started{""}).text == "Task started on this node");
  CHECK_FALSE(log_line_for(envelope{1, stream, 1, at(0), maintenance_entered{""}}));
  CHECK_FALSE(log_line_for(envelope{1, stream, 1, at(0), api_key_created{"k", "user", "h"}}));
}

TEST_CASE("a callback's log line names its URL without credentials, query or fragment", "[apply]") {
  auto text = [](const char* kind, const char* uri) {
    return log_line_for(envelope{1, stream, 1, at(5), callback_scheduled{kind, uri}})->text;
  };
  CHECK(text("success", "https://user:secret@hooks.example.com/done?token=abc#x") ==
        "Success callback scheduled to https://hooks.example.com/done");
  CHECK(text("failure", "http://hooks.example.com:8080/failed?key=1") ==
        "Failure callback scheduled to http://hooks.example.com:8080/failed");
  CHECK(text("success", "https://hooks.example.com/path/with@sign") ==
        "Success callback scheduled to https://hooks.example.com/path/with@sign");
  CHECK(text("success", "https://token@hooks.example.com") ==
        "Success callback scheduled to https://hooks.example.com");
  auto built = log_line_for(envelope{1, stream, 1, at(5), package_built{"P.zip", 42, "ab", true}});
  CHECK(built->text == "Package P.zip built: 42 bytes, SHA-256 ab, encrypted");
}
