// The on-disk codec: every event round-trips, and damaged bytes are reported, never trusted.
#include "events/codec.hpp"

#include <sys/resource.h>

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <set>
#include <string>

#include "events/json.hpp"
#include "tests/support/sample_events.hpp"

using namespace octomig;
using namespace octomig::events;
using octomig::testing::sample_envelope;
using octomig::testing::sample_events;
using octomig::testing::type_c;

namespace {

// Events have no operator==: two bodies are equal when they encode to the same bytes (every field
// is written), and their JSON views agree as a second, independent reading.
void check_same(const envelope& got, const envelope& want) {
  CHECK(got.position == want.position);
  CHECK(got.stream == want.stream);
  CHECK(got.stream_version == want.stream_version);
  CHECK(got.timestamp == want.timestamp);
  REQUIRE(got.body.index() == want.body.index());
  CHECK(encode_body(got.body) == encode_body(want.body));
  CHECK(boost::json::serialize(to_json(got)) == boost::json::serialize(to_json(want)));
}

void check_corrupt(const result<envelope>& r, std::uint64_t position) {
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().code == errc::corruption);
  CHECK_THAT(r.err().message, Catch::Contains("position " + std::to_string(position)));
}

// Byte offset of the u16 type tag in an encoded envelope: cereal's endianness byte, the format
// byte, the stream (u64 length + bytes), the stream version and the timestamp come first.
std::size_t tag_offset(const envelope& e) {
  return 1 + 1 + 8 + e.stream.size() + 8 + 8;
}

// Offset of the stream's u64 length field.
constexpr std::size_t stream_length_offset = 2;

