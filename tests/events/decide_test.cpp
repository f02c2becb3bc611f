// The task rules: every (state, command) pair is either in the table of legal moves below, with
// the events it must produce and the state they lead to, or refused with illegal_transition.
#include "events/decide.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace octomig;
using namespace octomig::events;

namespace {

const std::string stream = "ServerTasks-3";

task_state fold(const std::vector<event_body>& bodies) {
  task_state s;
  std::uint64_t v = 0;
  for (const auto& b : bodies) {
    ++v;
    s = apply(std::move(s),
              envelope{v, stream, v, 1490043617000000 + static_cast<timestamp_us>(v), b});
  }
  return s;
}

const task_queued queued{"MigrationImport", "Import", "Spaces-1", "{}", 90000};

// One task in each state, reached through the fold.
std::map<task_status, task_state> one_task_per_state() {
  return {
      {task_status::none, task_state{}},
      {task_status::queued, fold({queued})},
      {task_status::executing, fold({queued, task_started{"n"}})},
      {task_status::cancelling, fold({queued, task_started{"n"}, task_cancel_requested{"ci"}})},
      {task_status::success, fold({queued, task_started{"n"}, task_succeeded{}})},
      {task_status::failed, fold({queued, task_started{"n"}, task_failed{"x"}})},
      {task_status::canceled, fold({queued, task_cancel_requested{"ci"}, task_canceled{}})},
      {task_status::timed_out, fold({queued, task_started{"n"}, task_timed_out{90000}})},
  };
}

// One valid instance of every command, by name.
std::map<std::string, task_command> one_of_each_command() {
  return {
      {"queue", cmd::queue{"MigrationImport", "Import", "Spaces-1", "{}", 1000}},
      {"start", cmd::start{"node-1"}},
      {"start_step", cmd::start_step{"Collect"}},
      {"finish_step", cmd::finish_step{"Collect", "ok"}},
      {"log", cmd::log{"Info", "hello"}},
      {"warn", cmd::warn{"careful"}},
      {"request_cancel", cmd::request_cancel{"ci"}},
      {"succeed", cmd::succeed{}},
      {"fail", cmd::fail{"boom"}},
      {"confirm_canceled", cmd::confirm_canceled{}},
      {"time_out", cmd::time_out{}},
      {"interrupt", cmd::interrupt{"restarted"}},
      {"record", cmd::record{task_recorded{"MigrationImport",
                                           "old",
                                           "Spaces-1",
                                           "{}",
                                           task_status::success,
                                           1,
                                           2,
                                           3,
                                           "",
                                           false,
                                           {}}}},
      {"record_fact",
       cmd::record_fact{package_built{"P.1.0.0.zip", 10, std::string(64, 'b'), false}}},
      {"schedule_success", cmd::schedule_callback{"success", "https://example.com/done"}},
      {"schedule_failure", cmd::schedule_callback{"failure", "https://example.com/failed"}},
      // Refused in every state of the table: none of those tasks has a callback open (see the
      // outbox test below).
      {"record_callback_attempt", cmd::record_callback_attempt{"success", 1, 200, "200 OK"}},
      {"deliver_callback", cmd::deliver_callback{"success", 200}},
      {"abandon_callback", cmd::abandon_callback{"failure", "gone"}},
  };
}

struct outcome {
  std::vector<std::string> events;  // type names, in order; empty: already satisfied
  task_status next;
};

// The legal moves. Everything not listed is illegal.
// A running task (Executing or Cancelling) may still fail, time out or be interrupted: a cancel
// request does not stop a failure or a restart from being a fact. Only Executing may succeed.
const std::map<task_status, std::map<std::string, outcome>> legal = {
    {task_status::none,
     {{"queue", {{"task_queued"}, task_status::queued}},
      {"record", {{"task_recorded"}, task_status::success}}}},
    {task_status::queued,
     {{"start", {{"task_started"}, task_status::executing}},
      {"request_cancel", {{"task_cancel_requested", "task_canceled"}, task_status::canceled}}}},
    {task_status::executing,
     {{"start_step", {{"step_started"}, task_status::executing}},
      {"finish_step", {{"step_finished"}, task_status::executing}},
      {"log", {{"message_logged"}, task_status::executing}},
      {"warn", {{"warning_raised"}, task_status::executing}},
      {"request_cancel", {{"task_cancel_requested"}, task_status::cancelling}},
      {"succeed", {{"task_succeeded"}, task_status::success}},
      {"fail", {{"task_failed"}, task_status::failed}},
      {"time_out", {{"task_timed_out"}, task_status::timed_out}},
      {"interrupt", {{"task_interrupted"}, task_status::failed}},
      {"record_fact", {{"package_built"}, task_status::executing}}}},
    {task_status::cancelling,
     {{"start_step", {{"step_started"}, task_status::cancelling}},
      {"finish_step", {{"step_finished"}, task_status::cancelling}},
      {"log", {{"message_logged"}, task_status::cancelling}},
      {"warn", {{"warning_raised"}, task_status::cancelling}},
      {"request_cancel", {{}, task_status::cancelling}},
      {"fail", {{"task_failed"}, task_status::failed}},
      {"confirm_canceled", {{"task_canceled"}, task_status::canceled}},
      {"time_out", {{"task_timed_out"}, task_status::timed_out}},
      {"interrupt", {{"task_interrupted"}, task_status::failed}},
      {"record_fact", {{"package_built"}, task_status::cancelling}}}},
    // Callbacks are scheduled once a task has ended: a success callback after Success only.
    {task_status::success, {{"schedule_success", {{"callback_scheduled"}, task_status::success}}}},
    {task_status::failed, {{"schedule_failure", {{"callback_scheduled"}, task_status::failed}}}},
    {task_status::canceled,
     {{"schedule_failure", {{"callback_scheduled"}, task_status::canceled}}}},
    {task_status::timed_out,
     {{"schedule_failure", {{"callback_scheduled"}, task_status::timed_out}}}},
};

}  // namespace

