// The migration package format (package/): round trips, secrecy, tampering and truncation, a full
// disk, hostile zips and flat memory, against real files in a fresh temporary directory per test.
// libzip reads the packages directly too, as any zip tool would.
#include "package/package.hpp"

#include <openssl/sha.h>
#include <sodium.h>
#include <sys/stat.h>
#include <zip.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>

#include "base/hex.hpp"
#include "tests/support/must.hpp"
#include "tests/support/temp_dir.hpp"

namespace octomig::package {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace mig = octomig::migration;
using octomig::testing::must;
using octomig::testing::temp_dir;

const std::string password = "correct horse battery staple 42";
const std::string account_secret = "AccountPassword-7f3a9c-plain";
const std::string feed_secret = "FeedPassword-51be02-plain";
const std::string variable_secret = "VariableSecret-c0ffee-plain";
const char* const wrong_password_message =
    "The password does not match the one the package was exported with.";

const mig::collection_schema& schema(const std::string& name) {
  const auto* c = mig::find_collection(name);
  REQUIRE(c != nullptr);
  return *c;
}

json::object object(const char* text) {
  return json::parse(text).as_object();
}

json::object revealed(const std::string& secret) {
  return json::object{{"HasValue", true}, {"NewValue", secret}};
}

struct sample_document {
  std::string collection, id;
  json::object doc;  // revealed, as the exporter hands it over
};

std::vector<sample_document> sample_documents() {
  auto account = object(R"({"Id":"Accounts-1","Name":"Prod login","AccountType":"UsernamePassword",
      "Username":"deploy","Token":{"HasValue":false,"NewValue":null},"SecretKey":null})");
  account["Password"] = revealed(account_secret);
  auto feed = object(R"({"Id":"Feeds-1","Name":"NuGet","FeedType":"NuGet","Username":"bot"})");
  feed["Password"] = revealed(feed_secret);
  auto variables = object(R"({"Id":"variableset-Projects-1","OwnerId":"Projects-1","Version":3,
      "Variables":[
        {"Id":"v-open","Name":"Open","Value":"visible","IsSensitive":false,"Type":"String"},
        {"Id":"v-secret","Name":"Secret","Value":"","IsSensitive":true,"Type":"Sensitive"},
        {"Id":"v-unset","Name":"Unset","Value":null,"IsSensitive":true,"Type":"Sensitive"}]})");
  variables["Variables"].as_array()[1].as_object()["Value"] = variable_secret;
  return {
      {"Projects", "Projects-1", object(R"({"Id":"Projects-1","Name":"Alpha","SpaceId":"Spaces-1",
           "VariableSetId":"variableset-Projects-1","Description":"ünïcode ✓"})")},
      {"Projects", "Projects-2",
       object(R"({"Id":"Projects-2","Name":"Beta","SpaceId":"Spaces-1"})")},
      {"Accounts", "Accounts-1", account},
      {"Feeds", "Feeds-1", feed},
      {"VariableSets", "variableset-Projects-1", variables},
  };
}

std::vector<std::pair<std::string, json::value>> sample_task_logs() {
  return {{"ServerTasks-1", json::parse(R"({"State":"Success","Log":["Step 1","Step 2"]})")},
          {"ServerTasks-2", json::parse(R"({"State":"Failed","Log":[],"Error":"timeout"})")}};
}

