// Runs every fuzz target over valid seeds and a bounded number of deterministic mutations of
// them, so that the ordinary test suite exercises the parsers with hostile input too.
#include <sodium.h>
#include <unistd.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "events/codec.hpp"
#include "fuzz_targets.hpp"
#include "package/package.hpp"
#include "tests/support/must.hpp"
#include "tests/support/temp_dir.hpp"

using namespace octomig;

namespace {

using target_fn = void (*)(const std::uint8_t*, std::size_t);

std::string mutate(const std::string& seed, std::mt19937_64& rng) {
  std::string s = seed;
  int edits = 1 + static_cast<int>(rng() % 8);
  for (int i = 0; i < edits; ++i) {
    switch (rng() % 6) {
      case 0:  // flip a bit
        if (!s.empty()) s[rng() % s.size()] ^= static_cast<char>(1u << (rng() % 8));
        break;
      case 1:  // truncate
        if (!s.empty()) s.resize(rng() % s.size());
        break;
      case 2:  // insert a random byte
        s.insert(s.begin() + static_cast<long>(s.empty() ? 0 : rng() % s.size()),
                 static_cast<char>(rng()));
        break;
      case 3:  // duplicate a slice
        if (!s.empty()) {
          auto at = rng() % s.size();
          s.insert(at, s.substr(at, rng() % 16));
        }
        break;
      case 4:  // interesting byte
        if (!s.empty()) s[rng() % s.size()] = "\0\xff\x7f\r\n:,{}\"%"[rng() % 12];
        break;
      default:  // overwrite 8 bytes with a large number (length fields)
        if (s.size() >= 8) {
          auto at = rng() % (s.size() - 7);
          for (int k = 0; k < 8; ++k) s[at + k] = static_cast<char>(0xff);
        }
    }
  }
  return s;
}

void run(target_fn target, const std::vector<std::string>& seeds, int mutations) {
  std::mt19937_64 rng(20261125);
  for (const auto& s : seeds) target(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
  for (int i = 0; i < mutations; ++i) {
    auto m = mutate(seeds[static_cast<std::size_t>(i) % seeds.size()], rng);
    target(reinterpret_cast<const std::uint8_t*>(m.data()), m.size());
  }
}

}  // namespace

TEST_CASE("the HTTP request parser survives mutated requests", "[fuzz]") {
  run(fuzz::http_request,
      {"GET /api/tasks?skip=0&take=30&ids=ServerTasks-1,ServerTasks-2 HTTP/1.1\r\nHost: x\r\n"
       "X-Octopus-ApiKey: API-ABC\r\n\r\n",
       "POST /api/maintenanceconfiguration?ApiKey=API-X HTTP/1.1\r\nHost: x\r\n"
       "X-HTTP-Method-Override: put\r\nContent-Length: 27\r\n\r\n{\"IsInMaintenanceMode\":true}",
       "POST /api/packages/raw HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
       "5\r\nhello\r\n0\r\n\r\n",
       "GET /api/%53paces-1/tasks/%zz?a+b=c%20d HTTP/1.0\r\n\r\n"},
      20000);
  SUCCEED("no crash, no hang, every property held");
}

TEST_CASE("the lenient JSON parser survives mutated bodies", "[fuzz]") {
  run(fuzz::json_body,
      {"{\"IsInMaintenanceMode\": \"true\", // comment\n}",
       "{\"PackageId\":\"a\",\"IsDryRun\":\"TRUE\",/* c */\"Password\":\"x\",}",
       "[1,2,{\"a\":[null,true,false,1.5e300]}]", "{\"EncryptPackage\":1}"},
      20000);
  SUCCEED("no crash, no hang, every property held");
}

TEST_CASE("the event decoder survives mutated stored bytes", "[fuzz]") {
  std::vector<std::string> seeds;
  seeds.push_back(events::encode(
      events::envelope{1, "ServerTasks-1", 1, 1700000000000000,
                       events::task_queued{"Test", "d", "Spaces-1", "{\"a\":1}", 5}}));
  seeds.push_back(events::encode(events::envelope{
      2, "system", 3, 1, events::api_key_created{"admin", "admin", std::string(64, 'a')}}));
  seeds.push_back(events::encode(events::envelope{
      3, "ServerTasks-2", 2, 2,
      events::task_recorded{"Deploy",
                            "x",
                            "Spaces-1",
                            "{}",
                            events::task_status::success,
                            1,
                            2,
                            3,
                            "",
                            false,
                            {{"Info", 2, "Deploying"}, {"Highlight", 3, "Done"}}}}));
  events::task_state t;
  t.id = "ServerTasks-9";
  t.name = "Test";
  seeds.push_back(events::encode(t));
  seeds.push_back(events::encode(events::log_line{"Info", 5, "hello"}));
  run(fuzz::event_codec, seeds, 20000);
  SUCCEED("no crash, no hang, every property held");
}

TEST_CASE("the date parser survives mutated dates", "[fuzz]") {
  run(fuzz::octopus_date,
      {"2017-03-20T21:00:17.205+00:00", "2026-11-25T14:00:00Z", "1999-12-31T23:59:59.999999-05:30"},
      20000);
  SUCCEED("no crash, no hang, every property held");
}

TEST_CASE("the multipart parser survives mutated uploads and ignores how they are cut", "[fuzz]") {
  run(fuzz::multipart_body,
      {"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"A.1.0.0.zip\"\r\n"
       "Content-Type: application/zip\r\n\r\nPK\r\n--XyZ-not-yet\r\n--XyZ--\r\n",
       "preamble\r\n--XyZ \t\r\nContent-Disposition: form-data; name=a\r\n\r\ntext\r\n--XyZ\r\n"
       "content-disposition: form-data; name=b; filename*=UTF-8''B%2E1.0.0.zip\r\n\r\n\r\n\r\n"
       "--XyZ--",
       "--XyZ\r\n\r\nno headers\r\n--XyZ\r\nContent-Disposition: form-data; filename=\"\"\r\n"
       "\r\nx\r\n--XyZ--\r\n"},
      20000);
  SUCCEED("no crash, no hang, every property held");
}

namespace {

namespace json = boost::json;

// A small package as the exporter writes it, with the fuzz target's password and the cheapest key
// derivation: documents (one with a sealed value) and task logs.
std::string sample_package(const octomig::testing::temp_dir& dir, bool encrypt) {
  package::writer_options o;
  o.file = dir / (encrypt ? "Encrypted.1.0.0.zip" : "Plain.1.0.0.zip");
  o.package_id = encrypt ? "Encrypted" : "Plain";
  o.package_version = "1.0.0";
  o.producer_version = "2026.1.0";
  o.source_installation_id = "fuzz-installation";
  o.encrypt = encrypt;
  o.options = json::object{{"IncludeTaskLogs", true}};
  o.kdf = package::min_kdf_limits;
  o.created_at = 1700000000000000;
  auto w = testing::must(package::writer::create(o, "fuzz"));
  auto schema = [](const char* name) {
    const auto* c = migration::find_collection(name);
    REQUIRE(c != nullptr);
    return *c;
  };
  testing::must(w->add_document(
      schema("Projects"), "Projects-1",
      json::parse(R"({"Id":"Projects-1","Name":"Alpha","SpaceId":"Spaces-1"})").as_object()));
  testing::must(w->add_document(
      schema("Projects"), "Projects-2",
      json::parse(R"({"Id":"Projects-2","Name":"Beta","Description":"ünïcode"})").as_object()));
  auto account = json::parse(R"({"Id":"Accounts-1","Name":"Login","AccountType":"UsernamePassword",
      "Username":"deploy"})")
                     .as_object();
  account["Password"] = json::object{{"HasValue", true}, {"NewValue", "secret-value"}};
  testing::must(w->add_document(schema("Accounts"), "Accounts-1", account));
  testing::must(
      w->add_task_log("ServerTasks-1", json::parse(R"({"State":"Success","Log":["a","b"]})")));
  w->set_left_out(json::array{});
  auto written = testing::must(w->finish());
  std::ifstream in(written.file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The seed reads completely: the mutations start from a package the whole reader walks.
void require_readable(const octomig::testing::temp_dir& dir, const std::string& bytes,
                      int expected_documents, int expected_logs) {
  auto file = dir / "check.zip";
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  auto r = testing::must(package::reader::open(file));
  REQUIRE(r->verify_digests().ok());
  REQUIRE(r->unlock("fuzz").ok());
  int documents = 0, logs = 0;
  REQUIRE(r->for_each_document([&](const std::string&, const std::string&, json::object) {
             ++documents;
             return ok_status();
           }).ok());
  REQUIRE(r->for_each_task_log([&](const std::string&, json::value) {
             ++logs;
             return ok_status();
           }).ok());
  REQUIRE(documents == expected_documents);
  REQUIRE(logs == expected_logs);
}

struct labelled {
  std::string label;  // what was done to which seed, for a report
  std::string bytes;
};

// Offsets of every local header, central directory header and end of central directory record.
std::vector<std::pair<std::size_t, std::size_t>> zip_headers(const std::string& s) {
  std::vector<std::pair<std::size_t, std::size_t>> out;  // offset, fixed header length
  for (std::size_t at = 0; at + 4 <= s.size(); ++at) {
    if (s.compare(at, 4, "PK\x03\x04") == 0) out.emplace_back(at, 30);
    if (s.compare(at, 4, "PK\x01\x02") == 0) out.emplace_back(at, 46);
    if (s.compare(at, 4, "PK\x05\x06") == 0) out.emplace_back(at, 22);
    if (s.compare(at, 4, "PK\x06\x06") == 0) out.emplace_back(at, 56);
    if (s.compare(at, 4, "PK\x06\x07") == 0) out.emplace_back(at, 20);
  }
  return out;
}

// Deterministic mutations of one seed: bit flips sampled over the file and one in every byte of the
// zip headers, the headers' fields set to edge values, truncations, insertions and random edits.
std::vector<labelled> package_mutations(const std::string& name, const std::string& seed) {
  std::vector<labelled> out;
  const std::size_t n = seed.size();
  auto add = [&](std::string label, std::string bytes) {
    out.push_back({name + ": " + std::move(label), std::move(bytes)});
  };
  for (std::size_t i = 0; i < n; i += 1 + n / 400) {
    auto m = seed;
    m[i] ^= static_cast<char>(1u << (i % 8));
    add("bit " + std::to_string(i % 8) + " of byte " + std::to_string(i) + " flipped", m);
  }
  for (const auto& [at, len] : zip_headers(seed)) {
    for (std::size_t i = at + 4; i < std::min(n, at + len); ++i) {
      auto m = seed;
      m[i] ^= static_cast<char>(1u << ((i * 3) % 8));
      add("bit " + std::to_string((i * 3) % 8) + " of header byte " + std::to_string(i) +
              " flipped",
          m);
    }
    // A 32-bit edge value written at every even offset of the fixed part: each 16- and 32-bit
    // field (sizes, offsets, counts, lengths) gets 0, 1 and huge values.
    for (std::size_t f = at + 4; f + 2 <= std::min(n, at + len); f += 2) {
      for (std::uint32_t v : {0u, 1u, 0xffffffffu, 0x7fffffffu}) {
        auto m = seed;
        for (std::size_t k = 0; k < 4 && f + k < std::min(n, at + len); ++k)
          m[f + k] = static_cast<char>((v >> (8 * k)) & 0xff);
        add("4 bytes at " + std::to_string(f) + " set to " + std::to_string(v), m);
      }
    }
  }
  for (std::size_t len = 0; len < n; len += 1 + n / 300)
    add("cut to " + std::to_string(len), seed.substr(0, len));
  for (std::size_t k = 1; k <= 64 && k <= n; ++k)
    add("cut to " + std::to_string(n - k), seed.substr(0, n - k));
  for (std::size_t i = 0; i <= n; i += 1 + n / 200) {
    auto m = seed;
    m.insert(m.begin() + static_cast<long>(i), static_cast<char>(i % 2 ? 0xff : 0x00));
    add("a byte inserted at " + std::to_string(i), m);
  }
  std::mt19937_64 rng(20261130);
  for (int i = 0; i < 600; ++i) add("random edits #" + std::to_string(i), mutate(seed, rng));
  return out;
}

// ---- packages as a hostile author makes them ----
//
// Whoever exports a package knows its password, so everything the reader checks only after unlock
// (the documents, the task logs, the inner zip of an encrypted payload, the manifest's Counts and
// Entries) is theirs to choose. These helpers write packages by the contract
// (docs/package-format.md) with libsodium and zlib directly, so that mutations behind the MAC and
// the secretstream reach the reader authenticated.

using entry_list = std::vector<std::pair<std::string, std::string>>;  // name, bytes

void put16(std::string& s, std::uint32_t v) {
  s += static_cast<char>(v & 0xff);
  s += static_cast<char>((v >> 8) & 0xff);
}
void put32(std::string& s, std::uint32_t v) {
  put16(s, v & 0xffff);
  put16(s, v >> 16);
}

std::uint32_t crc32_of(const std::string& bytes) {
  std::uint32_t c = 0xffffffffu;
  for (unsigned char b : bytes) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}

// A zip of stored regular files, as any zip tool could write it.
std::string stored_zip(const entry_list& entries) {
  std::string out, central;
  for (const auto& [name, bytes] : entries) {
    const auto offset = static_cast<std::uint32_t>(out.size());
    const auto crc = crc32_of(bytes);
    const auto size = static_cast<std::uint32_t>(bytes.size());
    const auto name_len = static_cast<std::uint32_t>(name.size());
    out += "PK\x03\x04";
    for (std::uint32_t v : {20u, 0u, 0u, 0u, 0x21u}) put16(out, v);  // version .. date
    for (std::uint32_t v : {crc, size, size}) put32(out, v);
    put16(out, name_len);
    put16(out, 0);
    out += name;
    out += bytes;
    central += "PK\x01\x02";
    for (std::uint32_t v : {0x314u, 20u, 0u, 0u, 0u, 0x21u}) put16(central, v);  // made by unix
    for (std::uint32_t v : {crc, size, size}) put32(central, v);
    for (std::uint32_t v : {name_len, 0u, 0u, 0u, 0u}) put16(central, v);
    put32(central, 0100644u << 16);
    put32(central, offset);
    central += name;
  }
  const auto cd_offset = static_cast<std::uint32_t>(out.size());
  out += central;
  out += "PK\x05\x06";
  for (std::uint32_t v : {0u, 0u, static_cast<std::uint32_t>(entries.size()),
                          static_cast<std::uint32_t>(entries.size())})
    put16(out, v);
  put32(out, static_cast<std::uint32_t>(central.size()));
  put32(out, cd_offset);
  put16(out, 0);
  return out;
}

// bytes as one raw deflate stream (no zlib header), as the encrypted payload holds its inner zip.
std::string raw_deflate(const std::string& bytes, int level = 1) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, level, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&zs, bytes.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  zs.avail_in = static_cast<uInt>(bytes.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string hex_of(const unsigned char* p, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

std::string sha256_hex(const std::string& bytes) {
  unsigned char d[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(d, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return hex_of(d, sizeof d);
}

std::string keyed_hash_hex(const std::string& bytes, const unsigned char* key) {
  unsigned char d[32];
  crypto_generichash(d, sizeof d, reinterpret_cast<const unsigned char*>(bytes.data()),
                     bytes.size(), key, 32);
  return hex_of(d, sizeof d);
}

// The subkeys of the password "fuzz" with a fixed salt and libsodium's minimum cost.
struct author {
  unsigned char salt[16];
  unsigned char payload[32], check[32], mac[32];
  author() {
    REQUIRE(sodium_init() >= 0);
    for (unsigned i = 0; i < sizeof salt; ++i) salt[i] = static_cast<unsigned char>(i * 17 + 3);
    unsigned char root[32];
    REQUIRE(crypto_pwhash(root, sizeof root, "fuzz", 4, salt, package::min_kdf_limits.opslimit,
                          package::min_kdf_limits.memlimit, crypto_pwhash_ALG_ARGON2ID13) == 0);
    crypto_kdf_derive_from_key(payload, 32, 2, "octomig1", root);
    crypto_kdf_derive_from_key(check, 32, 3, "octomig1", root);
    crypto_kdf_derive_from_key(mac, 32, 4, "octomig1", root);
  }
  std::string salt_base64() const {
    char out[64];
    sodium_bin2base64(out, sizeof out, salt, sizeof salt, sodium_base64_VARIANT_ORIGINAL);
    return out;
  }
  // header, full chunks tagged MESSAGE, the rest tagged FINAL
  std::string encrypt(const std::string& plain) const {
    crypto_secretstream_xchacha20poly1305_state st;
    unsigned char header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
    crypto_secretstream_xchacha20poly1305_init_push(&st, header, payload);
    std::string out(reinterpret_cast<const char*>(header), sizeof header);
    std::size_t at = 0;
    while (true) {
      const std::size_t n = std::min<std::size_t>(65536, plain.size() - at);
      const bool last = n < 65536;
      std::string chunk(n + crypto_secretstream_xchacha20poly1305_ABYTES, '\0');
      crypto_secretstream_xchacha20poly1305_push(
          &st, reinterpret_cast<unsigned char*>(chunk.data()), nullptr,
          reinterpret_cast<const unsigned char*>(plain.data() + at), n, nullptr, 0,
          last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
      out += chunk;
      at += n;
      if (last) return out;
    }
  }
};

const author& the_author() {
  static const author a;
  return a;
}

// The manifest an honest writer would make for these entries (for an encrypted package, the
// payload alone is listed).
json::object manifest_for(const entry_list& listed, bool encrypted, const entry_list& contents) {
  const auto& a = the_author();
  json::object counts;
  std::uint64_t task_logs = 0;
  for (const auto& [name, bytes] : contents) {
    if (name.rfind("documents/", 0) == 0) {
      auto collection = name.substr(10, name.find('/', 10) - 10);
      counts[collection] = (counts.contains(collection) ? counts[collection].as_int64() : 0) + 1;
    } else if (name.rfind("tasklogs/", 0) == 0) {
      ++task_logs;
    }
  }
  json::object entries;
  for (const auto& [name, bytes] : listed) entries[name] = sha256_hex(bytes);
  return json::object{
      {"Format", "octomig-migration/1"},
      {"ProducerVersion", "2026.1.0"},
      {"SourceInstallationId", "fuzz-installation"},
      {"CreatedAt", "2023-11-14T22:13:20.000+00:00"},
      {"PackageId", "Authored"},
      {"PackageVersion", "1.0.0"},
      {"Options", json::object{}},
      {"Counts", counts},
      {"TaskLogs", task_logs},
      {"LeftOut", json::array{}},
      {"Kdf", json::object{{"Algorithm", "argon2id13"},
                           {"OpsLimit", package::min_kdf_limits.opslimit},
                           {"MemLimit", package::min_kdf_limits.memlimit},
                           {"Salt", a.salt_base64()}}},
      {"PasswordCheck", keyed_hash_hex("octomig-migration/1 password check", a.check)},
      {"Encrypted", encrypted},
      {"Entries", entries},
  };
}

// The outer zip: the manifest (these exact bytes), its MAC, then the entries.
std::string signed_package(const std::string& manifest_bytes, const entry_list& entries) {
  entry_list all{{"manifest.json", manifest_bytes},
                 {"manifest.mac", keyed_hash_hex(manifest_bytes, the_author().mac)}};
  all.insert(all.end(), entries.begin(), entries.end());
  return stored_zip(all);
}

using manifest_edit = std::function<void(json::object&)>;

std::string authored_plain(const entry_list& contents, const manifest_edit& edit = {}) {
  auto m = manifest_for(contents, false, contents);
  if (edit) edit(m);
  return signed_package(json::serialize(m), contents);
}

// An encrypted package around these bytes, deflated (contents: what the manifest counts).
std::string authored_encrypted_deflated(const std::string& deflated, const entry_list& contents,
                                        const manifest_edit& edit = {}) {
  entry_list payload{{"payload.bin", the_author().encrypt(deflated)}};
  auto m = manifest_for(payload, true, contents);
  if (edit) edit(m);
  return signed_package(json::serialize(m), payload);
}

// An encrypted package around these inner zip bytes (contents: what the manifest counts).
std::string authored_encrypted(const std::string& inner_zip, const entry_list& contents,
                               const manifest_edit& edit = {}) {
  return authored_encrypted_deflated(raw_deflate(inner_zip), contents, edit);
}

entry_list authored_contents() {
  return {
      {"documents/Projects/Projects-1.json", R"({"Id":"Projects-1","Name":"Alpha"})"},
      {"documents/Projects/Projects-2.json", R"({"Id":"Projects-2","Name":"Beta"})"},
      {"documents/Accounts/Accounts-1.json",
       R"({"Id":"Accounts-1","Password":{"MigrationSealed":"AAAA"}})"},
      {"tasklogs/ServerTasks-1.json", R"({"State":"Success","Log":["a"]})"},
  };
}

// Every value of the manifest, at any depth, replaced in turn by each of these.
std::vector<json::value> hostile_values() {
  std::vector<json::value> out;
  out.emplace_back(nullptr);
  out.emplace_back(true);
  out.emplace_back(-1);
  out.emplace_back(0);
  out.emplace_back(std::int64_t{1} << 62);
  out.emplace_back(std::numeric_limits<std::uint64_t>::max());
  out.emplace_back(1.5);
  out.emplace_back(1e300);
  out.emplace_back("");
  out.emplace_back("x");
  out.emplace_back(std::string(100000, 'a'));
  out.emplace_back(json::array{});
  out.emplace_back(json::array{1, "a"});
  out.emplace_back(json::object{});
  out.emplace_back(json::object{{"../x.json", std::string(64, '0')}});
  return out;
}

void each_path(json::value& v, std::vector<json::value*>& out) {
  out.push_back(&v);
  if (v.is_object())
    for (auto& kv : v.as_object()) each_path(kv.value(), out);
  else if (v.is_array())
    for (auto& x : v.as_array()) each_path(x, out);
}

std::vector<labelled> authored_inputs() {
  std::vector<labelled> out;
  auto add = [&](std::string label, std::string bytes) {
    out.push_back({"authored " + std::move(label), std::move(bytes)});
  };
  const auto contents = authored_contents();
  const auto inner = stored_zip(contents);
  add("unencrypted package", authored_plain(contents));
  add("encrypted package", authored_encrypted(inner, contents));

  // Every manifest value replaced by each hostile value, the manifest signed.
  for (bool encrypted : {false, true}) {
    const auto kind = std::string(encrypted ? "encrypted" : "unencrypted");
    const entry_list payload_only{{"payload.bin", "x"}};
    json::value probe = manifest_for(encrypted ? payload_only : contents, encrypted, contents);
    std::vector<json::value*> paths;
    each_path(probe, paths);
    for (std::size_t i = 1; i < paths.size(); ++i) {
      for (const auto& hostile : hostile_values()) {
        auto edit = [&](json::object& m) {
          json::value whole = m;
          std::vector<json::value*> at;
          each_path(whole, at);
          if (i < at.size()) *at[i] = hostile;
          m = whole.as_object();
        };
        add(kind + " package, manifest value #" + std::to_string(i) + " set to " +
                json::serialize(hostile).substr(0, 40),
            encrypted ? authored_encrypted(inner, contents, edit) : authored_plain(contents, edit));
      }
    }
  }
  // The manifest text mutated byte by byte, then signed.
  {
    std::mt19937_64 rng(7001);
    const auto text = json::serialize(manifest_for(contents, false, contents));
    for (int i = 0; i < 400; ++i)
      add("unencrypted package, manifest text random edits #" + std::to_string(i),
          signed_package(mutate(text, rng), contents));
  }
  // Hostile entries, listed with their true digests.
  const std::vector<std::pair<std::string, entry_list>> hostile_entries = {
      {"a document that is no JSON", {{"documents/Projects/Projects-1.json", "{\"Id\":"}}},
      {"a document that is an array", {{"documents/Projects/Projects-1.json", "[1,2]"}}},
      {"an empty document", {{"documents/Projects/Projects-1.json", ""}}},
      {"a deeply nested document",
       {{"documents/Projects/Projects-1.json", std::string(100000, '[')}}},
      {"a document of 4 MiB",
       {{"documents/Projects/Projects-1.json",
         "{\"Notes\":\"" + std::string(4 << 20, 'n') + "\"}"}}},
      {"a task log that is no JSON", {{"tasklogs/ServerTasks-1.json", "\xff\xfe"}}},
      {"a document three folders deep", {{"documents/a/b/c.json", "{}"}}},
      {"a document named .json", {{"documents/Projects/.json", "{}"}}},
      {"a task log named .json", {{"tasklogs/.json", "{}"}}},
      {"an entry outside documents and tasklogs", {{"other.txt", "x"}}},
      {"a payload.bin in an unencrypted package", {{"payload.bin", "x"}}},
      {"a manifest.json among the documents", {{"documents/manifest.json", "{}"}}},
      {"no entries", {}},
  };
  for (const auto& [label, entries] : hostile_entries) {
    add("unencrypted package with " + label, authored_plain(entries));
    add("encrypted package with " + label, authored_encrypted(stored_zip(entries), entries));
  }
  // The inner zip of an encrypted payload mutated, then encrypted and signed.
  {
    std::mt19937_64 rng(7002);
    for (std::size_t i = 0; i < inner.size(); i += 1 + inner.size() / 300) {
      auto m = inner;
      m[i] ^= static_cast<char>(1u << (i % 8));
      add("encrypted package, inner zip bit " + std::to_string(i % 8) + " of byte " +
              std::to_string(i) + " flipped",
          authored_encrypted(m, contents));
    }
    for (std::size_t len = 0; len < inner.size(); len += 1 + inner.size() / 100)
      add("encrypted package, inner zip cut to " + std::to_string(len),
          authored_encrypted(inner.substr(0, len), contents));
    for (int i = 0; i < 500; ++i)
      add("encrypted package, inner zip random edits #" + std::to_string(i),
          authored_encrypted(mutate(inner, rng), contents));
  }
  // The deflate stream around the inner zip damaged, then encrypted and signed.
  {
    std::mt19937_64 rng(7003);
    const auto deflated = raw_deflate(inner);
    for (std::size_t i = 0; i < deflated.size(); i += 1 + deflated.size() / 200) {
      auto m = deflated;
      m[i] ^= static_cast<char>(1u << (i % 8));
      add("encrypted package, deflated payload bit " + std::to_string(i % 8) + " of byte " +
              std::to_string(i) + " flipped",
          authored_encrypted_deflated(m, contents));
    }
    for (std::size_t len = 0; len < deflated.size(); len += 1 + deflated.size() / 100)
      add("encrypted package, deflated payload cut to " + std::to_string(len),
          authored_encrypted_deflated(deflated.substr(0, len), contents));
    add("encrypted package, deflated payload with bytes after its end",
        authored_encrypted_deflated(deflated + "x", contents));
    add("encrypted package, deflated payload twice",
        authored_encrypted_deflated(deflated + deflated, contents));
    add("encrypted package, payload not deflated", authored_encrypted_deflated(inner, contents));
    for (int i = 0; i < 200; ++i)
      add("encrypted package, deflated payload random edits #" + std::to_string(i),
          authored_encrypted_deflated(mutate(deflated, rng), contents));
  }
  // Payloads that are no proper secretstream, listed with their true digest.
  {
    const auto& a = the_author();
    const auto whole = a.encrypt(raw_deflate(inner));
    std::mt19937_64 noise_rng(7004);
    std::string noise(70000, '\0');
    for (auto& c : noise) c = static_cast<char>(noise_rng());
    const auto two_chunks = a.encrypt(raw_deflate(inner + noise));
    const std::vector<std::pair<std::string, std::string>> payloads = {
        {"empty", ""},
        {"a header only", whole.substr(0, 24)},
        {"cut inside its last chunk", whole.substr(0, whole.size() - 1)},
        {"bytes after the FINAL chunk", whole + "x"},
        {"its FINAL chunk twice", whole + whole.substr(24)},
        {"its first chunk only, of two", two_chunks.substr(0, 24 + 65536 + 17)},
        {"a chunk boundary one byte early", two_chunks.substr(0, 24 + 65536 + 16)},
    };
    for (const auto& [label, payload] : payloads) {
      entry_list listed{{"payload.bin", payload}};
      add("encrypted package, payload " + label,
          signed_package(json::serialize(manifest_for(listed, true, contents)), listed));
    }
  }
  return out;
}

// The input being read, for a crash report: a fatal signal prints its label.
const char* current_input = "";

extern "C" void report_input(int sig) {
  const char* head = "\nfuzz: fatal signal while reading the package input: ";
  (void)!::write(2, head, std::strlen(head));
  (void)!::write(2, current_input, std::strlen(current_input));
  (void)!::write(2, "\n", 1);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

std::size_t open_descriptors() {
  return static_cast<std::size_t>(std::distance(
      std::filesystem::directory_iterator("/proc/self/fd"), std::filesystem::directory_iterator()));
}

// Reads every input with the fuzz target: a fatal signal names the input; afterwards, no input
// took long and no descriptor was left open.
void run_package_inputs(const std::vector<labelled>& inputs) {
  for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) std::signal(sig, report_input);
  // The first input creates the target's scratch file: count descriptors after it.
  fuzz::migration_package(reinterpret_cast<const std::uint8_t*>(inputs[0].bytes.data()),
                          inputs[0].bytes.size());
  const auto descriptors = open_descriptors();
  std::chrono::steady_clock::duration slowest{};
  std::string slowest_label;
  for (const auto& in : inputs) {
    current_input = in.label.c_str();
    auto start = std::chrono::steady_clock::now();
    fuzz::migration_package(reinterpret_cast<const std::uint8_t*>(in.bytes.data()),
                            in.bytes.size());
    auto took = std::chrono::steady_clock::now() - start;
    if (took > slowest) {
      slowest = took;
      slowest_label = in.label;
    }
  }
  current_input = "";
  for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) std::signal(sig, SIG_DFL);

  INFO("slowest input: " << slowest_label << " ("
                         << std::chrono::duration_cast<std::chrono::milliseconds>(slowest).count()
                         << " ms)");
  CHECK(slowest < std::chrono::seconds(2));
  // Every reader closed what it opened, the decrypted payload's file included.
  CHECK(open_descriptors() == descriptors);
}

}  // namespace

TEST_CASE("the package reader survives damaged, cut and mutated packages", "[fuzz]") {
  octomig::testing::temp_dir dir("octomig-fuzz-seeds");
  std::vector<labelled> inputs;
  for (bool encrypt : {false, true}) {
    auto seed = sample_package(dir, encrypt);
    require_readable(dir, seed, 3, 1);
    auto name = std::string(encrypt ? "encrypted" : "unencrypted") + " seed of " +
                std::to_string(seed.size()) + " bytes";
    inputs.push_back({name + ": as written", seed});
    for (auto& m : package_mutations(name, seed)) inputs.push_back(std::move(m));
  }
  INFO(inputs.size() << " inputs");
  REQUIRE(inputs.size() < 8000);

  run_package_inputs(inputs);
}

TEST_CASE("the package reader survives packages a hostile author signed", "[fuzz]") {
  auto inputs = authored_inputs();
  INFO(inputs.size() << " inputs");
  REQUIRE(inputs.size() < 8000);
  // The helpers follow the contract: their honest packages read completely.
  {
    octomig::testing::temp_dir dir("octomig-fuzz-authored");
    require_readable(dir, inputs[0].bytes, 3, 1);
    require_readable(dir, inputs[1].bytes, 3, 1);
  }
  run_package_inputs(inputs);
}

TEST_CASE("the import planner survives mutated packages and destinations", "[fuzz]") {
  // A project with its group, lifecycle (phases naming environments), channel, process and
  // variables (scoped, a certificate variable), a tenant keyed by project id, a release, a
  // deployment and its task; a destination with decoys of some of them.
  const std::string package = R"({
    "Documents": [
      ["Environments", "Environments-1", {"Id": "Environments-1", "Name": "Dev"}],
      ["Environments", "Environments-2", {"Id": "Environments-2", "Name": "Prod"}],
      ["ProjectGroups", "ProjectGroups-1", {"Name": "Group", "EnvironmentIds": ["Environments-2"]}],
      ["Lifecycles", "Lifecycles-1", {"Name": "Life", "Phases": [{"Id": "p1",
        "OptionalDeploymentTargets": ["Environments-1", "Environments-2"]}]}],
      ["Certificates", "Certificates-1", {"Name": "Cert", "CertificateData": "secret"}],
      ["Projects", "Projects-1", {"Name": "Web", "ProjectGroupId": "ProjectGroups-1",
        "LifecycleId": "Lifecycles-1", "VariableSetId": "variableset-Projects-1",
        "ClonedFromProjectId": "Projects-9"}],
      ["Tenants", "Tenants-1", {"Name": "Acme", "ProjectEnvironments": {
        "Projects-1": ["Environments-1"], "Projects-9": ["Environments-2"]}}],
      ["Channels", "Channels-1", {"Name": "Default", "ProjectId": "Projects-1",
        "LifecycleId": "Lifecycles-1"}],
      ["VariableSets", "variableset-Projects-1", {"OwnerId": "Projects-1", "Variables": [
        {"Id": "v1", "Name": "Cert", "Type": "Certificate", "Value": "Certificates-1",
         "Scope": {"Environment": ["Environments-2"], "Machine": ["Machines-4"]}}]}],
      ["Releases", "Releases-1", {"Version": "1.0.0", "ProjectId": "Projects-1",
        "ChannelId": "Channels-1"}],
      ["Deployments", "Deployments-1", {"ReleaseId": "Releases-1", "ProjectId": "Projects-1",
        "EnvironmentId": "Environments-2", "TaskId": "ServerTasks-3", "TenantId": "Tenants-1"}]
    ],
    "Tasks": ["ServerTasks-3"],
    "LeftOut": [["Machines", "Machines-4", "web-01", "IgnoreMachines"],
                ["Projects", "Projects-9", "Old", "NotExported"]],
    "Existing": [["Environments", "Environments-5", "Prod", ""],
                 ["Machines", "Machines-2", "web-01", ""],
                 ["Projects", "Projects-3", "Old", ""]],
    "Imported": {"Deployments-1": "Deployments-8"},
    "Overwrite": true
  })";
  auto skipping = package;
  skipping.replace(skipping.find("\"Overwrite\": true"), 17, "\"Overwrite\": false");
  run(fuzz::import_plan, {package, skipping, "{}"}, 4000);
}
