// The task routes (http/api.cpp) over real HTTP: the list with its filters and paging, one task,
// its raw log and its details. Tasks are queued through the engine's gateway.
#include <algorithm>
#include <catch2/catch.hpp>
#include <regex>
#include <utility>

#include "tests/http/server_fixture.hpp"

namespace octomig::http_test {
namespace {

// ServerTasks-1..3: Instant, Success.  ServerTasks-4: Test, Executing (its step waits).
// ServerTasks-5: Instant, Queued behind 4.  ServerTasks-6: Instant in Spaces-2, Queued.
void populate(server_fixture& f) {
  for (int i = 1; i <= 3; ++i) {
    auto t = f.queue_task("Instant", "instant task " + std::to_string(i));
    REQUIRE(t.id == "ServerTasks-" + std::to_string(i));
    REQUIRE(t.state == events::task_status::queued);
    f.wait_for_state(t.id, {"Success"});
  }
  auto waiting = f.queue_task("Test", "waiting task");
  REQUIRE(waiting.id == "ServerTasks-4");
  f.wait_until_step_runs(waiting.id);
  f.wait_for_state(waiting.id, {"Executing"});
  REQUIRE(f.queue_task("Instant", "queued task").id == "ServerTasks-5");
  REQUIRE(f.queue_task("Instant", "other space", "Spaces-2").id == "ServerTasks-6");
}

std::vector<std::string> ids_of(const json::object& collection) {
  std::vector<std::string> out;
  for (const auto& item : collection.at("Items").get_array())
    out.push_back(str(item.get_object(), "Id"));
  return out;
}

std::vector<std::string> tasks(std::initializer_list<int> numbers) {
  std::vector<std::string> out;
  for (int n : numbers) out.push_back("ServerTasks-" + std::to_string(n));
  return out;
}

json::object list(server_fixture& f, const std::string& target) {
  auto r = f.client().get(target, f.user_key);
  INFO("GET " << target << ": " << r.body);
  REQUIRE(r.status == 200);
  auto o = r.object();
  CHECK(str(o, "ItemType") == "Task");
  REQUIRE(o.at("Items").is_array());
  REQUIRE(o.at("Links").is_object());
  return o;
}

const json::object& links(const json::object& o) {
  return o.at("Links").get_object();
}

const std::regex octopus_date(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00$)");

void check_task_resource(const json::object& t) {
  INFO(json::serialize(t));
  auto id = str(t, "Id");
  CHECK(
      std::regex_match(str(t, "QueueTime"), octopus_date));  // never null: Octopus.Client needs it
  auto state = str(t, "State");
  bool completed = state != "Queued" && state != "Executing" && state != "Cancelling";
  CHECK(t.at("IsCompleted") == json::value(completed));
  CHECK(t.at("FinishedSuccessfully") == json::value(state == "Success"));
  CHECK(t.at("ErrorMessage").is_string());
  const auto& l = t.at("Links").get_object();
  CHECK(str(l, "Self") == "/api/tasks/" + id);
  CHECK(str(l, "Raw") == "/api/tasks/" + id + "/raw");
  CHECK(str(l, "Details").rfind("/api/tasks/" + id + "/details", 0) == 0);
  CHECK(str(l, "Cancel") == "/api/tasks/" + id + "/cancel");
}

}  // namespace

TEST_CASE("the task list shows tasks newest first under every route form", "[tasks]") {
  server_fixture f;
  populate(f);

  auto all = list(f, "/api/tasks");
  CHECK(ids_of(all) == tasks({6, 5, 4, 3, 2, 1}));
  CHECK(integer(all, "TotalResults") == 6);
  CHECK(integer(all, "ItemsPerPage") == 30);
  CHECK(str(links(all), "Self") == "/api/tasks?skip=0&take=30");
  CHECK(str(links(all), "Template").rfind("/api/tasks{/id}{?skip,", 0) == 0);
  CHECK(str(links(all), "Page.All") == "/api/tasks?skip=0&take=2147483647");
  CHECK(links(all).contains("Page.Current"));
  CHECK_FALSE(links(all).contains("Page.Next"));
  const auto& totals = all.at("TotalCounts").get_object();
  CHECK(integer(totals, "Success") == 3);
  CHECK(integer(totals, "Executing") == 1);
  CHECK(integer(totals, "Queued") == 2);
  for (const auto& item : all.at("Items").get_array()) check_task_resource(item.get_object());
  std::vector<std::string> states;
  for (const auto& item : all.at("Items").get_array())
    states.push_back(str(item.get_object(), "State"));
  CHECK(states ==
        std::vector<std::string>{"Queued", "Queued", "Executing", "Success", "Success", "Success"});

  for (const char* target : {"/api/Spaces-1/tasks", "/api/spaces/Spaces-1/tasks"}) {
    INFO(target);
    auto scoped = list(f, target);
    CHECK(ids_of(scoped) == tasks({5, 4, 3, 2, 1}));
    CHECK(integer(scoped, "TotalResults") == 5);
    CHECK(str(links(scoped), "Self") == "/api/Spaces-1/tasks?skip=0&take=30");
    for (const auto& item : scoped.at("Items").get_array())
      CHECK(str(item.get_object(), "SpaceId") == "Spaces-1");
  }
  CHECK(ids_of(list(f, "/api/Spaces-2/tasks")) == tasks({6}));
}

TEST_CASE("the api-client waiter's exact request finds its tasks by id", "[tasks]") {
  server_fixture f;
  populate(f);
  auto waiter = list(f, "/api/Spaces-1/tasks?skip=0&take=300&ids=ServerTasks-1,ServerTasks-2");
  CHECK(ids_of(waiter) == tasks({2, 1}));
  CHECK(integer(waiter, "TotalResults") == 2);
  CHECK_FALSE(links(waiter).contains("Page.Next"));
  for (const auto& item : waiter.at("Items").get_array())
    CHECK(item.get_object().at("IsCompleted") == json::value(true));

  // Order of the ids does not matter; unknown ids and other spaces' tasks are left out.
  CHECK(
      ids_of(list(
          f, "/api/Spaces-1/tasks?ids=ServerTasks-1,ServerTasks-4,ServerTasks-77,ServerTasks-6")) ==
      tasks({4, 1}));
  CHECK(ids_of(list(f, "/api/tasks?ids=ServerTasks-6,ServerTasks-5")) == tasks({6, 5}));
  CHECK(ids_of(list(f, "/api/tasks?ids=ServerTasks-3%2CServerTasks-2")) == tasks({3, 2}));
  CHECK(ids_of(list(f, "/api/tasks?ids=ServerTasks-2,ServerTasks-2")) == tasks({2}));
  auto none = list(f, "/api/tasks?ids=ServerTasks-404");
  CHECK(integer(none, "TotalResults") == 0);
  CHECK(none.at("Items").get_array().empty());
  // An empty ids means no filter.
  CHECK(integer(list(f, "/api/tasks?ids="), "TotalResults") == 6);
}

TEST_CASE("states filters the task list by a comma list in any case", "[tasks]") {
  server_fixture f;
  populate(f);
  CHECK(ids_of(list(f, "/api/tasks?states=Success")) == tasks({3, 2, 1}));
  CHECK(ids_of(list(f, "/api/tasks?states=Queued,Executing")) == tasks({6, 5, 4}));
  CHECK(ids_of(list(f, "/api/Spaces-1/tasks?states=queued,EXECUTING")) == tasks({5, 4}));
  CHECK(ids_of(list(f, "/api/tasks?states=Canceled")).empty());
  CHECK(ids_of(list(f, "/api/tasks?states=Success&ids=ServerTasks-3,ServerTasks-4")) == tasks({3}));

  auto bad = f.client().get("/api/tasks?states=Finished", f.user_key);
  CHECK(bad.status == 400);
  CHECK(error_message(bad) == "There was a problem with your request.");
}

TEST_CASE(
    "paging the task list handles take=0, the int32 maximum, skip past the end and exact ends",
    "[tasks]") {
  server_fixture f;
  populate(f);

  SECTION("take=0 gives no items but the total") {
    auto o = list(f, "/api/tasks?take=0");
    CHECK(o.at("Items").get_array().empty());
    CHECK(integer(o, "TotalResults") == 6);
    CHECK(integer(o, "ItemsPerPage") == 0);
    CHECK_FALSE(links(o).contains("Page.Next"));
  }
  SECTION("take=2147483647 gives everything on one page") {
    auto o = list(f, "/api/tasks?skip=0&take=2147483647");
    CHECK(ids_of(o) == tasks({6, 5, 4, 3, 2, 1}));
    CHECK(integer(o, "NumberOfPages") == 1);
    CHECK(integer(o, "LastPageNumber") == 0);
    CHECK_FALSE(links(o).contains("Page.Next"));
  }
  SECTION("a skip beyond the end gives an empty page and the total") {
    auto o = list(f, "/api/tasks?skip=10");
    CHECK(o.at("Items").get_array().empty());
    CHECK(integer(o, "TotalResults") == 6);
    CHECK_FALSE(links(o).contains("Page.Next"));
  }
  SECTION("a page that ends exactly at the last task has no Page.Next") {
    auto o = list(f, "/api/tasks?skip=4&take=2");
    CHECK(ids_of(o) == tasks({2, 1}));
    CHECK_FALSE(links(o).contains("Page.Next"));
    CHECK(str(links(o), "Page.Previous") == "/api/tasks?skip=2&take=2");
    auto exact = list(f, "/api/Spaces-1/tasks?skip=0&take=5");
    CHECK(ids_of(exact) == tasks({5, 4, 3, 2, 1}));
    CHECK_FALSE(links(exact).contains("Page.Next"));
  }
  SECTION("a page with more after it links Page.Next, and following it reaches every task once") {
    std::vector<std::string> seen;
    std::string next = "/api/tasks?skip=0&take=4";
    int pages = 0;
    while (!next.empty() && pages < 10) {
      auto o = list(f, next);
      for (auto& id : ids_of(o)) seen.push_back(id);
      ++pages;
      next = links(o).contains("Page.Next") ? str(links(o), "Page.Next") : std::string();
    }
    CHECK(pages == 2);
    CHECK(seen == tasks({6, 5, 4, 3, 2, 1}));
    CHECK(str(links(list(f, "/api/tasks?skip=0&take=4")), "Page.Next") ==
          "/api/tasks?skip=4&take=4");
  }
  SECTION("an absurdly large skip gives an empty page without Page.Next") {
    auto o = list(f, "/api/tasks?skip=18446744073709551600&take=16");
    CHECK(o.at("Items").get_array().empty());
    CHECK_FALSE(links(o).contains("Page.Next"));
    // Two more queued tasks, so that total + take - 1 would wrap around.
    f.queue_task("Instant");
    f.queue_task("Instant");
    auto huge_take = list(f, "/api/tasks?take=18446744073709551609");
    CHECK(ids_of(huge_take) == tasks({8, 7, 6, 5, 4, 3, 2, 1}));
    CHECK(integer(huge_take, "NumberOfPages") == 1);
    CHECK_FALSE(links(huge_take).contains("Page.Next"));
  }
}

TEST_CASE("one task answers under every route form and ignores query parameters it does not use",
          "[tasks]") {
  server_fixture f;
  populate(f);
  for (const char* target :
       {"/api/tasks/ServerTasks-5", "/api/tasks/ServerTasks-5?spaces=all&includeSystem=True",
        "/api/Spaces-1/tasks/ServerTasks-5", "/api/spaces/Spaces-1/tasks/ServerTasks-5",
        "/api/tasks/ServerTasks-5?unknownParameter=1&skip=x"}) {
    INFO(target);
    auto r = f.client().get(target, f.user_key);
    REQUIRE(r.status == 200);
    auto t = r.object();
    check_task_resource(t);
    CHECK(str(t, "Id") == "ServerTasks-5");
    CHECK(str(t, "State") == "Queued");
    CHECK(str(t, "Completed") == "Queued...");
    CHECK(t.at("StartTime").is_null());
    CHECK(str(t, "Description") == "queued task");
    CHECK(str(t, "Name") == "Instant");
  }
  auto done =
      f.client().get("/api/tasks/ServerTasks-1?spaces=all&includeSystem=True", f.user_key).object();
  check_task_resource(done);
  CHECK(str(done, "State") == "Success");
  CHECK(std::regex_match(str(done, "StartTime"), octopus_date));
  CHECK(std::regex_match(str(done, "CompletedTime"), octopus_date));
  CHECK(done.at("HasWarningsOrErrors") == json::value(false));
  CHECK(str(done, "ServerNode") == "octomig-test");
  CHECK(done.at("Arguments") == json::parse(R"({"Purpose":"http tests"})"));
}

TEST_CASE("the raw log is text/plain with one line per log entry", "[tasks]") {
  server_fixture f;
  auto t = f.queue_task("Instant", "raw log task");
  f.wait_for_state(t.id, {"Success"});
  for (const std::string& target :
       {"/api/tasks/" + t.id + "/raw", "/api/Spaces-1/tasks/" + t.id + "/raw"}) {
    auto r = f.client().get(target, f.user_key);
    INFO(target << ":\n" << r.body);
    REQUIRE(r.status == 200);
    CHECK(r.header("content-type").rfind("text/plain", 0) == 0);
    std::vector<std::string> lines;
    std::string line;
    for (char c : r.body) {
      if (c == '\n')
        lines.push_back(std::exchange(line, {}));
      else
        line += c;
    }
    CHECK(line.empty());  // every line ends with a newline
    REQUIRE(lines.size() >= 5);
    auto has = [&](std::size_t i, const std::string& text) {
      return i < lines.size() && lines[i].find(text) != std::string::npos;
    };
    CHECK(has(0, "Task queued: raw log task"));
    CHECK(std::regex_search(lines[0],
                            std::regex(R"(^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}  Info)")));
    CHECK(r.body.find("Instant step ran for " + t.id) != std::string::npos);
    CHECK(has(lines.size() - 1, "Task completed successfully"));
  }
}

TEST_CASE("details give the task, its progress and its log elements, and tail keeps the last lines",
          "[tasks]") {
  server_fixture f;
  auto t = f.queue_task("Instant", "details task");
  f.wait_for_state(t.id, {"Success"});

  auto r = f.client().get("/api/tasks/" + t.id + "/details", f.user_key);
  REQUIRE(r.status == 200);
  auto d = r.object();
  CHECK(str(d.at("Task").get_object(), "Id") == t.id);
  check_task_resource(d.at("Task").get_object());
  CHECK(integer(d.at("Progress").get_object(), "ProgressPercentage") == 100);
  REQUIRE(d.at("ActivityLogs").get_array().size() == 1);
  const auto& activity = d.at("ActivityLogs").get_array()[0].get_object();
  CHECK(str(activity, "Status") == "Success");
  const auto& elements = activity.at("LogElements").get_array();
  REQUIRE(elements.size() >= 5);
  CHECK(str(elements[0].get_object(), "MessageText") == "Task queued: details task");
  CHECK(str(elements[0].get_object(), "Category") == "Info");
  CHECK(std::regex_match(str(elements[0].get_object(), "OccurredAt"), octopus_date));
  CHECK(str(elements.back().get_object(), "MessageText") == "Task completed successfully");
  auto total = elements.size();

  auto tail =
      f.client().get("/api/Spaces-1/tasks/" + t.id + "/details?verbose=true&tail=2", f.user_key);
  REQUIRE(tail.status == 200);
  auto tail_details = tail.object();
  const auto& last_two =
      tail_details.at("ActivityLogs").get_array()[0].get_object().at("LogElements").get_array();
  REQUIRE(last_two.size() == 2);
  CHECK(last_two[0] == elements[total - 2]);
  CHECK(last_two[1] == elements[total - 1]);

  auto all = f.client().get("/api/tasks/" + t.id + "/details?tail=1000", f.user_key).object();
  CHECK(all.at("ActivityLogs").get_array()[0].get_object().at("LogElements").get_array().size() ==
        total);
  auto none = f.client().get("/api/tasks/" + t.id + "/details?tail=0", f.user_key).object();
  CHECK(none.at("ActivityLogs").get_array()[0].get_object().at("LogElements").get_array().empty());
  auto bad = f.client().get("/api/tasks/" + t.id + "/details?tail=-1", f.user_key);
  CHECK(bad.status == 400);
  CHECK_FALSE(error_message(bad).empty());
}

TEST_CASE("details of a running task report it running with its step's log line", "[tasks]") {
  server_fixture f;
  auto t = f.queue_task("Test", "running details");
  f.wait_until_step_runs(t.id);
  std::string text = "Test step is waiting for " + t.id;
  auto logged = [&](const json::object& activity) {
    const auto& els = activity.at("LogElements").get_array();
    return std::any_of(els.begin(), els.end(), [&](const json::value& e) {
      return e.get_object().at("MessageText") == json::value(text);
    });
  };
  // The step's line reaches the log through the supervisor, after the step has started.
  json::object activity;
  f.eventually("the step's log line appears in the details", [&] {
    auto d = f.client().get("/api/tasks/" + t.id + "/details", f.user_key).object();
    activity = d.at("ActivityLogs").get_array()[0].get_object();
    return logged(activity);
  });
  CHECK(str(activity, "Status") == "Running");
  CHECK(integer(activity, "ProgressPercentage") == 0);
  CHECK(str(activity, "ProgressMessage") == "Wait for the test");
}

}  // namespace octomig::http_test
