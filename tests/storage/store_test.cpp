// The event store on real RocksDB, one fresh temporary directory per test: appends, reads, the
// read models written with the events, verify and rebuild, reopen, and secondary opens.
#include "storage/store.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <set>

#include "events/codec.hpp"
#include "storage/keys.hpp"
#include "tests/support/must.hpp"
#include "tests/support/sample_events.hpp"
#include "tests/support/store_helpers.hpp"
#include "tests/support/temp_dir.hpp"

using namespace octomig;
using namespace octomig::events;
using octomig::storage::open_mode;
using octomig::testing::append_ok;
using octomig::testing::open_store;
using octomig::testing::request;
using octomig::testing::temp_dir;

namespace {

constexpr timestamp_us t0 = 1490043617000000;

const task_queued queued{"MigrationPartialExport", "Export", "Spaces-1", R"({"PackageId":"p"})", 0};

std::string task_id(int n) {
  return "ServerTasks-" + std::to_string(n);
}

task_state fold(const std::vector<envelope>& log) {
  task_state s;
  for (const auto& e : log) s = apply(std::move(s), e);
  return s;
}

// The stored projection must be, byte for byte, the fold of the stream as it is in the log.
void check_projection_is_fold(const storage::store& st, const std::string& id) {
  INFO("task " << id);
  auto log = st.read_stream(id);
  REQUIRE(log.ok());
  auto stored = st.task(id);
  REQUIRE(stored.ok());
  CHECK(encode(*stored) == encode(fold(*log)));
}

void check_no_differences(const storage::store& st) {
  auto rep = st.verify_projections();
  REQUIRE(rep.ok());
  INFO("differences:\n" << octomig::testing::lines(rep->differences));
  CHECK(rep->differences.empty());
  CHECK(rep->events == st.last_position());
}

// Positions 1..last_position with no gap, each stream's versions 1..n with no gap.
void check_log_shape(const storage::store& st) {
  std::uint64_t expected = 1;
  std::map<std::string, std::uint64_t> versions;
  auto s = st.scan(1, [&](const envelope& e) {
    CHECK(e.position == expected);
    expected = e.position + 1;
    CHECK(e.stream_version == ++versions[e.stream]);
    return true;
  });
  REQUIRE(s.ok());
  CHECK(expected - 1 == st.last_position());
  for (const auto& [stream, v] : versions) CHECK(testing::must(st.stream_version(stream)) == v);
}

}  // namespace

TEST_CASE("appended events read back by position range with their envelopes", "[store]") {
  temp_dir dir;
  auto st = open_store(dir / "db");
  CHECK(st->last_position() == 0);
  auto samples = octomig::testing::sample_events();

  auto a = append_ok(*st, request("A", 0, {samples[0], samples[1], samples[2]}, t0));
  CHECK(a.first_position == 1);
  CHECK(a.last_position == 3);
  CHECK(a.last_version == 3);
  auto b = append_ok(*st, request("B", 0, {samples[3], samples[4]}, t0 + 1));
  CHECK(b.first_position == 4);
  CHECK(b.last_position == 5);
  CHECK(b.last_version == 2);
  auto c = append_ok(*st, request("A", 3, {samples[5]}, t0 + 2));
  CHECK(c.first_position == 6);
  CHECK(c.last_version == 4);
  CHECK(st->last_position() == 6);
  CHECK(st->events_appended() == 6);

  auto all = st->read(1, 100);
  REQUIRE(all.ok());
  REQUIRE(all->size() == 6);
  const std::vector<std::pair<std::string, std::uint64_t>> where = {{"A", 1}, {"A", 2}, {"A", 3},
                                                                    {"B", 1}, {"B", 2}, {"A", 4}};
  const std::vector<timestamp_us> when = {t0, t0, t0, t0 + 1, t0 + 1, t0 + 2};
  for (std::size_t i = 0; i < 6; ++i) {
    INFO("position " << i + 1);
    const auto& e = (*all)[i];
    CHECK(e.position == i + 1);
    CHECK(e.stream == where[i].first);
    CHECK(e.stream_version == where[i].second);
    CHECK(e.timestamp == when[i]);
    CHECK(encode_body(e.body) == encode_body(samples[i]));
  }

  auto middle = st->read(3, 2);
  REQUIRE(middle.ok());
  REQUIRE(middle->size() == 2);
  CHECK(middle->front().position == 3);
  CHECK(middle->back().position == 4);

  CHECK(st->read(6, 10)->size() == 1);
  CHECK(st->read(7, 10)->empty());
  CHECK(st->read(1, 0)->empty());
  CHECK(st->read(0, 2)->front().position == 1);
}

