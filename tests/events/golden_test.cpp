// Golden test of the on-disk event format.
//
// Why: every event is written to disk as its u16 tag followed by its fields in a fixed order (see
// events/codec.hpp). Stores written by earlier builds must stay readable forever, so the tag
// numbers and the field order must never change. This file pins both: the tag of every event type,
// and the exact bytes of one sample of every event type inside a fixed envelope.
//
// If this test fails, the on-disk format changed. Do not edit the literals below to make it pass:
// add a new tag (a new event type) or a new format byte (with a decoder for the old one) instead.
// A new event type must be pinned here too; the build fails until it is.
#include "events/codec.hpp"

#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "events/events.hpp"

using namespace octomig::events;

namespace {

// ---- tags ----

template <class T>
struct pin {
  using type = T;
  const char* name;
  std::uint16_t tag;
};

// Every event type, its name and its tag, as written to disk. Never change a row.
// clang-format off
constexpr auto pinned_tags = std::make_tuple(
    pin<task_queued>{"task_queued", 1},
    pin<task_started>{"task_started", 2},
    pin<step_started>{"step_started", 3},
    pin<step_finished>{"step_finished", 4},
    pin<message_logged>{"message_logged", 5},
    pin<warning_raised>{"warning_raised", 6},
    pin<task_cancel_requested>{"task_cancel_requested", 7},
    pin<task_succeeded>{"task_succeeded", 8},
    pin<task_failed>{"task_failed", 9},
    pin<task_canceled>{"task_canceled", 10},
    pin<task_timed_out>{"task_timed_out", 11},
    pin<task_interrupted>{"task_interrupted", 12},
    pin<task_recorded>{"task_recorded", 13},
    pin<package_built>{"package_built", 14},
    pin<callback_scheduled>{"callback_scheduled", 15},
    pin<documents_collected>{"documents_collected", 16},
    pin<package_pushed>{"package_pushed", 17},
    pin<package_published_locally>{"package_published_locally", 18},
    pin<callback_attempted>{"callback_attempted", 19},
    pin<callback_delivered>{"callback_delivered", 20},
    pin<callback_abandoned>{"callback_abandoned", 21},
    pin<import_planned>{"import_planned", 22},
    pin<import_committed>{"import_committed", 23},
    pin<package_deleted>{"package_deleted", 24},
    pin<maintenance_entered>{"maintenance_entered", 64},
    pin<maintenance_left>{"maintenance_left", 65},
    pin<api_key_created>{"api_key_created", 66},
    pin<api_key_revoked>{"api_key_revoked", 67});
// clang-format on

using pinned_tags_t = std::decay_t<decltype(pinned_tags)>;

template <class T, class Pins>
struct times_pinned;
template <class T, class... P>
struct times_pinned<T, std::tuple<P...>> {
  static constexpr std::size_t value =
      (0u + ... + std::size_t{std::is_same_v<T, typename P::type>});
};

template <class T, class Variant>
struct times_in_variant;
template <class T, class... A>
struct times_in_variant<T, std::variant<A...>> {
  static constexpr std::size_t value = (0u + ... + std::size_t{std::is_same_v<T, A>});
};

// A compile error here names the event type (in the instantiation trace) that is not pinned
// exactly once: add a row for it to pinned_tags and a golden sample to golden_samples().
template <class T>
constexpr bool pinned_exactly_once() {
  static_assert(times_pinned<T, pinned_tags_t>::value == 1,
                "every alternative of events::event_body must appear exactly once in pinned_tags");
  static_assert(times_in_variant<T, event_body>::value == 1,
                "every type in pinned_tags must be an alternative of events::event_body");
  return true;
}

template <std::size_t... I>
constexpr bool every_alternative_pinned(std::index_sequence<I...>) {
  return (pinned_exactly_once<std::variant_alternative_t<I, event_body>>() && ...);
}
template <class... P>
constexpr bool every_pin_an_alternative(std::tuple<P...>*) {
  return (pinned_exactly_once<typename P::type>() && ...);
}

static_assert(std::tuple_size_v<pinned_tags_t> == std::variant_size_v<event_body>,
              "pinned_tags must have one row per alternative of events::event_body");
static_assert(
    every_alternative_pinned(std::make_index_sequence<std::variant_size_v<event_body>>{}));
static_assert(every_pin_an_alternative(static_cast<pinned_tags_t*>(nullptr)));

template <class F>
void for_each_pin(F&& f) {
  std::apply([&](const auto&... p) { (f(p), ...); }, pinned_tags);
}

// ---- bytes ----

constexpr std::uint64_t golden_position = 42;
constexpr const char* golden_task_stream = "ServerTasks-7";
constexpr const char* golden_system_stream = "system";
constexpr std::uint64_t golden_stream_version = 3;
constexpr timestamp_us golden_timestamp = 1490043617205123;

struct golden {
  const char* stream;
  event_body sample;
  const char* hex;  // events::encode of the envelope, lower-case hex
};

// One sample of every event type and its encoded envelope. Never change a row's bytes.
std::vector<golden> golden_samples() {
  const char* task = golden_task_stream;
  const char* system = golden_system_stream;
  return {
      {task,
       task_queued{"MigrationPartialExport", "Export Spaces-1 to the caf\xc3\xa9 server",
                   "Spaces-1", R"({"PackageId":"export-1","Password":"[redacted]"})", 3600000},
       "01010d000000000000005365727665725461736b732d37030000000000000083db80d02f4b0500"
       "010016000000000000004d6967726174696f6e5061727469616c4578706f7274"
       "23000000000000004578706f7274205370616365732d3120746f207468652063"
       "6166c3a92073657276657208000000000000005370616365732d313000000000"
       "0000007b225061636b6167654964223a226578706f72742d31222c2250617373"
       "776f7264223a225b72656461637465645d227d80ee360000000000"},
      {task, task_started{"octo-node-2"},
       "01010d000000000000005365727665725461736b732d37030000000000000083db80d02f4b0500"
       "02000b000000000000006f63746f2d6e6f64652d32"},
      {task, step_started{"Collect documents"},
       "01010d000000000000005365727665725461736b732d37030000000000000083db80d02f4b0500"
       "03001100000000000000436f6c6c65637420646f63756d656e7473"},
      {task, step_finished{"Collect documents", "421 documents in 3 spaces"},
       "01010d000000000000005365727665725461736b732d37030000000000000083db80d02f4b0500"
       "04001100000000000000436f6c6c65637420646f63756d656e74731900000000"
       "00000034323120646f63756d656e747320696e203320737061636573"},
      {task, message_logged{"Highlight", "Exported 12 projects \xe2\x86\x92 package"},
       "01010d000000000000005365727665725461736b732d37030000000000000083db80d02f4b0500"
       "05000900000000000000486967686c6967687420000000000000004578706f72"
       "7465642031322070726f6a6563747320e28692207061636b616765"},
      {task, warning_raised{"Project \"Web\" has no lifecycle"},
       "01010d000000000000005365727665725461736b732d37030000000000000083db80d02f4b0500"
       "06001e0000000000000050726f6a65637420225765622220686173206e6f206c"
       "6966656379636c65"},
      {task, task_cancel_requested{"API key ci-robot"},
       "01010d000000000000005365727665725461736b732d37030000000000000083db80d02f4b0500"
       "07001000000000000000415049206b65792063692d726f626f74"},
      {task, task_succeeded{},
       "01010d000000000000005365727665725461736b732d37030000000000000083db80d02f4b0500"
       "0800"},
      {task, task_failed{"disk full: /var/lib/octomig"},
       "01010d000000000000005365727665725461736b732d37030000000000000083db80d02f4b0500"
       "09001b000000000000006469736b2066756c6c3a202f7661722f6c69622f6f63"
       "746f6d6967"},
      {task, task_canceled{},
       "01010d000000000000005365727665725461736b732d37030000000000000083db80d02f4b0500"
       "0a00"},
      {task, task_timed_out{7200000},
       "01010d000000000000005365727665725461736b732d37030000000000000083db80d02f4b0500"
       "0b0000dd6d0000000000"},
      {task, task_interrupted{"The server restarted while the task was executing."},
       "01010d000000000000005365727665725461736b732d37030000000000000083db80d02f4b0500"
       "0c00320000000000000054686520736572766572207265737461727465642077"
       "68696c6520746865207461736b2077617320657865637574696e672e"},
      {task,
       task_recorded{"MigrationImport",
                     "Imported from seed",
                     "Spaces-2",
                     R"({"a":1})",
                     task_status::failed,
                     1490043600000000,
                     1490043601000000,
                     1490043617000000,
                     "boom",
                     true,
                     {{"Info", 1490043601500000, "Step 1: collect"},
                      {"Error", 1490043616999999, "na\xc3\xafve failure"}}},
       "01010d000000000000005365727665725461736b732d37030000000000000083db80d02f4b0500"
       "0d000f000000000000004d6967726174696f6e496d706f727412000000000000"
       "00496d706f727465642066726f6d207365656408000000000000005370616365"
       "732d3207000000000000007b2261223a317d0300547acf2f4b0500409689cf2f"
       "4b050040ba7dd02f4b05000400000000000000626f6f6d010200000000000000"
       "0400000000000000496e666f603791cf2f4b05000f0000000000000053746570"
       "20313a20636f6c6c65637405000000000000004572726f723fba7dd02f4b0500"
       "0e000000000000006e61c3af7665206661696c757265"},
      {task,
       package_built{"Octopus.Space.Migration.1.0.0.zip", 1048593,
                     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", true},
       "01010d000000000000005365727665725461736b732d37030000000000000083db80d02f4b0500"
       "0e0021000000000000004f63746f7075732e53706163652e4d6967726174696f"
       "6e2e312e302e302e7a6970110010000000000040000000000000006533623063"
       "3434323938666331633134396166626634633839393666623932343237616534"
       "31653436343962393334636134393539393162373835326238353501"},
      {task, callback_scheduled{"success", "https://hooks.example.com/migrated?id=7"},
       "01010d000000000000005365727665725461736b732d37030000000000000083db80d02f4b0500"
       "0f00070000000000000073756363657373270000000000000068747470733a2f"
       "2f686f6f6b732e6578616d706c652e636f6d2f6d696772617465643f69643d37"},
      {task, documents_collected{{{"Projects", 2}, {"Environments", 3}}, 4, 1},
       "01010d000000000000005365727665725461736b732d37030000000000000083db80d02f4b0500"
       "10000200000000000000080000000000000050726f6a65637473020000000000"
       "00000c00000000000000456e7669726f6e6d656e747303000000000000000400"
       "0000000000000100000000000000"},
      {task, package_pushed{"https://dest.example", "Spaces-2", 1048593, 2, true},
       "01010d000000000000005365727665725461736b732d37030000000000000083db80d02f4b0500"
       "1100140000000000000068747470733a2f2f646573742e6578616d706c650800"
       "0000000000005370616365732d3211001000000000000200000001"},
      {task, package_published_locally{"Spaces-1", "Octopus.Space.Migration", "1.0.0", 1048593},
       "01010d000000000000005365727665725461736b732d37030000000000000083db80d02f4b0500"
       "120008000000000000005370616365732d3117000000000000004f63746f7075"
       "732e53706163652e4d6967726174696f6e0500000000000000312e302e301100"
       "100000000000"},
      {task, callback_attempted{"failure", 3, 503, "503 Service Unavailable"},
       "01010d000000000000005365727665725461736b732d37030000000000000083db80d02f4b0500"
       "130007000000000000006661696c75726503000000f701000017000000000000"
       "00353033205365727669636520556e617661696c61626c65"},
      {task, callback_delivered{"success", 200},
       "01010d000000000000005365727665725461736b732d37030000000000000083db80d02f4b0500"
       "1400070000000000000073756363657373c8000000"},
      {task, callback_abandoned{"failure", "no answer after 8 attempts"},
       "01010d000000000000005365727665725461736b732d37030000000000000083db80d02f4b0500"
       "150007000000000000006661696c7572651a000000000000006e6f20616e7377"
       "6572206166746572203820617474656d707473"},
      {task, import_planned{{{"Projects", 2, 1, 0}, {"Environments", 0, 0, 3}}, 4, 1, true},
       "01010d000000000000005365727665725461736b732d37030000000000000083"
       "db80d02f4b050016000200000000000000080000000000000050726f6a656374"
       "730200000000000000010000000000000000000000000000000c000000000000"
       "00456e7669726f6e6d656e747300000000000000000000000000000000030000"
       "00000000000400000000000000010000000000000001"},
      {task, import_committed{12, 1, 3, 4},
       "01010d000000000000005365727665725461736b732d37030000000000000083"
       "db80d02f4b050017000c00000000000000010000000000000003000000000000"
       "000400000000000000"},
      {task, package_deleted{"Spaces-1", "Octopus.Space.Migration", "1.0.0"},
       "01010d000000000000005365727665725461736b732d37030000000000000083"
       "db80d02f4b0500180008000000000000005370616365732d3117000000000000"
       "004f63746f7075732e53706163652e4d6967726174696f6e0500000000000000"
       "312e302e30"},
      {system, maintenance_entered{"ServerTasks-7"},
       "0101060000000000000073797374656d030000000000000083db80d02f4b0500"
       "40000d000000000000005365727665725461736b732d37"},
      {system, maintenance_left{"ServerTasks-7"},
       "0101060000000000000073797374656d030000000000000083db80d02f4b0500"
       "41000d000000000000005365727665725461736b732d37"},
      {system,
       api_key_created{"ci-robot", "admin",
                       "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"},
       "0101060000000000000073797374656d030000000000000083db80d02f4b0500"
       "4200080000000000000063692d726f626f74050000000000000061646d696e40"
       "0000000000000030663165326433633462356136393738383739366135623463"
       "3364326531663030663165326433633462356136393738383739366135623463"
       "33643265316630"},
      {system, api_key_revoked{"ci-robot"},
       "0101060000000000000073797374656d030000000000000083db80d02f4b0500"
       "4300080000000000000063692d726f626f74"},
  };
}

envelope golden_envelope(const golden& g) {
  return envelope{golden_position, g.stream, golden_stream_version, golden_timestamp, g.sample};
}

std::string to_hex(const std::string& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 0xf];
  }
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string from_hex(const std::string& hex) {
  bool valid = hex.size() % 2 == 0;
  std::string out;
  for (std::size_t i = 0; valid && i < hex.size(); i += 2) {
    const int hi = hex_digit(hex[i]);
    const int lo = hex_digit(hex[i + 1]);
    valid = hi >= 0 && lo >= 0;
    out += static_cast<char>(hi * 16 + lo);
  }
  INFO("not lower-case hex: " << hex);
  REQUIRE(valid);
  return out;
}

}  // namespace