void put_le(std::string& bytes, std::size_t at, std::uint64_t v, int width) {
  for (int i = 0; i < width; ++i) bytes[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

task_state full_task_state() {
  task_state s;
  s.id = "ServerTasks-123456";
  s.version = 99;
  s.name = "MigrationPartialExport";
  s.description = std::string("with a NUL \0 inside", 19);
  s.space_id = "Spaces-3";
  s.arguments_json = R"({"PackageId":"p"})";
  s.state = task_status::cancelling;
  s.queue_time = 1490043617205123;
  s.start_time = 1490043618000000;
  s.completed_time = -5;
  s.last_updated = 1490043619000001;
  s.error_message = "nothing yet";
  s.has_warnings_or_errors = true;
  s.time_limit_ms = 600000;
  s.server_node = "node-2";
  s.current_step = "Build package";
  s.log_line_count = 0xfffffffe;
  return s;
}

}  // namespace

TEST_CASE("every event type has its own tag and its own name", "[codec]") {
  std::set<std::uint16_t> tags;
  std::set<std::string> names;
  std::size_t types = 0;
  octomig::testing::for_each_event_type([&](auto t) {
    using T = typename decltype(t)::type;
    ++types;
    INFO(event_traits<T>::name);
    CHECK(event_traits<T>::tag != 0);
    CHECK(tags.insert(event_traits<T>::tag).second);
    CHECK(names.insert(event_traits<T>::name).second);
    CHECK(type_tag(event_body{T{}}) == event_traits<T>::tag);
    CHECK(std::string(type_name(event_body{T{}})) == event_traits<T>::name);
  });
  CHECK(types == std::variant_size_v<event_body>);
}

TEST_CASE("every event type round-trips through the envelope codec", "[codec]") {
  octomig::testing::for_each_event_type([](auto t) {
    using T = typename decltype(t)::type;
    INFO(event_traits<T>::name);
    const envelope e = sample_envelope(T{}, 17);
    auto bytes = encode(e);
    auto back = decode(17, bytes);
    REQUIRE(back.ok());
    CHECK(std::holds_alternative<T>(back->body));
    check_same(*back, e);
    CHECK(encode(*back) == bytes);
  });
}

TEST_CASE("every event type has a sample with non-trivial field values", "[codec]") {
  std::set<std::size_t> covered;
  for (const auto& b : sample_events()) covered.insert(b.index());
  octomig::testing::for_each_event_type([&](auto t) {
    using T = typename decltype(t)::type;
    INFO("add a sample of " << event_traits<T>::name << " to tests/support/sample_events.cpp");
    CHECK(covered.count(event_body{T{}}.index()) == 1);
  });
}

TEST_CASE("sample events keep every field through the envelope and body codecs", "[codec]") {
  std::uint64_t position = 1;
  for (const auto& body : sample_events()) {
    INFO(type_name(body) << " " << summary(body).substr(0, 200));
    const envelope e = sample_envelope(body, position);
    auto back = decode(position, encode(e));
    REQUIRE(back.ok());
    check_same(*back, e);

    auto body_back = decode_body(encode_body(body));
    REQUIRE(body_back.ok());
    CHECK(body_back->index() == body.index());
    CHECK(encode_body(*body_back) == encode_body(body));
    ++position;
  }
}

TEST_CASE("decoded events hold exactly the values that were encoded", "[codec]") {
  SECTION("task_queued, with a NUL in a string and the largest time limit") {
    task_queued q{"MigrationImport", std::string("a\0b", 3), "Spaces-9", R"({"x":[1,2]})",
                  std::numeric_limits<std::int64_t>::max()};
    auto back = decode(5, encode(envelope{5, "ServerTasks-5", 1, -1, q}));
    REQUIRE(back.ok());
    CHECK(back->timestamp == -1);
    const auto& got = std::get<task_queued>(back->body);
    CHECK(got.name == q.name);
    CHECK(got.description == std::string("a\0b", 3));
    CHECK(got.space_id == q.space_id);
    CHECK(got.arguments_json == q.arguments_json);
    CHECK(got.time_limit_ms == q.time_limit_ms);
  }
  SECTION("task_recorded, every field") {
    task_recorded r{"n",
                    "d",
                    "Spaces-1",
                    "{}",
                    task_status::failed,
                    1,
                    2,
                    3,
                    "boom",
                    true,
                    {{"Info", 2, "first"}, {"Error", 3, "second \xc3\xa9"}}};
    auto back = decode_body(encode_body(r));
    REQUIRE(back.ok());
    const auto& got = std::get<task_recorded>(*back);
    CHECK(got.name == "n");
    CHECK(got.description == "d");
    CHECK(got.space_id == "Spaces-1");
    CHECK(got.arguments_json == "{}");
    CHECK(got.final_state == task_status::failed);
    CHECK(got.queue_time == 1);
    CHECK(got.start_time == 2);
    CHECK(got.completed_time == 3);
    CHECK(got.error_message == "boom");
    CHECK(got.has_warnings_or_errors);
    REQUIRE(got.log.size() == 2);
    CHECK(got.log[0].category == "Info");
    CHECK(got.log[0].occurred_at == 2);
    CHECK(got.log[0].text == "first");
    CHECK(got.log[1].category == "Error");
    CHECK(got.log[1].occurred_at == 3);
    CHECK(got.log[1].text == "second \xc3\xa9");
  }
  SECTION("api_key_created keeps the hash") {
    auto back = decode_body(encode_body(api_key_created{"k", "admin", "abc123"}));
    REQUIRE(back.ok());
    const auto& got = std::get<api_key_created>(*back);
    CHECK(got.name == "k");
    CHECK(got.role == "admin");
    CHECK(got.key_hash == "abc123");
  }
  SECTION("task_timed_out keeps a negative limit") {
    auto back = decode_body(encode_body(task_timed_out{-42}));
    REQUIRE(back.ok());
    CHECK(std::get<task_timed_out>(*back).time_limit_ms == -42);
  }
}

TEST_CASE("a task state round-trips through the codec with every field", "[codec]") {
  const task_state s = full_task_state();
  auto bytes = encode(s);
  auto back = decode_task_state(bytes);
  REQUIRE(back.ok());
  CHECK(back->id == s.id);
  CHECK(back->version == s.version);
  CHECK(back->name == s.name);
  CHECK(back->description == s.description);
  CHECK(back->space_id == s.space_id);
  CHECK(back->arguments_json == s.arguments_json);
  CHECK(back->state == s.state);
  CHECK(back->queue_time == s.queue_time);
  CHECK(back->start_time == s.start_time);
  CHECK(back->completed_time == s.completed_time);
  CHECK(back->last_updated == s.last_updated);
  CHECK(back->error_message == s.error_message);
  CHECK(back->has_warnings_or_errors == s.has_warnings_or_errors);
  CHECK(back->time_limit_ms == s.time_limit_ms);
  CHECK(back->server_node == s.server_node);
  CHECK(back->current_step == s.current_step);
  CHECK(back->log_line_count == s.log_line_count);
  CHECK(encode(*back) == bytes);
}

TEST_CASE("a log line round-trips through the codec", "[codec]") {
  const log_line l{"Highlight", -1490043617205123, "done \xe2\x9c\x93 with \"quotes\""};
  auto back = decode_log_line(encode(l));
  REQUIRE(back.ok());
  CHECK(back->category == l.category);
  CHECK(back->occurred_at == l.occurred_at);
  CHECK(back->text == l.text);
}

TEST_CASE("an envelope cut short at any length is reported as corruption with its position",
          "[codec][corruption]") {
  std::uint64_t position = 1000;
  for (const auto& body : sample_events()) {
    const auto bytes = encode(sample_envelope(body, position));
    INFO(type_name(body) << ", " << bytes.size() << " bytes");
    // Every prefix of the small encodings; for the 70 kB one, the head and a stride through it.
    const std::size_t step = bytes.size() <= 4096 ? 1 : 997;
    for (std::size_t len = 0; len < bytes.size(); len += (len < 64 ? 1 : step)) {
      INFO("prefix of " << len << " bytes");
      check_corrupt(decode(position, std::string_view(bytes).substr(0, len)), position);
    }
    ++position;
  }
}

TEST_CASE("an empty buffer is corruption, not an empty event", "[codec][corruption]") {
  check_corrupt(decode(3, std::string_view()), 3);
  CHECK(decode_body(std::string_view()).err().code == errc::corruption);
  CHECK(decode_task_state(std::string_view()).err().code == errc::corruption);
  CHECK(decode_log_line(std::string_view()).err().code == errc::corruption);
}

TEST_CASE("an unknown format byte is reported as corruption", "[codec][corruption]") {
  auto bytes = encode(sample_envelope(task_succeeded{}, 8));
  REQUIRE(bytes[1] == 1);  // the format byte follows cereal's endianness byte
  for (int flipped : {0, 2, 0xfe}) {
    bytes[1] = static_cast<char>(flipped);
    auto r = decode(8, bytes);
    check_corrupt(r, 8);
    CHECK_THAT(r.err().message, Catch::Contains("unknown format " + std::to_string(flipped)));
  }
  auto state = encode(full_task_state());
  state[1] ^= 0x40;
  CHECK(decode_task_state(state).err().code == errc::corruption);
  auto line = encode(log_line{"Info", 1, "x"});
  line[1] ^= 0x40;
  CHECK(decode_log_line(line).err().code == errc::corruption);
}

TEST_CASE("an unknown event tag is reported as corruption naming the tag", "[codec][corruption]") {
  const envelope e = sample_envelope(task_failed{"x"}, 31);
  auto bytes = encode(e);
  const std::size_t at = tag_offset(e);
  REQUIRE(static_cast<unsigned char>(bytes[at]) == event_traits<task_failed>::tag);
  REQUIRE(bytes[at + 1] == 0);
  put_le(bytes, at, 999, 2);
  auto r = decode(31, bytes);
  check_corrupt(r, 31);
  CHECK_THAT(r.err().message, Catch::Contains("unknown event tag 999"));

  // The same for a bare body: its tag follows the endianness byte.
  auto body = encode_body(task_failed{"x"});
  put_le(body, 1, 999, 2);
  auto rb = decode_body(body);
  REQUIRE_FALSE(rb.ok());
  CHECK(rb.err().code == errc::corruption);
  CHECK_THAT(rb.err().message, Catch::Contains("999"));
}

TEST_CASE("bytes after a complete value are reported as corruption", "[codec][corruption]") {
  auto r = decode(12, encode(sample_envelope(task_canceled{}, 12)) + std::string(1, '\0'));
  check_corrupt(r, 12);
  CHECK_THAT(r.err().message, Catch::Contains("trailing bytes"));
  CHECK(decode_body(encode_body(task_canceled{}) + "x").err().code == errc::corruption);
  CHECK(decode_task_state(encode(full_task_state()) + "x").err().code == errc::corruption);
  CHECK(decode_log_line(encode(log_line{"Info", 1, "x"}) + "x").err().code == errc::corruption);
}

TEST_CASE("a task state or log line cut short at any length is corruption", "[codec][corruption]") {
  const auto state = encode(full_task_state());
  for (std::size_t len = 0; len < state.size(); ++len) {
    INFO("prefix of " << len << " bytes");
    auto r = decode_task_state(std::string_view(state).substr(0, len));
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().code == errc::corruption);
  }
  const auto line = encode(log_line{"Warning", 77, "some text"});
  for (std::size_t len = 0; len < line.size(); ++len) {
    INFO("prefix of " << len << " bytes");
    auto r = decode_log_line(std::string_view(line).substr(0, len));
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().code == errc::corruption);
  }
}