TEST_CASE("a stream reads back in version order from any version", "[store]") {
  temp_dir dir;
  auto st = open_store(dir / "db");
  append_ok(*st, request("A", 0, {step_started{"1"}, step_started{"2"}}));
  append_ok(*st, request("AB", 0, {step_started{"other"}}));  // a stream whose id extends A's
  append_ok(*st, request("A", 2, {step_started{"3"}}));

  auto a = st->read_stream("A");
  REQUIRE(a.ok());
  REQUIRE(a->size() == 3);
  CHECK((*a)[0].position == 1);
  CHECK((*a)[1].position == 2);
  CHECK((*a)[2].position == 4);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK((*a)[i].stream == "A");
    CHECK((*a)[i].stream_version == i + 1);
    CHECK(std::get<step_started>((*a)[i].body).step == std::to_string(i + 1));
  }
  auto tail = st->read_stream("A", 3);
  REQUIRE(tail.ok());
  REQUIRE(tail->size() == 1);
  CHECK(tail->front().position == 4);
  CHECK(st->read_stream("A", 4)->empty());
  CHECK(st->read_stream("nope")->empty());
  CHECK(testing::must(st->stream_version("A")) == 3);
  CHECK(testing::must(st->stream_version("AB")) == 1);
  CHECK(testing::must(st->stream_version("nope")) == 0);
}

TEST_CASE("the task projection after each append is the fold of the task's events", "[store]") {
  temp_dir dir;
  auto st = open_store(dir / "db");
  const auto id = task_id(5);
  CHECK(st->task(id).err().code == errc::not_found);

  append_ok(*st, request(id, 0, {queued, task_started{"node-1"}}, t0));
  check_projection_is_fold(*st, id);
  CHECK(st->task(id)->state == task_status::executing);

  append_ok(
      *st,
      request(id, 2, {step_started{"Collect"}, message_logged{"Info", "x"}, warning_raised{"w"}},
              t0 + 1000));
  check_projection_is_fold(*st, id);
  CHECK(st->task(id)->current_step == "Collect");
  CHECK(st->task(id)->has_warnings_or_errors);

  append_ok(*st, request(id, 5, {step_finished{"Collect", ""}, task_succeeded{}}, t0 + 2000));
  check_projection_is_fold(*st, id);
  auto done = st->task(id);
  REQUIRE(done.ok());
  CHECK(done->state == task_status::success);
  CHECK(done->version == 7);
  CHECK(done->completed_time == t0 + 2000);
  CHECK(done->log_line_count == 7);
  CHECK(testing::must(st->highest_task_number()) == 5);
  check_no_differences(*st);
}

TEST_CASE(
    "a version conflict refuses its request and writes nothing of it while the rest of the "
    "batch goes through",
    "[store]") {
  temp_dir dir;
  auto st = open_store(dir / "db");
  append_ok(*st, request(task_id(1), 0, {queued}));

  std::vector<storage::append_request> batch{
      request(task_id(2), 0, {queued, task_started{"n"}}),              // ok: 2, 3
      request(task_id(1), 0, {task_started{"stale"}}),                  // conflict: at 1
      request(task_id(50), 7, {queued}),                                // conflict: does not exist
      request(task_id(3), 0, {queued}),                                 // ok: 4
      request(task_id(1), 1, {task_started{"fresh"}}),                  // ok: 5
      request(task_id(2), 2, {warning_raised{"second in the batch"}}),  // ok: 6, sees the first
      request(task_id(2), 2, {task_failed{"lost the race"}}),           // conflict: now at 3
      request(task_id(4), 0, {}),                                       // invalid: no events
  };
  auto results = st->append(batch);
  REQUIRE(results.size() == batch.size());

  auto ok_at = [&](std::size_t i, std::uint64_t first, std::uint64_t last, std::uint64_t version) {
    INFO("request " << i);
    REQUIRE(results[i].ok());
    CHECK(results[i]->first_position == first);
    CHECK(results[i]->last_position == last);
    CHECK(results[i]->last_version == version);
  };
  auto refused = [&](std::size_t i, errc code) {
    INFO("request " << i);
    REQUIRE_FALSE(results[i].ok());
    CHECK(results[i].err().code == code);
  };
  ok_at(0, 2, 3, 2);
  refused(1, errc::conflict);
  CHECK_THAT(results[1].err().message, Catch::Contains("at version 1") && Catch::Contains("not 0"));
  refused(2, errc::conflict);
  ok_at(3, 4, 4, 1);
  ok_at(4, 5, 5, 2);
  ok_at(5, 6, 6, 3);
  refused(6, errc::conflict);
  refused(7, errc::invalid_argument);

  CHECK(st->last_position() == 6);
  check_log_shape(*st);
  CHECK(st->task(task_id(1))->server_node == "fresh");
  CHECK(st->task(task_id(2))->state == task_status::executing);
  CHECK(st->task(task_id(2))->has_warnings_or_errors);
  CHECK(st->task(task_id(50)).err().code == errc::not_found);
  CHECK(st->task_log(task_id(50))->empty());
  CHECK(testing::must(st->stream_version(task_id(50))) == 0);
  CHECK(testing::must(st->highest_task_number()) == 3);  // the refused ServerTasks-50 left no trace
  for (auto id : {1, 2, 3}) check_projection_is_fold(*st, task_id(id));
  check_no_differences(*st);

  // A batch in which everything is refused writes nothing at all.
  auto none = st->append({request(task_id(1), 0, {queued}), request(task_id(9), 3, {queued})});
  CHECK_FALSE(none[0].ok());
  CHECK_FALSE(none[1].ok());
  CHECK(st->last_position() == 6);
  check_no_differences(*st);
}

