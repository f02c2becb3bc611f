// The journal's group commit, through a real actor system and store.
#include <atomic>
#include <set>

#include "actors/journal.hpp"
#include "engine_fixture.hpp"
#include "runtime/clock.hpp"

using namespace octomig;

TEST_CASE("concurrent appenders through the journal get durable, gapless positions", "[journal]") {
  test::temp_dir dir;
  auto s = storage::store::open({dir.path / "db", storage::open_mode::read_write, {}, true});
  REQUIRE(s.ok());
  auto& st = *s.value();
  caf::actor_system_config cfg;
  cfg.add_message_types<caf::id_block::octomig>();
  std::uint64_t positions_seen = 0;
  actors::journal_stats stats;
  {
    caf::actor_system sys{cfg};
    actors::journal_options opts;
    opts.stats = &stats;
    auto journal = actors::spawn_journal(sys, st, opts);
    constexpr int writers = 16, per_writer = 20;
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    std::mutex mu;
    std::set<std::uint64_t> positions;
    for (int w = 0; w < writers; ++w) {
      threads.emplace_back([&, w] {
        caf::scoped_actor self{sys};
        std::string stream = "ServerTasks-" + std::to_string(w + 1);
        for (int i = 0; i < per_writer; ++i) {
          storage::append_request r;
          r.stream = stream;
          r.expected_version = static_cast<std::uint64_t>(i);
          if (i == 0)
            r.events.push_back(events::task_queued{"Test", "d", "Spaces-1", "{}", 0});
          else
            r.events.push_back(events::message_logged{"Info", "line " + std::to_string(i)});
          r.timestamp = runtime::now_us();
          self->request(journal, std::chrono::seconds(10), actors::append_atom::value, r)
              .receive(
                  [&](actors::append_reply& a) {
                    if (!a) {
                      ++failures;
                      return;
                    }
                    std::lock_guard<std::mutex> lock(mu);
                    positions.insert(a->first_position);
                  },
                  [&](caf::error&) { ++failures; });
        }
      });
    }
    for (auto& t : threads) t.join();
    caf::anon_send(journal, actors::stop_atom::value);
    CHECK(failures == 0);
    positions_seen = positions.size();
    REQUIRE(positions_seen == static_cast<std::uint64_t>(writers * per_writer));
    CHECK(*positions.begin() == 1);
    CHECK(*positions.rbegin() == static_cast<std::uint64_t>(writers * per_writer));
  }
  CHECK(stats.requests == positions_seen);
  CHECK(stats.batches <= stats.requests);
  auto report = st.verify_projections();
  REQUIRE(report.ok());
  CHECK(report->differences.empty());
}

TEST_CASE("the journal refuses an append against a stale stream version", "[journal]") {
  test::temp_dir dir;
  auto s = storage::store::open({dir.path / "db", storage::open_mode::read_write, {}, true});
  REQUIRE(s.ok());
  caf::actor_system_config cfg;
  cfg.add_message_types<caf::id_block::octomig>();
  caf::actor_system sys{cfg};
  auto journal = actors::spawn_journal(sys, *s.value());
  caf::scoped_actor self{sys};
  storage::append_request r;
  r.stream = "ServerTasks-1";
  r.expected_version = 0;
  r.events.push_back(events::task_queued{"Test", "d", "Spaces-1", "{}", 0});
  auto send = [&] {
    std::optional<actors::append_reply> out;
    self->request(journal, std::chrono::seconds(10), actors::append_atom::value, r)
        .receive([&](actors::append_reply& a) { out = a; }, [&](caf::error&) {});
    REQUIRE(out.has_value());
    return *out;
  };
  REQUIRE(send().ok());
  auto second = send();
  REQUIRE_FALSE(second.ok());
  CHECK(second.err().code == errc::conflict);
  CHECK(testing::must(s.value()->stream_version("ServerTasks-1")) == 1);
  caf::anon_send(journal, actors::stop_atom::value);
}