TEST_CASE("the tables cover every task state and every command", "[decide]") {
  auto states = one_task_per_state();
  CHECK(states.size() == 8);
  for (const auto& [status, s] : states) CHECK(s.state == status);

  std::set<std::size_t> kinds;
  for (const auto& [name, c] : one_of_each_command()) kinds.insert(c.index());
  CHECK(kinds.size() == std::variant_size_v<task_command>);
}

TEST_CASE("every legal command is accepted and every other (state, command) pair is refused",
          "[decide]") {
  int accepted = 0, refused = 0;
  for (const auto& [status, s] : one_task_per_state()) {
    for (const auto& [name, c] : one_of_each_command()) {
      INFO("state " << to_string(status) << ", command " << name);
      auto r = decide(s, c);
      const outcome* expected = nullptr;
      if (auto row = legal.find(status); row != legal.end())
        if (auto cell = row->second.find(name); cell != row->second.end()) expected = &cell->second;

      if (!expected) {
        REQUIRE_FALSE(r.ok());
        CHECK(r.err().code == errc::illegal_transition);
        CHECK_THAT(r.err().message, Catch::Contains(to_string(status)));
        ++refused;
        continue;
      }
      REQUIRE(r.ok());
      std::vector<std::string> types;
      for (const auto& e : *r) types.push_back(type_name(e));
      CHECK(types == expected->events);

      // The events take the task where the state diagram says.
      task_state next = s;
      std::uint64_t v = s.version;
      for (const auto& e : *r) {
        ++v;
        next = apply(std::move(next), envelope{v, stream, v, 1500000000000000, e});
      }
      CHECK(to_string(next.state) == std::string(to_string(expected->next)));
      ++accepted;
    }
  }
  // none 2, queued 2, executing 10, cancelling 10, and one callback in each of the four ends.
  CHECK(accepted == 2 + 2 + 10 + 10 + 4);
  CHECK(refused == 8 * 19 - accepted);
}

TEST_CASE("a second cancel of a cancelling task writes nothing", "[decide]") {
  auto s = one_task_per_state().at(task_status::cancelling);
  auto r = decide(s, cmd::request_cancel{"someone else"});
  REQUIRE(r.ok());
  CHECK(r->empty());
}

TEST_CASE("a canceled queued task never starts", "[decide]") {
  auto s = fold({queued});
  auto cancel = decide(s, cmd::request_cancel{"ci"});
  REQUIRE(cancel.ok());
  std::uint64_t v = s.version;
  for (const auto& e : *cancel) {
    ++v;
    s = apply(std::move(s), envelope{v, stream, v, 1, e});
  }
  auto start = decide(s, cmd::start{"node-1"});
  REQUIRE_FALSE(start.ok());
  CHECK(start.err().code == errc::illegal_transition);
  CHECK_THAT(start.err().message, Catch::Contains(stream) && Catch::Contains("Canceled"));
}