TEST_CASE("positions stay gapless and versions contiguous across many mixed batches", "[store]") {
  temp_dir dir;
  auto st = open_store(dir / "db");
  std::mt19937 rng(7);
  std::map<std::string, std::uint64_t> version;  // each stream's version as the test tracks it
  std::uint64_t next_position = 1;
  for (int round = 0; round < 60; ++round) {
    // Up to six requests on five streams; about one in four expects a version the stream is not at.
    std::vector<storage::append_request> batch;
    std::vector<bool> stale;
    std::map<std::string, std::uint64_t> after = version;
    const int size = 1 + static_cast<int>(rng() % 6);
    for (int i = 0; i < size; ++i) {
      const auto stream = "S" + std::to_string(rng() % 5);
      stale.push_back(rng() % 4 == 0);
      std::vector<event_body> bodies(1 + rng() % 3, event_body{message_logged{"Info", "m"}});
      batch.push_back(request(stream, after[stream] + (stale.back() ? 1 : 0), bodies));
      if (!stale.back()) after[stream] += bodies.size();
    }
    auto results = st->append(batch);
    REQUIRE(results.size() == batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      INFO("round " << round << ", request " << i);
      if (stale[i]) {
        REQUIRE_FALSE(results[i].ok());
        CHECK(results[i].err().code == errc::conflict);
        continue;
      }
      REQUIRE(results[i].ok());
      CHECK(results[i]->first_position == next_position);
      next_position = results[i]->last_position + 1;
      CHECK(results[i]->last_version == version[batch[i].stream] + batch[i].events.size());
      version[batch[i].stream] = results[i]->last_version;
    }
  }
  CHECK(st->last_position() == next_position - 1);
  check_log_shape(*st);
  for (const auto& [stream, v] : version) CHECK(testing::must(st->stream_version(stream)) == v);
}