TEST_CASE("a huge string length in a short buffer is corruption and allocates nothing like it",
          "[codec][corruption]") {
  // A damaged length field must not make the decoder reserve what the input does not hold: with
  // a claim near the machine's memory, that would be an abort or the OOM killer instead of an
  // error.
  const envelope e = sample_envelope(task_started{"node"}, 64);
  auto bytes = encode(e);
  REQUIRE(static_cast<std::size_t>(bytes[stream_length_offset]) == e.stream.size());
  put_le(bytes, stream_length_offset, std::uint64_t{1} << 30, 8);  // claims a 1 GiB stream id

  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  auto r = decode(64, bytes);
  rusage after{};
  getrusage(RUSAGE_SELF, &after);
  check_corrupt(r, 64);
  CHECK(after.ru_maxrss - before.ru_maxrss < 64 * 1024);  // KiB: well under the 1 GiB claimed

  for (int shift : {40, 62, 63}) {  // beyond memory, beyond max_size, negative as a signed size
    put_le(bytes, stream_length_offset, std::uint64_t{1} << shift, 8);
    check_corrupt(decode(64, bytes), 64);
  }
}

TEST_CASE("a huge log length in a recorded task is corruption and allocates nothing like it",
          "[codec][corruption]") {
  // The log is the last field, so its length is the body's last 8 bytes when the log is empty.
  task_recorded r{"Deploy", "d", "Spaces-1", "{}", task_status::success, 1, 2, 3, "", false, {}};
  auto body = encode_body(r);
  REQUIRE(body.size() > 8);
  const std::size_t log_length_offset = body.size() - 8;
  for (int shift : {20, 40, 62, 63}) {  // a million lines, beyond memory, beyond max_size, negative
    put_le(body, log_length_offset, std::uint64_t{1} << shift, 8);
    rusage before{};
    getrusage(RUSAGE_SELF, &before);
    auto back = decode_body(body);
    rusage after{};
    getrusage(RUSAGE_SELF, &after);
    REQUIRE_FALSE(back.ok());
    CHECK(back.err().code == errc::corruption);
    CHECK(after.ru_maxrss - before.ru_maxrss < 64 * 1024);  // KiB
  }
}

