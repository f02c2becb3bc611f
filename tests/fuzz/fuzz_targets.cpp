#include "fuzz_targets.hpp"

#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "events/codec.hpp"
#include "events/time_format.hpp"
#include "http/json_util.hpp"
#include "http/multipart.hpp"
#include "http/server.hpp"
#include "migration/import_plan.hpp"
#include "package/package.hpp"

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

namespace {

// The folder of this process's package file and decrypted payloads; removed at a normal exit.
struct package_scratch {
  std::filesystem::path dir;
  std::filesystem::path file;
  package_scratch() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "octomig-fuzz-package-XXXXXX").string();
    FUZZ_ASSERT(::mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
    file = dir / "input.zip";
  }
  ~package_scratch() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

// Key derivation above this is slow and memory-hungry by design (the reader accepts up to 1 GiB):
// such an input is read up to the unlock only.
constexpr std::uint64_t fuzz_max_memlimit = std::uint64_t{64} << 20;

bool cheap_kdf(const boost::json::object& manifest) {
  const auto* kdf = manifest.if_contains("Kdf");
  if (!kdf || !kdf->is_object()) return false;
  const auto* mem = kdf->get_object().if_contains("MemLimit");
  if (!mem) return false;
  if (mem->is_uint64()) return mem->get_uint64() <= fuzz_max_memlimit;
  return mem->is_int64() && mem->get_int64() >= 0 &&
         static_cast<std::uint64_t>(mem->get_int64()) <= fuzz_max_memlimit;
}

}  // namespace