TEST_CASE("tasks() filters by ids and states and lists the newest first", "[store]") {
  temp_dir dir;
  auto st = open_store(dir / "db");
  // ServerTasks-1..12; the byte order of the ids ("-10" < "-9") is not the order of the numbers.
  std::map<int, task_status> state_of;
  for (int n = 1; n <= 12; ++n) {
    std::vector<event_body> bodies{task_queued{"T", "d", n % 2 ? "Spaces-1" : "Spaces-2", "{}", 0}};
    if (n % 3 != 0) bodies.push_back(task_started{"n"});
    if (n % 3 == 1) bodies.push_back(task_succeeded{});
    append_ok(*st, request(task_id(n), 0, bodies));
    state_of[n] = n % 3 == 0 ? task_status::queued
                             : (n % 3 == 1 ? task_status::success : task_status::executing);
  }
  auto ids_of = [](const std::vector<task_state>& ts) {
    std::vector<std::string> out;
    for (const auto& t : ts) out.push_back(t.id);
    return out;
  };

  auto all = st->tasks({});
  REQUIRE(all.ok());
  std::vector<std::string> newest_first;
  for (int n = 12; n >= 1; --n) newest_first.push_back(task_id(n));
  CHECK(ids_of(*all) == newest_first);
  for (const auto& t : *all)
    CHECK(t.state == state_of[static_cast<int>(storage::task_number(t.id))]);

  storage::task_filter by_id;
  by_id.ids = {task_id(2), task_id(10), task_id(404), task_id(2)};
  CHECK(ids_of(*st->tasks(by_id)) == std::vector<std::string>{task_id(10), task_id(2)});

  storage::task_filter queued_only;
  queued_only.states = {task_status::queued};
  CHECK(ids_of(*st->tasks(queued_only)) ==
        std::vector<std::string>{task_id(12), task_id(9), task_id(6), task_id(3)});

  storage::task_filter both;
  both.ids = {task_id(1), task_id(3), task_id(4), task_id(5)};
  both.states = {task_status::success, task_status::executing};
  CHECK(ids_of(*st->tasks(both)) == std::vector<std::string>{task_id(5), task_id(4), task_id(1)});

  storage::task_filter space;
  space.space_id = "Spaces-2";
  space.states = {task_status::success};
  CHECK(ids_of(*st->tasks(space)) == std::vector<std::string>{task_id(10), task_id(4)});

  storage::task_filter nothing;
  nothing.states = {task_status::timed_out};
  CHECK(st->tasks(nothing)->empty());
  CHECK(testing::must(st->highest_task_number()) == 12);
}

TEST_CASE("a task's log holds one line per logged event, in order, and only its own", "[store]") {
  temp_dir dir;
  auto st = open_store(dir / "db");
  // More than 256 lines, so that line numbers need more than one byte of the key.
  std::vector<event_body> bodies{queued, task_started{"n"}};
  for (int i = 0; i < 300; ++i)
    bodies.push_back(message_logged{"Verbose", "line " + std::to_string(i)});
  append_ok(*st, request(task_id(1), 0, {bodies.begin(), bodies.begin() + 100}, t0));
  append_ok(*st, request(task_id(10), 0, {queued, task_started{"other"}}, t0 + 5));
  append_ok(*st, request(task_id(1), 100, {bodies.begin() + 100, bodies.end()}, t0 + 10));
  append_ok(*st,
            request(task_id(1), 302,
                    {task_recorded{"n",
                                   "d",
                                   "",
                                   "{}",
                                   task_status::failed,
                                   1,
                                   2,
                                   3,
                                   "",
                                   false,
                                   {{"Info", 4, "recorded one"}, {"Error", 5, "recorded two"}}},
                     task_succeeded{}},
                    t0 + 20));

  auto events = st->read_stream(task_id(1));
  REQUIRE(events.ok());
  std::vector<log_line> expected;
  for (const auto& e : *events)
    for (auto& l : log_lines_for(e)) expected.push_back(std::move(l));
  REQUIRE(expected.size() == 305);  // task_recorded writes the two lines it carries

  auto lines = st->task_log(task_id(1));
  REQUIRE(lines.ok());
  REQUIRE(lines->size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("line " << i);
    CHECK((*lines)[i].category == expected[i].category);
    CHECK((*lines)[i].occurred_at == expected[i].occurred_at);
    CHECK((*lines)[i].text == expected[i].text);
  }
  CHECK((*lines)[2].text == "line 0");
  CHECK((*lines)[301].text == "line 299");
  CHECK((*lines)[302].text == "recorded one");
  CHECK((*lines)[303].occurred_at == 5);  // a recorded line keeps its own time
  CHECK(st->task(task_id(1))->log_line_count == 305);

  auto other = st->task_log(task_id(10));
  REQUIRE(other.ok());
  REQUIRE(other->size() == 2);
  CHECK(other->back().text == "Task started on other");
  CHECK(st->task_log(task_id(2))->empty());
  check_no_differences(*st);
}

