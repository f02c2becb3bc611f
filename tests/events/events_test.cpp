// The event catalogue's helpers: status names as Octopus spells them, stream naming.
#include "events/events.hpp"

#include <catch2/catch.hpp>
#include <cctype>
#include <string>

using namespace octomig::events;

namespace {
const task_status all_statuses[] = {
    task_status::none,     task_status::queued,    task_status::executing, task_status::failed,
    task_status::canceled, task_status::timed_out, task_status::success,   task_status::cancelling};
}

TEST_CASE("task statuses use Octopus's spelling and numbers", "[events]") {
  CHECK(std::string(to_string(task_status::canceled)) == "Canceled");
  CHECK(std::string(to_string(task_status::cancelling)) == "Cancelling");
  CHECK(std::string(to_string(task_status::timed_out)) == "TimedOut");
  CHECK(static_cast<int>(task_status::success) == 6);
  CHECK(static_cast<int>(task_status::cancelling) == 8);
}

TEST_CASE("every task status parses back from its name, in any case", "[events]") {
  for (auto s : all_statuses) {
    if (s == task_status::none) continue;
    INFO(to_string(s));
    task_status out = task_status::none;
    CHECK(parse_task_status(to_string(s), out));
    CHECK(out == s);
    std::string upper = to_string(s);
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    out = task_status::none;
    CHECK(parse_task_status(upper, out));
    CHECK(out == s);
  }
  task_status out = task_status::queued;
  CHECK_FALSE(parse_task_status("Cancelled", out));  // two l's is not Octopus's spelling
  CHECK_FALSE(parse_task_status("", out));
  CHECK_FALSE(parse_task_status("None", out));
  CHECK(out == task_status::queued);
}

TEST_CASE("only the four final statuses count as completed", "[events]") {
  for (auto s : all_statuses) {
    INFO(to_string(s));
    const bool final_state = s == task_status::success || s == task_status::failed ||
                             s == task_status::canceled || s == task_status::timed_out;
    CHECK(is_completed(s) == final_state);
  }
}

TEST_CASE("task streams are the ones named ServerTasks-", "[events]") {
  CHECK(is_task_stream("ServerTasks-1"));
  CHECK(is_task_stream("ServerTasks-"));
  CHECK_FALSE(is_task_stream(system_stream));
  CHECK_FALSE(is_task_stream("serverTasks-1"));
  CHECK_FALSE(is_task_stream("XServerTasks-1"));
}
