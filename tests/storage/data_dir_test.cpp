// The data directory: layout and permissions, the master key, API keys and the first start.
#include "storage/data_dir.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <regex>
#include <set>

#include "storage/keys.hpp"
#include "tests/support/must.hpp"
#include "tests/support/store_helpers.hpp"
#include "tests/support/temp_dir.hpp"

using namespace octomig;
using namespace octomig::storage;
using octomig::testing::append_ok;
using octomig::testing::open_store;
using octomig::testing::request;
using octomig::testing::temp_dir;

namespace {

constexpr events::timestamp_us t0 = 1490043617000000;

mode_t mode_of(const std::filesystem::path& p) {
  struct stat sb {};
  REQUIRE(::stat(p.c_str(), &sb) == 0);
  return sb.st_mode & 07777;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A data directory with its layout, master key and an open store.
struct fixture {
  temp_dir dir;
  data_dir d{dir.path() / "data"};
  std::string master_key;
  std::unique_ptr<store> st;

  fixture() {
    REQUIRE(ensure_layout(d).ok());
    auto k = load_or_create_master_key(d);
    REQUIRE(k.ok());
    master_key = *k;
    st = open_store(d.db());
  }
};

}  // namespace

TEST_CASE("the data directory is created private to its owner", "[data_dir]") {
  temp_dir dir;
  data_dir d{dir.path() / "nested" / "data"};
  REQUIRE(ensure_layout(d).ok());
  CHECK(std::filesystem::is_directory(d.db()));
  CHECK(std::filesystem::is_directory(d.feed()));
  CHECK(std::filesystem::is_directory(d.work()));
  CHECK(mode_of(d.root) == 0700);
  REQUIRE(ensure_layout(d).ok());  // and again, on every start
}

TEST_CASE("the master key is created once, 32 bytes, readable by its owner only", "[data_dir]") {
  temp_dir dir;
  data_dir d{dir.path()};
  auto first = load_or_create_master_key(d);
  REQUIRE(first.ok());
  CHECK(first->size() == 32);
  CHECK(mode_of(d.master_key()) == 0600);
  auto again = load_or_create_master_key(d);
  REQUIRE(again.ok());
  CHECK(*again == *first);

  std::ofstream(d.master_key(), std::ios::trunc) << "short";
  auto broken = load_or_create_master_key(d);
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.err().code == errc::corruption);
}