TEST_CASE("maintenance mode follows the system stream, manual and per task", "[store]") {
  temp_dir dir;
  auto st = open_store(dir / "db");
  CHECK_FALSE(testing::must(st->maintenance()).on());
  std::uint64_t v = 0;
  auto system = [&](event_body b) {
    v = append_ok(*st, request(system_stream, v, {b})).last_version;
  };

  system(maintenance_entered{""});
  CHECK(testing::must(st->maintenance()).manual);
  CHECK(testing::must(st->maintenance()).task_id.empty());
  CHECK(testing::must(st->maintenance()).on());

  system(maintenance_entered{task_id(4)});
  CHECK(testing::must(st->maintenance()).manual);
  CHECK(testing::must(st->maintenance()).task_id == task_id(4));

  system(maintenance_left{""});
  CHECK_FALSE(testing::must(st->maintenance()).manual);
  CHECK(testing::must(st->maintenance()).on());  // the task still holds it

  system(maintenance_left{task_id(5)});  // another task's release does not free task 4's hold
  CHECK(testing::must(st->maintenance()).task_id == task_id(4));
  check_no_differences(*st);

  system(maintenance_left{task_id(4)});
  CHECK_FALSE(testing::must(st->maintenance()).on());

  // Several switches in one append land as their net effect.
  append_ok(*st, request(system_stream, v,
                         {maintenance_entered{task_id(6)}, maintenance_entered{""},
                          maintenance_left{task_id(6)}}));
  CHECK(testing::must(st->maintenance()).manual);
  CHECK(testing::must(st->maintenance()).task_id.empty());
  check_no_differences(*st);
}

TEST_CASE(
    "verify_projections passes on a good store and reports a tampered checkpoint, which "
    "rebuild_projections repairs",
    "[store]") {
  temp_dir dir;
  auto st = open_store(dir / "db");
  std::uint64_t sys = 0;
  for (int n = 1; n <= 4; ++n)
    append_ok(*st, request(task_id(n), 0, {queued, task_started{"n"}, warning_raised{"w"}}));
  sys = append_ok(*st, request(system_stream, sys,
                               {maintenance_entered{""}, api_key_created{"k", "user", "hash-k"}}))
            .last_version;
  append_ok(*st, request(system_stream, sys,
                         {api_key_revoked{"k"}, api_key_created{"j", "admin", "hash-j"}}));
  check_no_differences(*st);

  std::string wrong;
  storage::keys::put_u64(wrong, 999);
  REQUIRE(st->put_meta(storage::keys::meta_checkpoint, wrong).ok());
  auto rep = st->verify_projections();
  REQUIRE(rep.ok());
  REQUIRE(rep->differences.size() == 1);
  CHECK_THAT(rep->differences.front(),
             Catch::Contains("checkpoint is 999") &&
                 Catch::Contains("ends at " + std::to_string(st->last_position())));

  auto rebuilt = st->rebuild_projections();
  REQUIRE(rebuilt.ok());
  CHECK(*rebuilt == st->last_position());
  check_no_differences(*st);
  auto cp = testing::must(st->meta(storage::keys::meta_checkpoint));
  REQUIRE(cp);
  CHECK(storage::keys::get_u64(*cp) == st->last_position());

  // The rebuilt read models serve as before, and appends carry on from them.
  for (int n = 1; n <= 4; ++n) check_projection_is_fold(*st, task_id(n));
  CHECK(testing::must(st->maintenance()).manual);
  CHECK_FALSE(testing::must(st->api_key_by_hash("hash-k")));
  CHECK(testing::must(st->api_key_by_hash("hash-j")));
  append_ok(*st, request(task_id(1), 3, {task_succeeded{}}));
  CHECK(st->task(task_id(1))->state == task_status::success);
  check_no_differences(*st);
  CHECK(*st->replay_in_memory() == st->last_position());
}

TEST_CASE("a store closed and reopened keeps everything and carries on the log", "[store]") {
  temp_dir dir;
  std::string before_task, before_log;
  {
    auto st = open_store(dir / "db");
    append_ok(*st,
              request(task_id(7), 0, {queued, task_started{"n"}, message_logged{"Info", "x"}}));
    append_ok(*st,
              request(system_stream, 0,
                      {maintenance_entered{task_id(7)}, api_key_created{"k", "user", "hash-k"}}));
    before_task = encode(*st->task(task_id(7)));
    CHECK(st->last_position() == 5);
  }
  auto st = open_store(dir / "db");
  CHECK(st->last_position() == 5);
  CHECK(st->events_appended() == 0);
  CHECK(encode(*st->task(task_id(7))) == before_task);
  CHECK(st->task_log(task_id(7))->size() == 3);
  CHECK(testing::must(st->maintenance()).task_id == task_id(7));
  REQUIRE(testing::must(st->api_key_by_hash("hash-k")));
  CHECK(testing::must(st->api_key_by_hash("hash-k"))->name == "k");
  CHECK(testing::must(st->stream_version(task_id(7))) == 3);
  CHECK(testing::must(st->highest_task_number()) == 7);
  CHECK(testing::must(st->meta(storage::keys::meta_schema)) == std::optional<std::string>("3"));
  check_no_differences(*st);

  // The reopened store knows the streams' versions: a stale append is still a conflict.
  CHECK(st->append(request(task_id(7), 2, {task_succeeded{}})).err().code == errc::conflict);
  auto a = append_ok(*st, request(task_id(7), 3, {task_succeeded{}}));
  CHECK(a.first_position == 6);
  CHECK(a.last_version == 4);
  check_log_shape(*st);
  check_no_differences(*st);
}