writer_options options_in(const fs::path& dir, bool encrypt) {
  writer_options o;
  o.file = dir / "Octopus.Migration.2026.1.0.zip";
  o.package_id = "Octopus.Migration";
  o.package_version = "2026.1.0";
  o.producer_version = "2026.1.0";
  o.source_installation_id = "b5c3e3a1-installation";
  o.encrypt = encrypt;
  o.options = object(R"({"IncludeTaskLogs":true,"Projects":["Projects-1","Projects-2"]})");
  o.kdf = {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
  return o;
}

void add_samples(writer& w) {
  for (auto& d : sample_documents()) must(w.add_document(schema(d.collection), d.id, d.doc));
  for (auto& [id, log] : sample_task_logs()) must(w.add_task_log(id, log));
  w.set_left_out(json::array{object(R"({"Id":"Tenants-4","Reason":"not supported"})")});
}

written_package write_sample(const writer_options& o) {
  auto w = must(writer::create(o, password));
  add_samples(*w);
  return must(w->finish());
}

// Documents of roughly `bytes` each that compress only a little (pseudo-random hex), so that a
// package of them spans many 64 KiB blocks and secretstream chunks.
json::object bulky_document(std::size_t n, std::size_t bytes) {
  static const char* digits = "0123456789abcdef";
  std::string notes(bytes, ' ');
  std::uint64_t x = 0x9e3779b97f4a7c15ull ^ (n + 1);
  for (auto& c : notes) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = digits[x & 15];
  }
  auto id = "Projects-" + std::to_string(n + 100);
  return json::object{{"Id", id}, {"Name", "Bulk " + std::to_string(n)}, {"Notes", notes}};
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

std::size_t files_in(const fs::path& dir) {
  return static_cast<std::size_t>(
      std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

// ---- libzip, as an independent zip reader -------------------------------------------------------

// Every entry of a zip (name and uncompressed bytes), read with libzip's CRC checks.
std::vector<std::pair<std::string, std::string>> zip_contents(const fs::path& file) {
  int code = 0;
  zip_t* z = zip_open(file.c_str(), ZIP_RDONLY, &code);
  REQUIRE(z != nullptr);
  std::vector<std::pair<std::string, std::string>> out;
  auto n = zip_get_num_entries(z, 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    zip_stat_t st;
    REQUIRE(zip_stat_index(z, static_cast<zip_uint64_t>(i), 0, &st) == 0);
    std::string bytes(st.size, '\0');
    zip_file_t* f = zip_fopen_index(z, static_cast<zip_uint64_t>(i), 0);
    REQUIRE(f != nullptr);
    REQUIRE(zip_fread(f, bytes.data(), bytes.size()) == static_cast<zip_int64_t>(st.size));
    char more;
    REQUIRE(zip_fread(f, &more, 1) == 0);  // the end, where libzip checks the CRC
    REQUIRE(zip_fclose(f) == 0);
    out.emplace_back(st.name, std::move(bytes));
  }
  zip_discard(z);
  return out;
}

std::string zip_entry(const fs::path& file, const std::string& name) {
  for (auto& [n, bytes] : zip_contents(file))
    if (n == name) return bytes;
  FAIL("no entry " << name);
  return {};
}

// Replaces (or with nullopt removes, or adds) one entry, libzip rewriting a valid zip.
void rewrite_entry(const fs::path& file, const std::string& name,
                   const std::optional<std::string>& bytes) {
  int code = 0;
  zip_t* z = zip_open(file.c_str(), 0, &code);
  REQUIRE(z != nullptr);
  auto index = zip_name_locate(z, name.c_str(), 0);
  if (!bytes) {
    REQUIRE(index >= 0);
    REQUIRE(zip_delete(z, static_cast<zip_uint64_t>(index)) == 0);
  } else {
    zip_source_t* src = zip_source_buffer(z, bytes->data(), bytes->size(), 0);
    REQUIRE(src != nullptr);
    if (index >= 0)
      REQUIRE(zip_file_replace(z, static_cast<zip_uint64_t>(index), src, 0) == 0);
    else
      REQUIRE(zip_file_add(z, name.c_str(), src, 0) >= 0);
  }
  REQUIRE(zip_close(z) == 0);
}

using entry_tweak = std::function<void(zip_t*, zip_uint64_t index, const std::string& name)>;

void build_zip(const fs::path& file,
               const std::vector<std::pair<std::string, std::string>>& entries,
               const entry_tweak& tweak = {}) {
  int code = 0;
  zip_t* z = zip_open(file.c_str(), ZIP_CREATE | ZIP_EXCL, &code);
  REQUIRE(z != nullptr);
  for (const auto& [name, bytes] : entries) {
    zip_source_t* src = zip_source_buffer(z, bytes.data(), bytes.size(), 0);
    REQUIRE(src != nullptr);
    auto index = zip_file_add(z, name.c_str(), src, 0);
    REQUIRE(index >= 0);
    if (tweak) tweak(z, static_cast<zip_uint64_t>(index), name);
  }
  REQUIRE(zip_close(z) == 0);
}

// ---- reading back ------------------------------------------------------------------------------

struct contents {
  std::vector<std::tuple<std::string, std::string, json::object>> documents;
  std::vector<std::pair<std::string, json::value>> task_logs;
};

result<contents> read_contents(reader& r) {
  contents c;
  auto s = r.for_each_document(
      [&](const std::string& collection, const std::string& id, json::object doc) {
        c.documents.emplace_back(collection, id, std::move(doc));
        return ok_status();
      });
  if (!s) return s.err();
  s = r.for_each_task_log([&](const std::string& id, json::value log) {
    c.task_logs.emplace_back(id, std::move(log));
    return ok_status();
  });
  if (!s) return s.err();
  return c;
}

// Everything a package gives an importer, as one string; or the first error on the way.
result<std::string> import_view(const fs::path& file) {
  auto r = reader::open(file);
  if (!r) return r.err();
  if (auto s = (*r)->unlock(password); !s) return s.err();
  auto c = read_contents(**r);
  if (!c) return c.err();
  std::string out;
  for (auto& [collection, id, doc] : c->documents)
    out += collection + "/" + id + " " + json::serialize(doc) + "\n";
  for (auto& [id, log] : c->task_logs) out += id + " " + json::serialize(log) + "\n";
  return out;
}

// The plaintext a revealed sensitive value holds, or nothing for an absent one.
std::optional<std::string> plain_of(const json::value& v, mig::sensitive_style style) {
  if (style == mig::sensitive_style::variable)
    return v.is_string() ? std::optional<std::string>(std::string(v.get_string())) : std::nullopt;
  if (!v.is_object() || !v.get_object().at("HasValue").as_bool()) return std::nullopt;
  return std::string(v.get_object().at("NewValue").as_string());
}

// The documents and task logs come back as written, but for sealed values, which open to the
// originals.
void check_round_trip(reader& r) {
  auto got = must(read_contents(r));
  auto want = sample_documents();
  REQUIRE(got.documents.size() == want.size());
  std::size_t sealed = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    auto& [collection, id, doc] = got.documents[i];
    INFO(collection << " " << id);
    CHECK(collection == want[i].collection);
    CHECK(id == want[i].id);
    json::value stored = doc;
    json::value original = want[i].doc;
    for (const auto& p : mig::sensitive_paths(schema(collection), original)) {
      json::value* o = mig::find_pointer(original, p.pointer);
      json::value* s = mig::find_pointer(stored, p.pointer);
      REQUIRE(s != nullptr);
      if (auto plain = plain_of(*o, p.style)) {
        REQUIRE(is_sealed_value(*s));
        CHECK(must(r.open_value(*s)) == *plain);
        ++sealed;
      } else {
        CHECK(s->is_null());
      }
      *o = "<sensitive>";
      *s = "<sensitive>";
    }
    CHECK(stored == original);
  }
  CHECK(sealed == 3);
  auto logs = sample_task_logs();
  REQUIRE(got.task_logs.size() == logs.size());
  for (std::size_t i = 0; i < logs.size(); ++i) {
    CHECK(got.task_logs[i].first == logs[i].first);
    CHECK(got.task_logs[i].second == logs[i].second);
  }
}

std::string sha256_hex(const std::string& bytes) {
  unsigned char md[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(md, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return octomig::base::to_hex(md, sizeof md);
}

std::string sha1_hex(const std::string& bytes) {
  unsigned char md[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), md);
  return octomig::base::to_hex(md, sizeof md);
}

}  // namespace

// ---- round trips -------------------------------------------------------------------------------

TEST_CASE("an unencrypted package gives back its documents, task logs and sealed values",
          "[package]") {
  temp_dir dir("octomig-package");
  auto written = write_sample(options_in(dir.path(), false));
  CHECK_FALSE(written.encrypted);
  CHECK(written.counts == std::map<std::string, std::uint64_t>{
                              {"Accounts", 1}, {"Feeds", 1}, {"Projects", 2}, {"VariableSets", 1}});
  CHECK(written.task_logs == 2);

  auto r = must(reader::open(written.file));
  CHECK_FALSE(r->encrypted());
  must(r->verify_digests());
  must(r->unlock(password));
  check_round_trip(*r);
}

TEST_CASE("an encrypted package gives back its documents, task logs and sealed values",
          "[package]") {
  temp_dir dir("octomig-package");
  auto written = write_sample(options_in(dir.path(), true));
  CHECK(written.encrypted);
  CHECK(written.counts.at("Projects") == 2);
  CHECK(written.task_logs == 2);

  auto r = must(reader::open(written.file));
  CHECK(r->encrypted());
  must(r->verify_digests());
  must(r->unlock(password));
  check_round_trip(*r);
  // The walk can be repeated; the decrypted payload lives in an anonymous file only.
  check_round_trip(*r);
  CHECK(files_in(dir.path()) == 1);

  // Decrypted elsewhere when asked.
  auto scratch = dir / "scratch";
  fs::create_directory(scratch);
  auto elsewhere = must(reader::open(written.file, {}, scratch));
  must(elsewhere->unlock(password));
  check_round_trip(*elsewhere);
  CHECK(files_in(scratch) == 0);
  auto nowhere = must(reader::open(written.file, {}, dir / "missing"));
  must(nowhere->unlock(password));
  auto s = nowhere->for_each_task_log([](const std::string&, json::value) { return ok_status(); });
  REQUIRE_FALSE(s);
  CHECK(s.err().code == errc::io_error);
}

TEST_CASE("a package is a valid zip with the documented entries and manifest", "[package]") {
  temp_dir dir("octomig-package");
  for (bool encrypt : {false, true}) {
    INFO("encrypted: " << encrypt);
    auto o = options_in(dir.path(), encrypt);
    o.file = dir / (encrypt ? "Octopus.Migration.2.0.0.zip" : "Octopus.Migration.1.0.0.zip");
    o.created_at = 1'700'000'000'123'000;
    auto written = write_sample(o);

    auto bytes = read_file(written.file);
    CHECK(written.size_bytes == bytes.size());
    // Info-ZIP, another zip implementation, tests it too where it is installed.
    if (fs::exists("/usr/bin/unzip"))
      CHECK(std::system(("/usr/bin/unzip -tqq '" + written.file.string() + "'").c_str()) == 0);
    CHECK(written.sha256 == sha256_hex(bytes));
    CHECK(written.sha1 == sha1_hex(bytes));

    auto entries = zip_contents(written.file);
    std::vector<std::string> names;
    for (auto& e : entries) names.push_back(e.first);
    // The manifest and its MAC come last: the manifest holds the digests of the entries before.
    REQUIRE(names.size() >= 3);
    CHECK(names[names.size() - 2] == "manifest.json");
    CHECK(names.back() == "manifest.mac");
    if (encrypt) {
      CHECK(names == std::vector<std::string>{"payload.bin", "manifest.json", "manifest.mac"});
    } else {
      CHECK(names == std::vector<std::string>{
                         "documents/Projects/Projects-1.json", "documents/Projects/Projects-2.json",
                         "documents/Accounts/Accounts-1.json", "documents/Feeds/Feeds-1.json",
                         "documents/VariableSets/variableset-Projects-1.json",
                         "tasklogs/ServerTasks-1.json", "tasklogs/ServerTasks-2.json",
                         "manifest.json", "manifest.mac"});
    }

    auto m = json::parse(zip_entry(written.file, "manifest.json")).as_object();
    CHECK(m.at("Format") == "octomig-migration/1");
    CHECK(m.at("ProducerVersion") == "2026.1.0");
    CHECK(m.at("SourceInstallationId") == "b5c3e3a1-installation");
    CHECK(m.at("CreatedAt") == "2023-11-14T22:13:20.123+00:00");
    CHECK(m.at("PackageId") == "Octopus.Migration");
    CHECK(m.at("Options") == o.options);
    CHECK(m.at("Counts") ==
          json::parse(R"({"Accounts":1,"Feeds":1,"Projects":2,"VariableSets":1})"));
    CHECK(m.at("TaskLogs") == 2);
    CHECK(m.at("LeftOut") == json::parse(R"([{"Id":"Tenants-4","Reason":"not supported"}])"));
    const auto& kdf = m.at("Kdf").as_object();
    CHECK(kdf.at("Algorithm") == "argon2id13");
    CHECK(kdf.at("OpsLimit") == crypto_pwhash_OPSLIMIT_MIN);
    CHECK(kdf.at("MemLimit") == crypto_pwhash_MEMLIMIT_MIN);
    CHECK(kdf.at("Salt").as_string().size() == 24);  // 16 bytes of base64
    CHECK(m.at("PasswordCheck").as_string().size() == 64);
    CHECK(m.at("Encrypted") == encrypt);
    const auto& listed = m.at("Entries").as_object();
    for (auto& [name, content] : entries) {
      if (name == "manifest.json" || name == "manifest.mac") continue;
      INFO(name);
      REQUIRE(listed.contains(name));
      CHECK(listed.at(name).as_string() == sha256_hex(content));
    }
    CHECK(listed.size() == entries.size() - 2);
    CHECK(zip_entry(written.file, "manifest.mac").size() == 64);

    auto r = must(reader::open(written.file));
    CHECK(r->manifest() == m);
    auto listing = r->entries();
    REQUIRE(listing.size() == entries.size());
    for (std::size_t i = 0; i < listing.size(); ++i) {
      CHECK(listing[i].first == entries[i].first);
      CHECK(listing[i].second == entries[i].second.size());
    }
  }
}

// ---- passwords and secrets ---------------------------------------------------------------------

TEST_CASE("a wrong password is refused by the check value before anything else", "[package]") {
  temp_dir dir("octomig-package");
  auto written = write_sample(options_in(dir.path(), true));
  // A changed manifest.mac would fail the unlock too, but the password is checked first.
  rewrite_entry(written.file, "manifest.mac", std::string(64, '0'));

  auto r = must(reader::open(written.file));
  auto s = r->unlock("not the password");
  REQUIRE_FALSE(s);
  CHECK(s.err().code == errc::invalid_argument);
  CHECK(s.err().message == wrong_password_message);
  auto docs = r->for_each_document(
      [](const std::string&, const std::string&, json::object) { return ok_status(); });
  REQUIRE_FALSE(docs);
  CHECK(docs.err().message.find("locked") != std::string::npos);
  CHECK_FALSE(r->open_value(json::parse(R"({"MigrationSealed":"AAAA"})")));

  auto right = r->unlock(password);
  REQUIRE_FALSE(right);
  CHECK(right.err().code == errc::corruption);
  CHECK(right.err().message.find("manifest") != std::string::npos);
}

TEST_CASE("a changed manifest is detected with the password", "[package]") {
  temp_dir dir("octomig-package");
  auto written = write_sample(options_in(dir.path(), false));
  auto m = json::parse(zip_entry(written.file, "manifest.json")).as_object();
  m["ProducerVersion"] = "9999.1.0";
  m["Counts"].as_object()["Projects"] = 1;
  rewrite_entry(written.file, "manifest.json", json::serialize(m));

  auto r = must(reader::open(written.file));
  auto s = r->unlock(password);
  REQUIRE_FALSE(s);
  CHECK(s.err().code == errc::corruption);
  CHECK(s.err().message.find("manifest.mac") != std::string::npos);
}

TEST_CASE("no sensitive value and no password is stored in plain text in an unencrypted package",
          "[package]") {
  temp_dir dir("octomig-package");
  auto written = write_sample(options_in(dir.path(), false));
  CHECK(files_in(dir.path()) == 1);
  std::vector<std::string> haystacks{read_file(written.file)};
  for (auto& [name, bytes] : zip_contents(written.file)) haystacks.push_back(bytes);
  CHECK(haystacks.size() == 10);
  for (const auto& secret : {account_secret, feed_secret, variable_secret, password}) {
    for (const auto& h : haystacks) CHECK(h.find(secret) == std::string::npos);
  }
  // The visible value next to the secrets is there: the search would have found them.
  CHECK(zip_entry(written.file, "documents/VariableSets/variableset-Projects-1.json")
            .find("\"visible\"") != std::string::npos);
}

TEST_CASE("no sensitive value and no password is stored in plain text in an encrypted package",
          "[package]") {
  temp_dir dir("octomig-package");
  auto written = write_sample(options_in(dir.path(), true));
  CHECK(files_in(dir.path()) == 1);  // no scratch file left behind
  auto raw = read_file(written.file);
  for (const auto& secret : {account_secret, feed_secret, variable_secret, password}) {
    CHECK(raw.find(secret) == std::string::npos);
  }
  CHECK(raw.find("Alpha") == std::string::npos);  // nothing of the documents is readable
  auto view = must(import_view(written.file));
  CHECK(view.find("Alpha") != std::string::npos);
  for (const auto& secret : {account_secret, feed_secret, variable_secret}) {
    CHECK(view.find(secret) == std::string::npos);
  }
  CHECK(files_in(dir.path()) == 1);
}

TEST_CASE("a sealed value opens only with its package's key", "[package]") {
  temp_dir dir("octomig-package");
  auto first = write_sample(options_in(dir.path(), false));
  auto o = options_in(dir.path(), false);
  o.file = dir / "Other.1.0.0.zip";
  auto second = write_sample(o);

  auto sealed_password = [](reader& r) {
    json::value found;
    must(r.for_each_document([&](const std::string& c, const std::string&, json::object doc) {
      if (c == "Accounts") found = doc.at("Password");
      return ok_status();
    }));
    return found;
  };
  auto a = must(reader::open(first.file));
  must(a->unlock(password));
  auto b = must(reader::open(second.file));
  must(b->unlock(password));
  auto sealed = sealed_password(*a);
  REQUIRE(is_sealed_value(sealed));
  CHECK(must(a->open_value(sealed)) == account_secret);
  // Same password, another salt: another key.
  auto other = b->open_value(sealed);
  REQUIRE_FALSE(other);
  CHECK(other.err().code == errc::corruption);

  auto text = std::string(sealed.at("MigrationSealed").as_string());
  text[10] = text[10] == 'A' ? 'B' : 'A';
  auto damaged = a->open_value(json::object{{"MigrationSealed", text}});
  REQUIRE_FALSE(damaged);
  CHECK(damaged.err().code == errc::corruption);
  CHECK(damaged.err().message.find(account_secret) == std::string::npos);

  CHECK_FALSE(is_sealed_value(json::parse(R"({"MigrationSealed":1})")));
  CHECK_FALSE(is_sealed_value(json::parse(R"({"MigrationSealed":"x","More":1})")));
  CHECK_FALSE(is_sealed_value(json::parse(R"("text")")));
  auto not_sealed = a->open_value(json::parse(R"({"HasValue":true})"));
  REQUIRE_FALSE(not_sealed);
  CHECK(not_sealed.err().code == errc::invalid_argument);
}

// ---- damage ------------------------------------------------------------------------------------

namespace {

// Names every byte of a zip as written by libarchive (no zip64 records, no comments): the header
// field it belongs to, or "<entry>: data".
std::vector<std::string> label_bytes(const std::string& z) {
  std::vector<std::string> label(z.size(), "outside any record");
  auto u16 = [&](std::size_t at) {
    return static_cast<std::size_t>(static_cast<unsigned char>(z.at(at))) |
           static_cast<std::size_t>(static_cast<unsigned char>(z.at(at + 1))) << 8;
  };
  auto u32 = [&](std::size_t at) { return u16(at) | u16(at + 2) << 16; };
  auto mark = [&](std::size_t at, std::size_t n, const std::string& what) {
    for (std::size_t i = at; i < at + n && i < z.size(); ++i) label[i] = what;
  };
  auto mark_extra = [&](std::size_t at, std::size_t n, const std::string& prefix) {
    std::size_t end = at + n;
    while (at + 4 <= end) {
      auto id = u16(at), len = u16(at + 2);
      std::string field = id == 0x5455   ? "UT timestamp extra field"
                          : id == 0x7875 ? "ux uid/gid extra field"
                                         : "extra field " + std::to_string(id);
      mark(at, 4, prefix + field + " id and length");
      mark(at + 4, len, prefix + field);
      at += 4 + len;
    }
  };
  auto eocd = z.rfind(std::string("PK\x05\x06", 4));
  REQUIRE(eocd != std::string::npos);
  mark(eocd, 4, "end record: signature");
  mark(eocd + 4, 4, "end record: disk numbers");
  mark(eocd + 8, 4, "end record: entry counts");
  mark(eocd + 12, 4, "end record: central directory size");
  mark(eocd + 16, 4, "end record: central directory offset");
  mark(eocd + 20, 2, "end record: comment length");
  std::size_t at = u32(eocd + 16);
  for (std::size_t i = 0; i < u16(eocd + 10); ++i) {
    REQUIRE(z.compare(at, 4, "PK\x01\x02", 4) == 0);
    auto name_len = u16(at + 28), extra_len = u16(at + 30), comment_len = u16(at + 32);
    auto name = z.substr(at + 46, name_len);
    auto c = "central " + name + ": ";
    mark(at, 4, c + "signature");
    mark(at + 4, 2, c + "version made by");
    mark(at + 6, 2, c + "version needed");
    mark(at + 8, 2, c + "flags");
    mark(at + 10, 2, c + "method");
    mark(at + 12, 4, c + "DOS time and date");
    mark(at + 16, 4, c + "CRC");
    mark(at + 20, 8, c + "sizes");
    mark(at + 28, 6, c + "name, extra and comment lengths");
    mark(at + 34, 2, c + "disk number");
    mark(at + 36, 2, c + "internal attributes");
    mark(at + 38, 4, c + "external attributes");
    mark(at + 42, 4, c + "local header offset");
    mark(at + 46, name_len, c + "name");
    mark_extra(at + 46 + name_len, extra_len, c);
    auto compressed = u32(at + 20);
    auto flags = u16(at + 8);
    auto local = u32(at + 42);
    auto l = "local " + name + ": ";
    REQUIRE(z.compare(local, 4, "PK\x03\x04", 4) == 0);
    auto lname = u16(local + 26), lextra = u16(local + 28);
    mark(local, 4, l + "signature");
    mark(local + 4, 2, l + "version needed");
    mark(local + 6, 2, l + "flags");
    mark(local + 8, 2, l + "method");
    mark(local + 10, 4, l + "DOS time and date");
    mark(local + 14, 4, l + "CRC");
    mark(local + 18, 8, l + "sizes");
    mark(local + 26, 4, l + "name and extra lengths");
    mark(local + 30, lname, l + "name");
    mark_extra(local + 30 + lname, lextra, l);
    auto data = local + 30 + lname + lextra;
    mark(data, compressed, name + ": data");
    if (flags & 8) {
      auto d = data + compressed;
      auto dd = "data descriptor " + name + ": ";
      bool signed_dd = z.compare(d, 4, "PK\x07\x08", 4) == 0;
      if (signed_dd) mark(d, 4, dd + "signature");
      d += signed_dd ? 4 : 0;
      mark(d, 4, dd + "CRC");
      mark(d + 4, 8, dd + "sizes");
    }
    at += 46 + name_len + extra_len + comment_len;
  }
  return label;
}

}  // namespace

TEST_CASE("a flipped byte anywhere in an encrypted package's entries is detected", "[package]") {
  temp_dir dir("octomig-package");
  auto written = write_sample(options_in(dir.path(), true));
  const auto original = read_file(written.file);
  const auto expected = must(import_view(written.file));
  const auto labels = label_bytes(original);
  auto copy = dir / "flipped.zip";

  // Every byte of the file, each flipped on its own (all bits), then opened, unlocked and read as
  // an importer would. A flip that goes unnoticed must leave everything read unchanged.
  std::map<std::string, std::size_t> undetected;  // field -> bytes
  std::size_t data_bytes = 0;
  for (std::size_t pos = 0; pos < original.size(); ++pos) {
    auto bytes = original;
    bytes[pos] = static_cast<char>(bytes[pos] ^ 0xff);
    write_file(copy, bytes);
    auto view = import_view(copy);
    const auto& what = labels[pos];
    bool in_data = what.size() > 6 && what.compare(what.size() - 6, 6, ": data") == 0;
    if (in_data) ++data_bytes;
    if (!view) continue;
    INFO("byte " << pos << " (" << what << ")");
    CHECK_FALSE(in_data);
    CHECK(*view == expected);
    ++undetected[what];
  }
  CHECK(data_bytes > 500);
  CHECK(files_in(dir.path()) == 2);

  // What goes unnoticed is zip metadata that nothing reads, which no check covers. libzip reads
  // the central directory, and of a local header only the lengths that lead to the data; the
  // reader checks the rest of the layout itself (signatures, names, methods, CRCs and sizes of
  // local headers and data descriptors, entries back to back) but not these fields:
  std::set<std::string> tolerated;
  for (const std::string name : {"payload.bin", "manifest.json", "manifest.mac"}) {
    for (const std::string record : {"local ", "central "}) {
      // Timestamps: the DOS time and date, and Info-ZIP's "UT" (Unix times) and "ux" (uid and
      // gid) extra fields, id and contents. A changed length would misplace what follows it.
      for (const std::string field :
           {"DOS time and date", "UT timestamp extra field", "ux uid/gid extra field"})
        tolerated.insert(record + name + ": " + field);
      tolerated.insert(record + name + ": UT timestamp extra field id and length");
      tolerated.insert(record + name + ": ux uid/gid extra field id and length");
      // The version needed to extract (libzip extracts regardless) and the general purpose
      // flags' second byte (UTF-8 names and reserved bits; the first holds the encryption bit,
      // which is refused, and the data descriptor bit, which moves what follows).
      tolerated.insert(record + name + ": version needed");
      tolerated.insert(record + name + ": flags");
    }
    // The central directory's "made by", disk number (libzip reads one-disk zips only, whatever
    // the field says), internal attributes (text or binary) and external attributes but for the
    // file type bits in the top byte (a symlink or directory is refused).
    for (const std::string field :
         {"version made by", "disk number", "internal attributes", "external attributes"})
      tolerated.insert("central " + name + ": " + field);
  }
  for (const auto& [what, n] : undetected) {
    INFO(what << ": " << n << " bytes undetected");
    CHECK(tolerated.count(what) == 1);
  }
}

TEST_CASE("a truncated encrypted package is detected", "[package]") {
  temp_dir dir("octomig-package");
  auto o = options_in(dir.path(), true);
  auto w = must(writer::create(o, password));
  add_samples(*w);
  // Enough barely compressible data for a payload of several 64 KiB chunks.
  for (std::size_t i = 0; i < 60; ++i)
    must(w->add_document(schema("Projects"), "Projects-" + std::to_string(i + 100),
                         bulky_document(i, 6000)));
  auto written = must(w->finish());
  const auto original = read_file(written.file);
  const auto payload = zip_entry(written.file, "payload.bin");
  constexpr std::size_t header = 24, chunk = 65536 + 17;
  REQUIRE(payload.size() > header + 2 * chunk);
  auto copy = dir / "cut.zip";

  SECTION("the file cut anywhere") {
    for (auto keep :
         {std::size_t{0}, std::size_t{1}, std::size_t{100}, original.size() / 4,
          original.size() / 2, original.size() - 200, original.size() - 22, original.size() - 1}) {
      INFO("kept " << keep << " of " << original.size() << " bytes");
      write_file(copy, original.substr(0, keep));
      CHECK_FALSE(import_view(copy));
    }
  }
  SECTION("payload.bin cut at a chunk boundary, in a zip that is otherwise valid") {
    fs::copy_file(written.file, copy);
    rewrite_entry(copy, "payload.bin", payload.substr(0, header + 2 * chunk));
    auto r = must(reader::open(copy));
    must(r->unlock(password));
    auto s = r->for_each_document(
        [](const std::string&, const std::string&, json::object) { return ok_status(); });
    REQUIRE_FALSE(s);
    CHECK(s.err().code == errc::corruption);
    CHECK(s.err().message.find("final chunk") != std::string::npos);
    CHECK_FALSE(r->verify_digests());
  }
  SECTION("payload.bin cut inside a chunk") {
    fs::copy_file(written.file, copy);
    rewrite_entry(copy, "payload.bin", payload.substr(0, header + chunk + 1000));
    auto r = must(reader::open(copy));
    must(r->unlock(password));
    auto s = r->for_each_task_log([](const std::string&, json::value) { return ok_status(); });
    REQUIRE_FALSE(s);
    CHECK(s.err().code == errc::corruption);
  }
  SECTION("payload.bin with bytes after its final chunk") {
    fs::copy_file(written.file, copy);
    rewrite_entry(copy, "payload.bin", payload + payload.substr(header, chunk));
    auto r = must(reader::open(copy));
    must(r->unlock(password));
    auto s = r->for_each_document(
        [](const std::string&, const std::string&, json::object) { return ok_status(); });
    REQUIRE_FALSE(s);
    CHECK(s.err().code == errc::corruption);
  }
  CHECK(files_in(dir.path()) >= 1);
}

TEST_CASE("an encrypted payload is one deflate stream, its inflated size bounded", "[package]") {
  temp_dir dir("octomig-package");
  auto o = options_in(dir.path(), true);
  auto w = must(writer::create(o, password));
  add_samples(*w);
  // 4 MiB of one letter: the inner zip stores it, the payload's deflate stream shrinks it.
  must(w->add_document(schema("Projects"), "Projects-100",
                       json::object{{"Id", "Projects-100"}, {"Notes", std::string(4 << 20, 'n')}}));
  auto written = must(w->finish());
  CHECK(zip_entry(written.file, "payload.bin").size() < 64 * 1024);
  auto walk = [](reader& r) {
    return r.for_each_document(
        [](const std::string&, const std::string&, json::object) { return ok_status(); });
  };
  {
    auto r = must(reader::open(written.file));
    must(r->unlock(password));
    must(walk(*r));
  }
  // A reader whose bound the payload inflates past stops there (a zip bomb in the payload).
  reader_limits small;
  small.max_total_bytes = 1 << 20;
  auto r = must(reader::open(written.file, small));
  must(r->unlock(password));
  auto s = walk(*r);
  REQUIRE_FALSE(s);
  CHECK(s.err().code == errc::corruption);
  CHECK(s.err().message.find("over the size limit") != std::string::npos);
  CHECK(files_in(dir.path()) == 1);
}

TEST_CASE("verify_digests names a changed, missing or extra entry of an unencrypted package",
          "[package]") {
  temp_dir dir("octomig-package");
  auto written = write_sample(options_in(dir.path(), false));
  const std::string changed = "documents/Projects/Projects-2.json";

  SECTION("changed") {
    rewrite_entry(written.file, changed, R"({"Id":"Projects-2","Name":"Gamma"})");
    auto r = must(reader::open(written.file));
    auto s = r->verify_digests();
    REQUIRE_FALSE(s);
    CHECK(s.err().code == errc::corruption);
    CHECK(s.err().message.find(changed) != std::string::npos);
    // The import walk checks the same digests as it reads.
    must(r->unlock(password));
    auto walk = r->for_each_document(
        [](const std::string&, const std::string&, json::object) { return ok_status(); });
    REQUIRE_FALSE(walk);
    CHECK(walk.err().message.find(changed) != std::string::npos);
  }
  SECTION("missing") {
    rewrite_entry(written.file, changed, std::nullopt);
    auto s = must(reader::open(written.file))->verify_digests();
    REQUIRE_FALSE(s);
    CHECK(s.err().message.find("lacks the entry " + changed) != std::string::npos);
  }
  SECTION("extra") {
    rewrite_entry(written.file, "documents/Projects/Projects-7.json", R"({"Id":"Projects-7"})");
    auto s = must(reader::open(written.file))->verify_digests();
    REQUIRE_FALSE(s);
    CHECK(s.err().message.find("Projects-7.json") != std::string::npos);
  }
}

// ---- the writer --------------------------------------------------------------------------------

TEST_CASE("a full disk fails the writer with io_error and leaves no file behind", "[package]") {
  for (bool encrypt : {false, true}) {
    // First the whole write, counted, to place the failures across it.
    std::uint64_t total = 0;
    {
      temp_dir dir("octomig-package");
      auto o = options_in(dir.path(), encrypt);
      o.before_write = [&total](std::size_t n) {
        total += n;
        return ok_status();
      };
      auto w = must(writer::create(o, password));
      add_samples(*w);
      for (std::size_t i = 0; i < 40; ++i)
        must(w->add_document(schema("Projects"), "Projects-" + std::to_string(i + 100),
                             bulky_document(i, 8000)));
      must(w->finish());
    }
    // The sealed values are random, so their compressed size varies by a few bytes from one
    // write to the next: the last budget stays well inside the final write.
    for (auto budget : {std::uint64_t{0}, total / 5, total / 2, total * 4 / 5, total - 256}) {
      INFO("encrypted: " << encrypt << ", disk full after " << budget << " of " << total);
      temp_dir dir("octomig-package");
      auto o = options_in(dir.path(), encrypt);
      std::uint64_t used = 0;
      o.before_write = [&used, budget](std::size_t n) -> status {
        if (used + n > budget) return make_error(errc::io_error, "No space left on device");
        used += n;
        return ok_status();
      };
      std::optional<error> failure;
      {
        auto w = must(writer::create(o, password));
        auto note = [&failure](const status& s) {
          if (!s && !failure) failure = s.err();
        };
        // The same as the counted write above.
        for (auto& d : sample_documents()) note(w->add_document(schema(d.collection), d.id, d.doc));
        for (auto& [id, log] : sample_task_logs()) note(w->add_task_log(id, log));
        w->set_left_out(json::array{object(R"({"Id":"Tenants-4","Reason":"not supported"})")});
        for (std::size_t i = 0; i < 40; ++i)
          note(w->add_document(schema("Projects"), "Projects-" + std::to_string(i + 100),
                               bulky_document(i, 8000)));
        if (failure) {
          // Once failed, every later call says so.
          auto again = w->add_task_log("ServerTasks-9", json::object{});
          REQUIRE_FALSE(again);
          CHECK(again.err().code == errc::io_error);
        }
        auto f = w->finish();
        if (!f && !failure) failure = f.err();
        REQUIRE_FALSE(f);
      }
      REQUIRE(failure);
      CHECK(failure->code == errc::io_error);
      CHECK(failure->message == "cannot write the package: No space left on device");
      CHECK(files_in(dir.path()) == 0);
    }
  }
}

TEST_CASE("an unfinished writer removes its file", "[package]") {
  temp_dir dir("octomig-package");
  for (bool encrypt : {false, true}) {
    auto o = options_in(dir.path(), encrypt);
    {
      auto w = must(writer::create(o, password));
      add_samples(*w);
      CHECK(fs::exists(o.file));
    }
    CHECK(files_in(dir.path()) == 0);
  }
}

TEST_CASE("the writer refuses an existing file, bad names, duplicates and unrevealed secrets",
          "[package]") {
  temp_dir dir("octomig-package");
  auto o = options_in(dir.path(), false);

  write_file(o.file, "someone else's");
  auto exists = writer::create(o, password);
  REQUIRE_FALSE(exists);
  CHECK(exists.err().code == errc::conflict);
  CHECK(read_file(o.file) == "someone else's");
  fs::remove(o.file);

  auto empty = writer::create(o, "");
  REQUIRE_FALSE(empty);
  CHECK(empty.err().code == errc::invalid_argument);
  auto costly = o;
  costly.kdf.memlimit = std::size_t{2} << 30;
  CHECK_FALSE(writer::create(costly, password));

  auto w = must(writer::create(o, password));
  const auto& projects = schema("Projects");
  for (const char* id : {"../x", "a/b", "", ".hidden", "a\\b", "x:y"}) {
    INFO(id);
    auto s = w->add_document(projects, id, json::object{});
    REQUIRE_FALSE(s);
    CHECK(s.err().code == errc::invalid_argument);
  }
  CHECK_FALSE(w->add_task_log("../ServerTasks-1", json::object{}));
  CHECK_FALSE(w->add_document(projects, "Projects-1", object(R"({"Id":"Projects-2"})")));
  must(w->add_document(projects, "Projects-1", object(R"({"Id":"Projects-1"})")));
  auto twice = w->add_document(projects, "Projects-1", object(R"({"Id":"Projects-1"})"));
  REQUIRE_FALSE(twice);
  CHECK(twice.err().message.find("already") != std::string::npos);

  // A secret the exporter did not reveal cannot be sealed: refused, and nothing is written.
  auto hidden = object(R"({"Id":"Accounts-2","Name":"A","AccountType":"Token",
      "Token":{"HasValue":true,"NewValue":null}})");
  auto s = w->add_document(schema("Accounts"), "Accounts-2", hidden);
  REQUIRE_FALSE(s);
  CHECK(s.err().code == errc::invalid_argument);
  CHECK(s.err().message.find("/Token") != std::string::npos);
  auto odd_variable = object(R"({"Id":"variableset-Projects-1","OwnerId":"Projects-1",
      "Variables":[{"Id":"v","Name":"N","Value":42,"IsSensitive":true}]})");
  CHECK_FALSE(w->add_document(schema("VariableSets"), "variableset-Projects-1", odd_variable));

  auto done = must(w->finish());
  CHECK(done.counts == std::map<std::string, std::uint64_t>{{"Projects", 1}});
  auto again = w->finish();
  REQUIRE_FALSE(again);
  CHECK(fs::exists(o.file));
}