TEST_CASE("random garbage never crashes the decoders", "[codec][corruption]") {
  std::mt19937_64 rng(20260125);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<std::size_t> length(0, 160);
  int refused = 0;
  const int rounds = 3000;
  for (int i = 0; i < rounds; ++i) {
    std::string junk(length(rng), '\0');
    for (auto& c : junk) c = static_cast<char>(byte(rng));
    // Half the rounds start like a real envelope so that the decoder gets past the format byte.
    if (i % 2 == 1 && junk.size() >= 2) {
      junk[0] = 1;
      junk[1] = 1;
    }
    auto r = decode(static_cast<std::uint64_t>(i), junk);
    if (!r.ok()) {
      ++refused;
      CHECK(r.err().code == errc::corruption);
      CHECK_THAT(r.err().message, Catch::Contains("position " + std::to_string(i)));
    }
    auto b = decode_body(junk);
    if (!b.ok()) CHECK(b.err().code == errc::corruption);
    auto s = decode_task_state(junk);
    if (!s.ok()) CHECK(s.err().code == errc::corruption);
    auto l = decode_log_line(junk);
    if (!l.ok()) CHECK(l.err().code == errc::corruption);
  }
  CHECK(refused == rounds);  // random bytes are no envelope

  // Valid encodings with a few bytes flipped: decoded or refused, never a crash.
  const auto samples = sample_events();
  std::uniform_int_distribution<std::size_t> pick(0, samples.size() - 1);
  for (int i = 0; i < 3000; ++i) {
    auto bytes = encode(sample_envelope(samples[pick(rng)], 5));
    if (bytes.size() > 4096) continue;
    std::uniform_int_distribution<std::size_t> where(0, bytes.size() - 1);
    for (int flips = 0; flips < 3; ++flips)
      bytes[where(rng)] ^= static_cast<char>(1 + byte(rng) % 255);
    auto r = decode(5, bytes);
    if (!r.ok()) check_corrupt(r, 5);
  }
}