void migration_package(const std::uint8_t* data, std::size_t size) {
  static package_scratch scratch;
  {
    std::ofstream out(scratch.file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    FUZZ_ASSERT(out.good());
  }
  auto r = package::reader::open(scratch.file, {}, scratch.dir);
  if (!r) {
    // Whatever the bytes: not a package (or damaged), never another kind of failure.
    FUZZ_ASSERT(r.err().code == errc::invalid_argument);
    return;
  }
  auto& p = **r;
  for (const auto& [name, bytes] : p.entries()) FUZZ_ASSERT(!name.empty());
  if (auto s = p.verify_digests(); !s) FUZZ_ASSERT(s.err().code == errc::corruption);
  if (!cheap_kdf(p.manifest())) return;
  auto unlocked = p.unlock("fuzz");
  if (!unlocked) {
    FUZZ_ASSERT(unlocked.err().code == errc::invalid_argument ||
                unlocked.err().code == errc::corruption);
    return;
  }
  // The manifest is authentic from here on: what the entries hold is checked as they are read.
  std::uint64_t documents = 0, logs = 0;
  auto docs = p.for_each_document(
      [&](const std::string& collection, const std::string& id, boost::json::object) {
        FUZZ_ASSERT(!collection.empty() && !id.empty());
        ++documents;
        return ok_status();
      });
  if (docs) {
    std::uint64_t counted = 0;
    for (const auto& kv : p.manifest().at("Counts").get_object())
      counted += kv.value().is_uint64() ? kv.value().get_uint64()
                                        : static_cast<std::uint64_t>(kv.value().get_int64());
    FUZZ_ASSERT(documents == counted);
  } else {
    FUZZ_ASSERT(docs.err().code == errc::corruption);
  }
  auto tasks = p.for_each_task_log([&](const std::string& task_id, boost::json::value) {
    FUZZ_ASSERT(!task_id.empty());
    ++logs;
    return ok_status();
  });
  if (tasks) {
    const auto& listed = p.manifest().at("TaskLogs");
    FUZZ_ASSERT(logs == (listed.is_uint64() ? listed.get_uint64()
                                            : static_cast<std::uint64_t>(listed.get_int64())));
  } else {
    FUZZ_ASSERT(tasks.err().code == errc::corruption);
  }
}

namespace {

// A destination held in maps, as the fuzz input describes it.
class map_destination final : public migration::destination_view {
 public:
  std::map<std::tuple<std::string, std::string, std::string>, std::string>
      names;  // coll, owner, name
  std::set<std::pair<std::string, std::string>> ids;
  std::map<std::string, std::string> imported;

  result<std::optional<std::string>> id_by_name(const std::string&, const std::string& collection,
                                                const std::string& owner,
                                                const std::string& name) const override {
    auto it = names.find({collection, owner, name});
    if (it == names.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  result<bool> exists(const std::string&, const std::string& collection,
                      const std::string& id) const override {
    return ids.count({collection, id}) > 0;
  }
  result<std::uint64_t> counter(const std::string&) const override { return std::uint64_t{7}; }
  result<std::optional<std::string>> imported_as(const std::string& source) const override {
    auto it = imported.find(source);
    if (it == imported.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  result<bool> task_exists(const std::string& id) const override {
    return ids.count({"ServerTasks", id}) > 0;
  }
  result<std::uint64_t> first_task_number(std::uint64_t count) const override {
    FUZZ_ASSERT(count > 0);
    return std::uint64_t{100};
  }
};

std::string text_at(const boost::json::array& a, std::size_t i) {
  return i < a.size() && a[i].is_string() ? std::string(a[i].get_string()) : std::string();
}

}  // namespace

void import_plan(const std::uint8_t* data, std::size_t size) {
  boost::json::error_code ec;
  auto v = boost::json::parse(std::string_view(reinterpret_cast<const char*>(data), size), ec);
  if (ec || !v.is_object()) return;
  const auto& in = v.get_object();
  auto array_of = [&](const char* field) {
    auto* a = in.if_contains(field);
    return a && a->is_array() ? a->get_array() : boost::json::array();
  };
  std::vector<migration::package_document> docs;
  for (const auto& d : array_of("Documents")) {
    if (!d.is_array() || d.get_array().size() < 3 || !d.get_array()[2].is_object()) continue;
    docs.push_back(
        {text_at(d.get_array(), 0), text_at(d.get_array(), 1), d.get_array()[2].get_object()});
  }
  std::vector<std::string> tasks;
  for (const auto& t : array_of("Tasks"))
    if (t.is_string()) tasks.emplace_back(t.get_string());
  std::vector<migration::left_out_entry> left_out;
  for (const auto& l : array_of("LeftOut"))
    if (l.is_array())
      left_out.push_back({text_at(l.get_array(), 0), text_at(l.get_array(), 1),
                          text_at(l.get_array(), 2), text_at(l.get_array(), 3)});
  map_destination dest;
  for (const auto& e : array_of("Existing")) {
    if (!e.is_array()) continue;
    const auto& a = e.get_array();
    dest.ids.insert({text_at(a, 0), text_at(a, 1)});
    dest.names[{text_at(a, 0), text_at(a, 3), text_at(a, 2)}] = text_at(a, 1);
  }
  if (auto* m = in.if_contains("Imported"); m && m->is_object())
    for (const auto& kv : m->get_object())
      if (kv.value().is_string()) dest.imported[kv.key()] = std::string(kv.value().get_string());
  migration::import_options o;
  auto* over = in.if_contains("Overwrite");
  o.overwrite = over && over->is_bool() && over->get_bool();
  const auto count = docs.size();
  auto plan = migration::plan_import(std::move(docs), tasks, left_out, dest, o);
  // The destination never fails and nothing stops the plan: it always comes back.
  FUZZ_ASSERT(plan.ok());
  FUZZ_ASSERT(plan->documents.size() + plan->problems.size() >= count ||
              plan->documents.size() <= count);
  for (const auto& d : plan->documents) {
    FUZZ_ASSERT(!d.id.empty());
    if (d.action == migration::import_action::skip) {
      FUZZ_ASSERT(d.body.empty());
      continue;
    }
    if (!plan->problems.empty()) continue;  // a failed plan's bodies are never written
    auto* id = d.body.if_contains("Id");
    FUZZ_ASSERT(id && id->is_string() && id->get_string() == d.id);
  }
  for (const auto& t : plan->tasks) FUZZ_ASSERT(!t.id.empty());
}

}  // namespace octomig::fuzz