// ---- hostile files -----------------------------------------------------------------------------

TEST_CASE("hostile or foreign zips are refused when opened, with a clear message", "[package]") {
  temp_dir dir("octomig-package");
  // A real manifest, so that each zip below is refused for its hostile entry alone.
  auto o = options_in(dir.path(), false);
  o.file = dir / "Empty.1.0.0.zip";
  auto empty = must(must(writer::create(o, password))->finish());
  std::vector<std::pair<std::string, std::string>> base{
      {"manifest.json", zip_entry(empty.file, "manifest.json")},
      {"manifest.mac", zip_entry(empty.file, "manifest.mac")}};
  auto file = dir / "hostile.zip";
  auto with = [&](std::vector<std::pair<std::string, std::string>> extra) {
    auto all = base;
    all.insert(all.end(), extra.begin(), extra.end());
    return all;
  };
  auto refused = [&](reader_limits limits = {}) {
    auto r = reader::open(file, limits);
    REQUIRE_FALSE(r);
    CHECK(r.err().code == errc::invalid_argument);
    return r.err().message;
  };
  auto contains = [](const std::string& text, const std::string& part) {
    INFO(text);
    CHECK(text.find(part) != std::string::npos);
  };

  SECTION("the base alone is a valid (empty) package") {
    build_zip(file, base);
    auto r = must(reader::open(file));
    must(r->verify_digests());
    must(r->unlock(password));
  }
  SECTION("a parent directory segment") {
    build_zip(file, with({{"documents/../../x.json", "{}"}}));
    contains(refused(), "\"documents/../../x.json\" has a \"..\" path segment");
  }
  SECTION("an absolute path") {
    build_zip(file, with({{"/etc/x.json", "{}"}}));
    contains(refused(), "\"/etc/x.json\" has an absolute path");
  }
  SECTION("a backslash") {
    build_zip(file, with({{"documents\\x.json", "{}"}}));
    contains(refused(), "has a backslash");
  }
  SECTION("two entries with one name") {
    build_zip(file, with({{"documents/Projects/Projects-1.json", "{}"},
                          {"documents/Projects/Projects-2.json", "{}"}}));
    auto bytes = read_file(file);
    for (auto at = bytes.find("Projects-2.json"); at != std::string::npos;
         at = bytes.find("Projects-2.json"))
      bytes[at + 9] = '1';
    write_file(file, bytes);
    contains(refused(), "\"documents/Projects/Projects-1.json\" is there twice");
  }
  SECTION("a symbolic link") {
    build_zip(file, with({{"documents/Projects/Projects-1.json", "/etc/passwd"}}),
              [](zip_t* z, zip_uint64_t i, const std::string& name) {
                if (name.rfind("documents/", 0) == 0)
                  REQUIRE(zip_file_set_external_attributes(z, i, 0, ZIP_OPSYS_UNIX,
                                                           (S_IFLNK | 0777u) << 16) == 0);
              });
    contains(refused(), "is a symbolic link");
  }
  SECTION("an entry over the size limit") {
    build_zip(file, with({{"documents/Projects/Projects-1.json", std::string(100000, ' ')}}));
    reader_limits limits;
    limits.max_entry_bytes = 65536;
    contains(refused(limits), "declares 100000 bytes, over the limit of 65536");
  }
  SECTION("too many entries or bytes in all") {
    build_zip(file, with({{"documents/Projects/Projects-1.json", std::string(5000, ' ')}}));
    reader_limits few;
    few.max_entries = 2;
    contains(refused(few), "holds 3 entries, over the limit of 2");
    reader_limits small;
    small.max_total_bytes = 4096;
    contains(refused(small), "more than 4096 bytes in all");
  }
  SECTION("no manifest") {
    build_zip(file, {{"documents/Projects/Projects-1.json", "{}"}});
    contains(refused(), "has no manifest.json");
  }
  SECTION("another format") {
    auto m = json::parse(base[0].second).as_object();
    m["Format"] = "octomig-migration/2";
    build_zip(file, {{"manifest.json", json::serialize(m)}, base[1]});
    contains(refused(), "format is \"octomig-migration/2\"");
  }
  SECTION("an absurd key derivation") {
    auto m = json::parse(base[0].second).as_object();
    m["Kdf"].as_object()["MemLimit"] = std::uint64_t{4} << 30;
    build_zip(file, {{"manifest.json", json::serialize(m)}, base[1]});
    contains(refused(), "key derivation out of the accepted range");
  }
  SECTION("not a zip at all") {
    write_file(file, "just some text, long enough to look like a file of some kind\n");
    contains(refused(), "hostile.zip is not a migration package or is damaged");
  }
  SECTION("no such file") {
    auto r = reader::open(dir / "missing.zip");
    REQUIRE_FALSE(r);
    CHECK(r.err().code == errc::not_found);
  }
}