TEST_CASE("a secondary sees the primary's data and catches up with its new appends", "[store]") {
  temp_dir dir;
  auto primary = open_store(dir / "db");
  append_ok(*primary, request(task_id(1), 0, {queued, task_started{"n"}}));

  auto secondary = open_store(dir / "db", open_mode::secondary);
  CHECK(secondary->last_position() == 2);
  CHECK(secondary->task(task_id(1))->state == task_status::executing);

  append_ok(*primary, request(task_id(1), 2, {task_succeeded{}}));
  append_ok(*primary, request(task_id(2), 0, {queued}));
  CHECK(secondary->last_position() == 2);  // a frozen view until it catches up

  REQUIRE(secondary->catch_up().ok());
  CHECK(secondary->last_position() == 4);
  CHECK(secondary->task(task_id(1))->state == task_status::success);
  CHECK(secondary->task(task_id(2))->state == task_status::queued);
  CHECK(secondary->read(1, 10)->size() == 4);
  check_no_differences(*secondary);

  // A secondary never writes.
  auto refused = secondary->append(request(task_id(3), 0, {queued}));
  CHECK(refused.err().code == errc::invalid_argument);
  CHECK(secondary->rebuild_projections().err().code == errc::invalid_argument);
  CHECK(primary->last_position() == 4);

  // A read-only open works next to the running primary, as a frozen view.
  auto frozen = open_store(dir / "db", open_mode::read_only);
  CHECK(frozen->last_position() == 4);
  append_ok(*primary, request(task_id(2), 1, {task_started{"n"}}));
  CHECK(frozen->last_position() == 4);
  REQUIRE(secondary->catch_up().ok());
  CHECK(secondary->last_position() == 5);
}

TEST_CASE("a second read-write open of a store in use fails with an error", "[store]") {
  temp_dir dir;
  auto primary = open_store(dir / "db");
  storage::options o;
  o.db_dir = dir / "db";
  auto second = storage::store::open(o);
  REQUIRE_FALSE(second.ok());
  CHECK(second.err().code == errc::io_error);
  CHECK_THAT(second.err().message, Catch::Contains((dir / "db").string()));
}

TEST_CASE("a missing store cannot be opened read-only or as a secondary", "[store]") {
  temp_dir dir;
  for (auto mode : {open_mode::read_only, open_mode::secondary}) {
    storage::options o;
    o.db_dir = dir / "nothing-here";
    o.mode = mode;
    CHECK_FALSE(storage::store::open(o).ok());
  }
}

TEST_CASE("task numbers come from ServerTasks-N ids only", "[store]") {
  CHECK(storage::task_number("ServerTasks-12") == 12);
  CHECK(storage::task_number("ServerTasks-0") == 0);
  CHECK(storage::task_number("ServerTasks-1x") == 0);
  CHECK(storage::task_number("Tasks-12") == 0);
  CHECK(storage::task_number(system_stream) == 0);
}

TEST_CASE("a store of an older schema rebuilds its read models once, and counts open callbacks",
          "[store]") {
  temp_dir dir;
  {
    auto st = open_store(dir / "db");
    append_ok(*st, request(task_id(3), 0,
                           {queued, task_started{"n"}, task_failed{"x"},
                            callback_scheduled{"failure", "http://127.0.0.1:9/hook"}}));
    // As a schema 2 server would have left it (it counted no callbacks).
    REQUIRE(st->put_meta(storage::keys::meta_schema, "2"));
  }
  auto st = open_store(dir / "db");
  CHECK(testing::must(st->meta(storage::keys::meta_schema)) == std::optional<std::string>("3"));
  CHECK(st->task(task_id(3))->callbacks_pending == 1);
  check_no_differences(*st);
}