TEST_CASE("a task asked to cancel does not turn into a success", "[decide]") {
  auto r = decide(one_task_per_state().at(task_status::cancelling), cmd::succeed{});
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().code == errc::illegal_transition);
}

TEST_CASE("the events carry the command's values", "[decide]") {
  auto q = decide(task_state{},
                  cmd::queue{"MigrationImport", "Import it", "Spaces-2", R"({"a":1})", 5000});
  REQUIRE(q.ok());
  REQUIRE(q->size() == 1);
  const auto& ev = std::get<task_queued>(q->front());
  CHECK(ev.name == "MigrationImport");
  CHECK(ev.description == "Import it");
  CHECK(ev.space_id == "Spaces-2");
  CHECK(ev.arguments_json == R"({"a":1})");
  CHECK(ev.time_limit_ms == 5000);

  // A time-out states the task's own limit, not one the caller makes up.
  auto t = decide(one_task_per_state().at(task_status::executing), cmd::time_out{});
  REQUIRE(t.ok());
  CHECK(std::get<task_timed_out>(t->front()).time_limit_ms == 90000);

  auto c = decide(one_task_per_state().at(task_status::queued), cmd::request_cancel{"ci-robot"});
  REQUIRE(c.ok());
  CHECK(std::get<task_cancel_requested>(c->front()).requested_by == "ci-robot");
}

TEST_CASE("malformed commands are invalid arguments, not illegal transitions", "[decide]") {
  auto nameless = decide(task_state{}, cmd::queue{"", "d", "Spaces-1", "{}", 0});
  REQUIRE_FALSE(nameless.ok());
  CHECK(nameless.err().code == errc::invalid_argument);

  for (auto unfinished :
       {task_status::none, task_status::queued, task_status::executing, task_status::cancelling}) {
    INFO(to_string(unfinished));
    task_recorded fact{"n", "d", "Spaces-1", "{}", unfinished, 1, 2, 0, "", false, {}};
    auto r = decide(task_state{}, cmd::record{fact});
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().code == errc::invalid_argument);
  }
}

TEST_CASE("a scheduled callback takes attempts until it is delivered or abandoned, then none",
          "[decide]") {
  auto s = fold({queued, task_started{"n"}, task_failed{"x"},
                 callback_scheduled{"failure", "http://127.0.0.1:9/hook"}});
  CHECK(s.callbacks_pending == 1);
  auto attempt = decide(s, cmd::record_callback_attempt{"failure", 1, 503, "503"});
  REQUIRE(attempt);
  auto delivered = decide_all(s,
                              {cmd::record_callback_attempt{"failure", 2, 200, "200 OK"},
                               cmd::deliver_callback{"failure", 200}},
                              1);
  REQUIRE(delivered.events.size() == 2);
  CHECK(delivered.state.callbacks_pending == 0);
  auto late = decide(delivered.state, cmd::record_callback_attempt{"failure", 3, 200, "200 OK"});
  REQUIRE_FALSE(late);
  CHECK(late.err().code == octomig::errc::illegal_transition);
  auto abandoned = decide(s, cmd::abandon_callback{"failure", "no answer"});
  REQUIRE(abandoned);
}

TEST_CASE("the open callbacks of a stream are those scheduled and not yet delivered or abandoned",
          "[decide]") {
  std::vector<envelope> stream_events;
  std::uint64_t v = 0;
  for (const event_body& b : std::vector<event_body>{
           queued, task_started{"n"}, task_succeeded{},
           callback_scheduled{"success", "http://127.0.0.1:9/ok"},
           callback_attempted{"success", 1, 0, "refused"},
           callback_attempted{"success", 2, 500, "500"}}) {
    ++v;
    stream_events.push_back(envelope{v, stream, v, 1, b});
  }
  auto open = pending_callbacks(stream_events);
  REQUIRE(open.size() == 1);
  CHECK(open[0].kind == "success");
  CHECK(open[0].uri == "http://127.0.0.1:9/ok");
  CHECK(open[0].attempts == 2);
  stream_events.push_back(envelope{7, stream, 7, 1, callback_delivered{"success", 200}});
  CHECK(pending_callbacks(stream_events).empty());
}