// ---- memory ------------------------------------------------------------------------------------

namespace {

// The process's peak resident set (VmHWM), in KiB; 0 when /proc does not say.
std::uint64_t peak_rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6));
  return 0;
}

// Resets VmHWM to the current RSS (Linux 4.0+); false where that is not allowed.
bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return out.good();
}

}  // namespace

TEST_CASE("memory stays flat while 20,000 documents of 200 MB are written and read back",
          "[package][memory]") {
  temp_dir dir("octomig-package");
  if (peak_rss_kib() == 0) {
    WARN("no VmHWM in /proc/self/status: the memory bound is not checked");
    return;
  }
  // ctest runs each test case in a process of its own; run in one process with others, the
  // reset keeps their peaks out of this figure.
  reset_peak_rss();
  const auto before = peak_rss_kib();
  constexpr std::size_t documents = 20'000, document_bytes = 10'000;
  auto o = options_in(dir.path(), true);
  std::uint64_t fed = 0;
  {
    auto w = must(writer::create(o, password));
    for (std::size_t i = 0; i < documents; ++i) {
      auto doc = bulky_document(i, document_bytes);
      fed += json::serialize(doc).size();
      std::string id(doc.at("Id").as_string());
      must(w->add_document(schema("Projects"), id, std::move(doc)));
    }
    auto written = must(w->finish());
    CHECK(written.counts.at("Projects") == documents);
  }
  CHECK(fed > 200'000'000);
  const auto after_write = peak_rss_kib();

  auto r = must(reader::open(o.file));
  must(r->unlock(password));
  std::uint64_t read = 0, count = 0;
  must(r->for_each_document([&](const std::string&, const std::string&, json::object doc) {
    read += doc.at("Notes").as_string().size();
    ++count;
    return ok_status();
  }));
  CHECK(count == documents);
  CHECK(read == documents * document_bytes);
  const auto after_read = peak_rss_kib();
  INFO("peak RSS KiB: before " << before << ", after writing " << after_write << ", after reading "
                               << after_read);
  CHECK(after_write - before < 64 * 1024);
  CHECK(after_read - before < 64 * 1024);
}

}  // namespace octomig::package
