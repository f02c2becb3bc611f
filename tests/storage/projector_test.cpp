// The read models as a function of the log: what one append writes must be what a replay builds,
// whatever the events of the append are and in whatever order they come.
#include "storage/projector.hpp"

#include <catch2/catch.hpp>

#include "events/codec.hpp"
#include "tests/support/must.hpp"
#include "tests/support/store_helpers.hpp"
#include "tests/support/temp_dir.hpp"

using namespace octomig;
using namespace octomig::events;
using octomig::testing::append_ok;
using octomig::testing::open_store;
using octomig::testing::request;
using octomig::testing::temp_dir;

namespace {

void check_no_differences(const storage::store& st) {
  auto rep = st.verify_projections();
  REQUIRE(rep.ok());
  INFO("differences:\n" << octomig::testing::lines(rep->differences));
  CHECK(rep->differences.empty());
}

std::vector<std::string> names(const std::vector<storage::api_key_record>& keys) {
  std::vector<std::string> out;
  for (const auto& k : keys) out.push_back(k.name + "=" + k.key_hash);
  return out;
}

}  // namespace

TEST_CASE("a key revoked and created again under its name in one append leaves only the new key",
          "[projector]") {
  temp_dir dir;
  auto st = open_store(dir / "db");
  auto v = append_ok(*st, request(system_stream, 0, {api_key_created{"ci", "user", "hash-1"}}))
               .last_version;
  REQUIRE(testing::must(st->api_key_by_hash("hash-1")));

  // Rotation: the old key must stop working in the same write that brings the new one.
  append_ok(*st, request(system_stream, v,
                         {api_key_revoked{"ci"}, api_key_created{"ci", "user", "hash-2"}}));
  CHECK_FALSE(testing::must(st->api_key_by_hash("hash-1")));
  REQUIRE(testing::must(st->api_key_by_hash("hash-2")));
  CHECK(testing::must(st->api_key_by_hash("hash-2"))->name == "ci");
  CHECK(names(testing::must(st->api_keys())) == std::vector<std::string>{"ci=hash-2"});
  check_no_differences(*st);
}

TEST_CASE("every key revoked within one append is gone, however often the name was reused",
          "[projector]") {
  temp_dir dir;
  auto st = open_store(dir / "db");
  auto v = append_ok(*st, request(system_stream, 0, {api_key_created{"ci", "user", "hash-1"}}))
               .last_version;
  append_ok(*st, request(system_stream, v,
                         {api_key_revoked{"ci"}, api_key_created{"ci", "user", "hash-2"},
                          api_key_revoked{"ci"}, api_key_created{"ci", "admin", "hash-3"},
                          api_key_created{"tmp", "user", "hash-t"}, api_key_revoked{"tmp"}}));
  CHECK_FALSE(testing::must(st->api_key_by_hash("hash-1")));
  CHECK_FALSE(testing::must(st->api_key_by_hash("hash-2")));
  CHECK_FALSE(testing::must(st->api_key_by_hash("hash-t")));
  REQUIRE(testing::must(st->api_key_by_hash("hash-3")));
  CHECK(testing::must(st->api_key_by_hash("hash-3"))->role == "admin");
  CHECK(names(testing::must(st->api_keys())) == std::vector<std::string>{"ci=hash-3"});
  check_no_differences(*st);
}

TEST_CASE("a projector fed the log from nothing builds the rows the store wrote", "[projector]") {
  temp_dir dir;
  auto st = open_store(dir / "db");
  append_ok(*st, request("ServerTasks-3", 0,
                         {task_queued{"T", "d", "Spaces-1", "{}", 0}, task_started{"n"},
                          message_logged{"Info", "hello"}}));
  append_ok(*st, request(system_stream, 0,
                         {maintenance_entered{"ServerTasks-3"}, api_key_created{"k", "user", "h"}},
                         1234));

  storage::projector p(storage::projector::base{});
  auto log = st->read(1, 100);
  REQUIRE(log.ok());
  for (const auto& e : *log) p.apply(e);
  CHECK(p.checkpoint == 5);
  CHECK(p.highest_task_number == 3);
  REQUIRE(p.tasks.count("ServerTasks-3") == 1);
  CHECK(events::encode(p.tasks.at("ServerTasks-3")) == events::encode(*st->task("ServerTasks-3")));
  CHECK(p.log_lines.size() == 3);
  REQUIRE(p.maintenance);
  CHECK(p.maintenance->task_id == "ServerTasks-3");
  REQUIRE(p.api_keys_by_name.at("k"));
  CHECK(p.api_keys_by_name.at("k")->created == 1234);
  CHECK(p.api_keys_by_name.at("k")->key_hash == "h");
}

TEST_CASE("maintenance and key records round-trip through their encodings", "[projector]") {
  storage::maintenance_state m{true, "ServerTasks-9"};
  auto back = testing::must(storage::decode_maintenance(storage::encode(m)));
  CHECK(back.manual);
  CHECK(back.task_id == "ServerTasks-9");

  storage::api_key_record r{"ci \"robot\"", "admin", "abcdef", 1490043617000000, "Users-7"};
  auto rec = storage::decode_api_key(storage::encode(r));
  REQUIRE(rec);
  CHECK(rec->name == r.name);
  CHECK(rec->role == r.role);
  CHECK(rec->key_hash == r.key_hash);
  CHECK(rec->created == r.created);
  CHECK(rec->user_id == "Users-7");
}

TEST_CASE("a damaged maintenance or key row decodes as corruption, never as a default",
          "[projector]") {
  // A maintenance row that does not decode must not read as "off": callers fail closed on it.
  for (const char* bad : {"not json", "{}", R"({"Manual":"yes","TaskId":""})", R"([true])"}) {
    INFO(bad);
    auto m = storage::decode_maintenance(bad);
    REQUIRE_FALSE(m.ok());
    CHECK(m.err().code == errc::corruption);
  }
  for (const char* bad :
       {"[1,2", R"({"Name":"ci","Role":"admin","Hash":"h","Created":1})",
        R"({"Name":"ci","Role":"root","Hash":"h","Created":1,"UserId":"Users-1"})"}) {
    INFO(bad);
    auto k = storage::decode_api_key(bad);
    REQUIRE_FALSE(k.ok());
    CHECK(k.err().code == errc::corruption);
  }
}