TEST_CASE("api keys look like Octopus's and hash differently under different master keys",
          "[data_dir]") {
  const std::regex shape("API-[A-Z0-9]{28}");
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    auto k = generate_api_key();
    CHECK(std::regex_match(k, shape));
    seen.insert(k);
  }
  CHECK(seen.size() == 50);
  const std::string k = "API-ABCDEFGHIJKLMNOPQRSTUVWXYZ12";
  const std::string m1(32, '\1'), m2(32, '\2');
  CHECK(hash_api_key(k, m1) == hash_api_key(k, m1));
  CHECK(hash_api_key(k, m1) != hash_api_key(k, m2));
  CHECK(std::regex_match(hash_api_key(k, m1), std::regex("[0-9a-f]{64}")));
  CHECK(std::regex_match(
      new_uuid(),
      std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
}

TEST_CASE("a created api key is found by its hash, and only by its hash", "[data_dir]") {
  fixture f;
  auto key = create_api_key(*f.st, f.master_key, "ci-robot", "user", t0);
  REQUIRE(key.ok());
  const auto hash = hash_api_key(*key, f.master_key);
  auto rec = testing::must(f.st->api_key_by_hash(hash));
  REQUIRE(rec);
  CHECK(rec->name == "ci-robot");
  CHECK(rec->role == "user");
  CHECK(rec->key_hash == hash);
  CHECK(rec->created == t0);
  CHECK_FALSE(testing::must(f.st->api_key_by_hash(*key)));  // the key itself is stored nowhere
  CHECK_FALSE(testing::must(f.st->api_key_by_hash(hash_api_key(*key, std::string(32, 'x')))));

  // The event states the hash, never the key.
  auto log = f.st->read_stream(events::system_stream);
  REQUIRE(log.ok());
  REQUIRE(log->size() == 1);
  const auto& created = std::get<events::api_key_created>(log->front().body);
  CHECK(created.key_hash == hash);
  CHECK(created.key_hash.find(*key) == std::string::npos);
}

TEST_CASE("api keys need a name, a known role and a free name", "[data_dir]") {
  fixture f;
  REQUIRE(create_api_key(*f.st, f.master_key, "ci", "user", t0).ok());
  CHECK(create_api_key(*f.st, f.master_key, "ci", "admin", t0).err().code == errc::conflict);
  CHECK(create_api_key(*f.st, f.master_key, "", "user", t0).err().code == errc::invalid_argument);
  CHECK(create_api_key(*f.st, f.master_key, "x", "root", t0).err().code == errc::invalid_argument);
  CHECK(testing::must(f.st->api_keys()).size() == 1);
}

TEST_CASE("a revoked api key is found no more and its name can be used again", "[data_dir]") {
  fixture f;
  auto keep = create_api_key(*f.st, f.master_key, "keep", "admin", t0);
  auto old = create_api_key(*f.st, f.master_key, "ci", "user", t0);
  REQUIRE(keep.ok());
  REQUIRE(old.ok());
  append_ok(*f.st, request(events::system_stream,
                           testing::must(f.st->stream_version(events::system_stream)),
                           {events::api_key_revoked{"ci"}}));
  CHECK_FALSE(testing::must(f.st->api_key_by_hash(hash_api_key(*old, f.master_key))));
  REQUIRE(testing::must(f.st->api_keys()).size() == 1);
  CHECK(testing::must(f.st->api_keys()).front().name == "keep");
  CHECK(testing::must(f.st->api_key_by_hash(hash_api_key(*keep, f.master_key))));

  auto renewed = create_api_key(*f.st, f.master_key, "ci", "user", t0 + 1);
  REQUIRE(renewed.ok());
  CHECK(testing::must(f.st->api_key_by_hash(hash_api_key(*renewed, f.master_key))));
  CHECK_FALSE(testing::must(f.st->api_key_by_hash(hash_api_key(*old, f.master_key))));
  auto rep = f.st->verify_projections();
  REQUIRE(rep.ok());
  INFO("differences:\n" << octomig::testing::lines(rep->differences));
  CHECK(rep->differences.empty());
}

TEST_CASE("bootstrap creates the installation id and the admin key file only once", "[data_dir]") {
  fixture f;
  auto first = bootstrap(*f.st, f.d, f.master_key, t0);
  REQUIRE(first.ok());
  CHECK(first->created_admin_key);
  CHECK(first->installation_id.size() == 36);
  CHECK(testing::must(f.st->meta(keys::meta_installation)) ==
        std::optional<std::string>(first->installation_id));

  REQUIRE(std::filesystem::exists(f.d.admin_key_file()));
  CHECK(mode_of(f.d.admin_key_file()) == 0600);
  const std::string file = read_file(f.d.admin_key_file());
  REQUIRE(file.size() > 1);
  CHECK(file.back() == '\n');
  const std::string key = file.substr(0, file.size() - 1);
  auto rec = testing::must(f.st->api_key_by_hash(hash_api_key(key, f.master_key)));
  REQUIRE(rec);
  CHECK(rec->name == "admin");
  CHECK(rec->role == "admin");
  CHECK_FALSE(std::filesystem::exists(f.d.admin_key_file().string() + ".tmp"));

  auto second = bootstrap(*f.st, f.d, f.master_key, t0 + 1);
  REQUIRE(second.ok());
  CHECK_FALSE(second->created_admin_key);
  CHECK(second->installation_id == first->installation_id);
  CHECK(read_file(f.d.admin_key_file()) == file);
  CHECK(testing::must(f.st->api_keys()).size() == 1);
  CHECK(testing::must(f.st->stream_version(events::system_stream)) == 1);

  // Across a restart as well.
  f.st.reset();
  f.st = open_store(f.d.db());
  auto third = bootstrap(*f.st, f.d, f.master_key, t0 + 2);
  REQUIRE(third.ok());
  CHECK_FALSE(third->created_admin_key);
  CHECK(third->installation_id == first->installation_id);
  CHECK(testing::must(f.st->api_keys()).size() == 1);
}

TEST_CASE("private files replace their old content and stay owner-only", "[data_dir]") {
  temp_dir dir;
  const auto p = dir / "secret";
  REQUIRE(write_private_file(p, "one").ok());
  REQUIRE(write_private_file(p, "two").ok());
  CHECK(read_file(p) == "two");
  CHECK(mode_of(p) == 0600);
  CHECK_FALSE(write_private_file(dir / "missing" / "secret", "x").ok());
}
