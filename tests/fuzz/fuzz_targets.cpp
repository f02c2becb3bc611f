#include "fuzz_targets.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "events/codec.hpp"
#include "events/time_format.hpp"
#include "http/json_util.hpp"
#include "http/multipart.hpp"
#include "http/server.hpp"

namespace octomig::fuzz {

// A property that does not hold is a finding: abort so that libFuzzer keeps the input.
#define FUZZ_ASSERT(cond)                                        \
  do {                                                           \
    if (!(cond)) {                                               \
      std::fprintf(stderr, "fuzz property failed: %s\n", #cond); \
      std::abort();                                              \
    }                                                            \
  } while (0)

void http_request(const std::uint8_t* data, std::size_t size) {
  std::string_view raw(reinterpret_cast<const char*>(data), size);
  auto r = http::parse_request(raw, 4096, 64 * 1024);
  if (!r) return;
  // Whatever the bytes, the translated request is well-formed for the router.
  FUZZ_ASSERT(!r->method.empty());
  for (char c : r->method) FUZZ_ASSERT(!(c >= 'a' && c <= 'z'));
  for (const auto& [k, v] : r->query)
    for (char c : k) FUZZ_ASSERT(!(c >= 'A' && c <= 'Z'));
  FUZZ_ASSERT(r->body.size() <= 64 * 1024);
}

void json_body(const std::uint8_t* data, std::size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  auto v = http::parse_lenient(body);
  if (!v || !v->is_object()) return;
  auto& o = v->get_object();
  for (const char* field : {"IsInMaintenanceMode", "IsDryRun", "EncryptPackage"}) {
    auto b = http::get_bool(o, field);
    if (!b) FUZZ_ASSERT(b.err().code == errc::invalid_argument);
  }
  // What parsed leniently serialises to strict JSON that parses again.
  auto text = boost::json::serialize(*v);
  boost::json::error_code ec;
  auto again = boost::json::parse(text, ec);
  FUZZ_ASSERT(!ec);
  FUZZ_ASSERT(again == *v);
}

void event_codec(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto e = events::decode(7, bytes);
  if (e) {
    auto again = events::decode(7, events::encode(*e));
    FUZZ_ASSERT(again.ok());
    FUZZ_ASSERT(events::encode(*again) == events::encode(*e));
  } else {
    FUZZ_ASSERT(e.err().code == errc::corruption);
  }
  auto t = events::decode_task_state(bytes);
  if (t) FUZZ_ASSERT(events::decode_task_state(events::encode(*t)).ok());
  auto l = events::decode_log_line(bytes);
  if (l) FUZZ_ASSERT(events::decode_log_line(events::encode(*l)).ok());
  auto b = events::decode_body(bytes);
  if (b) FUZZ_ASSERT(events::decode_body(events::encode_body(*b)).ok());
}

namespace {

// What the multipart parser made of a body: the outcome, the file name and the file's bytes.
struct multipart_outcome {
  bool ok = false;
  bool complete = false;
  std::string file_name;
  std::string data;
  bool operator==(const multipart_outcome& o) const {
    return ok == o.ok && complete == o.complete && file_name == o.file_name && data == o.data;
  }
};

// Feeds body in pieces whose sizes come from `sizes` (cycled; 0 means the whole rest).
multipart_outcome parse_multipart(std::string_view body, const std::vector<std::size_t>& sizes) {
  multipart_outcome out;
  int parts = 0;
  http::multipart_parser p(
      "XyZ",
      [&](const http::file_part& f) {
        ++parts;
        out.file_name = f.file_name;
        return ok_status();
      },
      [&](const char* d, std::size_t n) {
        out.data.append(d, n);
        return ok_status();
      });
  std::size_t pos = 0, i = 0;
  bool fed = true;
  while (pos < body.size() && fed) {
    auto k = sizes.empty() ? 0 : sizes[i++ % sizes.size()];
    if (k == 0 || k > body.size() - pos) k = body.size() - pos;
    fed = p.feed(body.data() + pos, k).ok();
    pos += k;
  }
  auto done = p.finish();
  out.ok = fed && done.ok();
  out.complete = done.ok() && *done;
  FUZZ_ASSERT(parts <= 1);
  return out;
}

}  // namespace

void multipart_body(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto whole = parse_multipart(body, {});
  // The file's bytes are a part of the body: never more than it.
  FUZZ_ASSERT(whole.data.size() <= size);
  if (whole.complete) FUZZ_ASSERT(!whole.file_name.empty());
  // However the body is cut into pieces as it arrives, the result is the same.
  std::vector<std::size_t> sizes;
  for (std::size_t i = 0; i < size && sizes.size() < 16; i += 7) sizes.push_back(1 + data[i] % 23);
  FUZZ_ASSERT(parse_multipart(body, sizes) == whole);
  FUZZ_ASSERT(parse_multipart(body, {1}) == whole);
}

void octopus_date(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  events::timestamp_us t = 0;
  if (!events::parse_octopus_date(text, t)) return;
  // Dates within the years the formatter prints round-trip to the millisecond.
  if (t < 0 || t > 253402300799000000LL) return;
  events::timestamp_us back = 0;
  FUZZ_ASSERT(events::parse_octopus_date(events::octopus_date(t), back));
  FUZZ_ASSERT(back / 1000 == t / 1000);
}

}  // namespace octomig::fuzz