TEST_CASE("every event type's tag and name are pinned", "[golden]") {
  for_each_pin([](const auto& p) {
    using T = typename std::decay_t<decltype(p)>::type;
    INFO(p.name);
    CHECK(std::string(event_traits<T>::name) == p.name);
    CHECK(event_traits<T>::tag == p.tag);
    CHECK(std::string(type_name(event_body{T{}})) == p.name);
    CHECK(type_tag(event_body{T{}}) == p.tag);
  });
}

TEST_CASE("no two event types share a tag or a name", "[golden]") {
  std::map<std::uint16_t, std::string> by_tag;
  std::set<std::string> names;
  for_each_pin([&](const auto& p) {
    using T = typename std::decay_t<decltype(p)>::type;
    INFO(p.name << " has tag " << p.tag);
    const auto [it, inserted] = by_tag.emplace(event_traits<T>::tag, event_traits<T>::name);
    INFO("already used by " << it->second);
    CHECK(inserted);
    CHECK(names.insert(event_traits<T>::name).second);
  });
  CHECK(by_tag.size() == std::variant_size_v<event_body>);
}

TEST_CASE("every event type has exactly one golden sample", "[golden]") {
  const auto goldens = golden_samples();
  std::map<std::size_t, int> samples_of;
  for (const auto& g : goldens) ++samples_of[g.sample.index()];
  for_each_pin([&](const auto& p) {
    using T = typename std::decay_t<decltype(p)>::type;
    INFO("golden_samples() must hold exactly one sample of " << p.name);
    CHECK(samples_of[event_body{T{}}.index()] == 1);
  });
  CHECK(goldens.size() == std::variant_size_v<event_body>);
}

TEST_CASE("every golden sample encodes to its pinned bytes", "[golden]") {
  for (const auto& g : golden_samples()) {
    INFO(type_name(g.sample));
    CHECK(to_hex(encode(golden_envelope(g))) == g.hex);
  }
}

TEST_CASE("the pinned bytes decode to the same event, which re-encodes to them", "[golden]") {
  for (const auto& g : golden_samples()) {
    INFO(type_name(g.sample));
    const std::string bytes = from_hex(g.hex);
    auto back = decode(golden_position, bytes);
    REQUIRE(back.ok());
    CHECK(back->position == golden_position);
    CHECK(back->stream == g.stream);
    CHECK(back->stream_version == golden_stream_version);
    CHECK(back->timestamp == golden_timestamp);
    CHECK(std::string(type_name(back->body)) == type_name(g.sample));
    CHECK(back->body.index() == g.sample.index());
    CHECK(encode_body(back->body) == encode_body(g.sample));
    CHECK(to_hex(encode(*back)) == g.hex);
  }
}
