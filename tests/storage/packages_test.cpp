// The package feed's files and index (storage/packages.cpp) against real RocksDB and a real
// directory, one fresh temporary directory per test.
#include "storage/packages.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <iterator>
#include <mutex>
#include <thread>

#include "tests/support/store_helpers.hpp"
#include "tests/support/temp_dir.hpp"

namespace octomig::storage {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<package_writer> writer_with(const fs::path& feed, const std::string& bytes) {
  auto w = package_writer::create(feed);
  if (!w) FAIL(w.err().message);
  REQUIRE(w.value()->write(bytes.data(), bytes.size()).ok());
  return std::move(w.value());
}

// publish_package with the command spelled out as arguments.
result<publish_outcome> publish(store& st, const fs::path& feed, std::unique_ptr<package_writer> w,
                                const std::string& space, const package_identity& id,
                                overwrite_mode mode, bool may_replace, events::timestamp_us now,
                                const publish_faults& faults = {}) {
  publish_command cmd;
  cmd.space_id = space;
  cmd.identity = id;
  cmd.mode = mode;
  cmd.may_replace = may_replace;
  cmd.published = now;
  cmd.writer = std::move(w);
  return publish_package(st, feed, std::move(cmd), faults);
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::size_t files_in(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return 0;
  return static_cast<std::size_t>(
      std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

const package_identity foo_1{"Foo", "1.0.0", ".zip"};

}  // namespace

TEST_CASE("file names split into package id and version with Octopus's rule", "[packages]") {
  struct example {
    const char* name;
    const char* id;
    const char* version;
    const char* ext;
  };
  for (auto e : {example{"Foo.1.0.0.zip", "Foo", "1.0.0", ".zip"},
                 example{"Octopus.Space.Migration.1.0.0-abcd1234.zip", "Octopus.Space.Migration",
                         "1.0.0-abcd1234", ".zip"},
                 example{"My_App-Web.2.10.3.4.nupkg", "My_App-Web", "2.10.3.4", ".nupkg"},
                 example{"Foo.Bar.1.2.3.tar.gz", "Foo.Bar", "1.2.3", ".tar.gz"},
                 example{"Foo.1.0.0.TGZ", "Foo", "1.0.0", ".tgz"},
                 example{"Foo.1.0.0.tar", "Foo", "1.0.0", ".tar"},
                 example{"Foo.1.0.0.tar.bz2", "Foo", "1.0.0", ".tar.bz2"},
                 example{"app.3.jar", "app", "3", ".jar"},
                 example{"Foo.1.0.0-beta.2+build.7.zip", "Foo", "1.0.0-beta.2+build.7", ".zip"}}) {
    INFO(e.name);
    auto r = parse_package_file_name(e.name);
    if (!r) FAIL(r.err().message);
    CHECK(r->package_id == e.id);
    CHECK(r->version == e.version);
    CHECK(r->extension == e.ext);
  }
}

TEST_CASE("file names without a version, with a bad extension or characters are refused",
          "[packages]") {
  for (const char* name : {"Foo.zip", "Foo.1.0.0.exe", "Foo.1.0.0", "Foo 1.0.0.zip", ".1.0.0.zip",
                           "Foo..1.0.0.zip", "../Foo.1.0.0.zip", ".zip"}) {
    INFO(name);
    auto r = parse_package_file_name(name);
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().code == errc::invalid_argument);
  }
}

TEST_CASE("a package id over 100 characters is too long", "[packages]") {
  auto r = parse_package_file_name(std::string(101, 'a') + ".1.0.0.zip");
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().code == errc::too_large);
  CHECK(r.err().message == "Package Name is too long.");
  CHECK(parse_package_file_name(std::string(100, 'a') + ".1.0.0.zip").ok());
  CHECK(parse_package_file_name(std::string(300, 'a') + ".1.0.0.zip").err().code ==
        errc::too_large);
}

TEST_CASE("versions compare by SemVer precedence", "[packages]") {
  CHECK(compare_versions("1.0.0", "1.0.1") < 0);
  CHECK(compare_versions("1.9.0", "1.10.0") < 0);
  CHECK(compare_versions("1.0.0-beta", "1.0.0") < 0);
  CHECK(compare_versions("1.0.0-alpha.2", "1.0.0-alpha.10") < 0);
  CHECK(compare_versions("1.0.0-alpha", "1.0.0-alpha.1") < 0);
  CHECK(compare_versions("1.0.0-2", "1.0.0-alpha") < 0);
  CHECK(compare_versions("1.0", "1.0.0") == 0);
  CHECK(compare_versions("1.0.0+a", "1.0.0+b") == 0);
  CHECK(compare_versions("2.0.0", "1.99.99.99") > 0);
}

TEST_CASE("a published package is in the feed folder and the index, with its hashes",
          "[packages]") {
  testing::temp_dir dir("octomig-packages");
  auto st = testing::open_store(dir / "db");
  auto feed = dir / "feed";

  auto out = publish(*st, feed, writer_with(feed, "abc"), "Spaces-1", foo_1,
                     overwrite_mode::fail_if_exists, false, 1490043617000000);
  if (!out) FAIL(out.err().message);
  CHECK(out->created);
  const auto& r = out->record;
  CHECK(r.file_name == "Foo.1.0.0.zip");
  CHECK(r.size_bytes == 3);
  CHECK(r.sha1 == "a9993e364706816aba3e25717850c26c9cd0d89d");
  CHECK(r.sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(read_file(feed / "Spaces-1" / "Foo.1.0.0.zip") == "abc");
  CHECK(files_in(incoming_dir(feed)) == 0);

  auto got = get_package(*st, "Spaces-1", "foo", "1.0.0");  // ids compare case-insensitively
  REQUIRE(got.ok());
  CHECK(got->package_id == "Foo");
  CHECK(got->published == 1490043617000000);
  CHECK(find_package(*st, "Spaces-1", "Foo.1.0.0").ok());
  CHECK(find_package(*st, "Spaces-1", "Foo.1.0.1").err().code == errc::not_found);
  CHECK(get_package(*st, "Spaces-2", "Foo", "1.0.0").err().code == errc::not_found);

  SECTION("the index survives a restart") {
    st.reset();
    st = testing::open_store(dir / "db");
    auto all = list_packages(*st, "Spaces-1");
    REQUIRE(all.ok());
    REQUIRE(all->size() == 1);
    CHECK(all->front().sha1 == r.sha1);
  }
  SECTION("delete removes the row and the file") {
    REQUIRE(delete_package(*st, feed, r).ok());
    CHECK(get_package(*st, "Spaces-1", "Foo", "1.0.0").err().code == errc::not_found);
    CHECK_FALSE(fs::exists(feed / "Spaces-1" / "Foo.1.0.0.zip"));
  }
}

TEST_CASE("a package of many buffers, written in odd pieces, is stored and hashed exactly",
          "[packages]") {
  // Whole 1 MiB buffers go to the disk directly where the file system allows it; a partial last
  // buffer goes through the page cache. Both sizes: an exact multiple of the buffer, and not.
  struct example {
    std::size_t size;
    const char* sha1;
    const char* sha256;
  };
  for (auto e : {example{3 * 1024 * 1024 + 12345, "b724216f84ebd8c67b4f08b6ba4a8020c0b29ee0",
                         "38dae541a2e2e0fdcf3463cdf751f69f05978d56498738245e5cadcb5437d661"},
                 example{2 * 1024 * 1024, "2e6688aefe0f2f68d77c5e79482922985bc91d92",
                         "44edc80377f7d227f3e05a12c7a6458262ffa104db638068e7f48cae2917a26e"}}) {
    INFO(e.size << " bytes");
    testing::temp_dir dir("octomig-packages");
    auto st = testing::open_store(dir / "db");
    auto feed = dir / "feed";
    std::string bytes(e.size, '\0');
    for (std::size_t i = 0; i < e.size; ++i) bytes[i] = static_cast<char>(i * 31 % 251);
    auto w = package_writer::create(feed);
    REQUIRE(w.ok());
    for (std::size_t at = 0, piece = 1; at < bytes.size();
         at += piece, piece = piece * 7 % 99991 + 1)
      REQUIRE(w.value()->write(bytes.data() + at, std::min(piece, bytes.size() - at)).ok());
    auto out = publish(*st, feed, std::move(w.value()), "Spaces-1", foo_1,
                       overwrite_mode::fail_if_exists, false, 1);
    if (!out) FAIL(out.err().message);
    CHECK(out->record.size_bytes == e.size);
    CHECK(out->record.sha1 == e.sha1);
    CHECK(out->record.sha256 == e.sha256);
    CHECK(read_file(feed / "Spaces-1" / "Foo.1.0.0.zip") == bytes);
  }
}

TEST_CASE("publishing an existing version follows the overwrite mode", "[packages]") {
  testing::temp_dir dir("octomig-packages");
  auto st = testing::open_store(dir / "db");
  auto feed = dir / "feed";
  REQUIRE(publish(*st, feed, writer_with(feed, "one"), "Spaces-1", foo_1,
                  overwrite_mode::fail_if_exists, false, 1)
              .ok());

  SECTION("FailIfExists is a conflict and leaves the first package and no temporary file") {
    auto r = publish(*st, feed, writer_with(feed, "two"), "Spaces-1", foo_1,
                     overwrite_mode::fail_if_exists, true, 2);
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().code == errc::conflict);
    CHECK(r.err().message == package_exists_message);
    CHECK(read_file(feed / "Spaces-1" / "Foo.1.0.0.zip") == "one");
    CHECK(files_in(incoming_dir(feed)) == 0);
  }
  SECTION("IgnoreIfExists keeps the first package and says it did not create one") {
    auto r = publish(*st, feed, writer_with(feed, "two"), "Spaces-1", foo_1,
                     overwrite_mode::ignore_if_exists, false, 2);
    REQUIRE(r.ok());
    CHECK_FALSE(r->created);
    CHECK(r->record.size_bytes == 3);
    CHECK(read_file(feed / "Spaces-1" / "Foo.1.0.0.zip") == "one");
  }
  SECTION("OverwriteExisting replaces it, but only for a caller who may replace") {
    auto refused = publish(*st, feed, writer_with(feed, "two!"), "Spaces-1", foo_1,
                           overwrite_mode::overwrite_existing, false, 2);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.err().code == errc::forbidden);
    auto r = publish(*st, feed, writer_with(feed, "two!"), "Spaces-1",
                     package_identity{"foo", "1.0.0", ".zip"}, overwrite_mode::overwrite_existing,
                     true, 2);
    REQUIRE(r.ok());
    CHECK(r->created);
    CHECK(r->record.package_id == "Foo");  // the first push's spelling
    CHECK(r->record.size_bytes == 4);
    CHECK(read_file(feed / "Spaces-1" / "Foo.1.0.0.zip") == "two!");
    CHECK(list_packages(*st, "Spaces-1")->size() == 1);
  }
}

TEST_CASE("a writer dropped before publishing leaves no file", "[packages]") {
  testing::temp_dir dir("octomig-packages");
  auto feed = dir / "feed";
  {
    auto w = writer_with(feed, std::string(100000, 'x'));
    CHECK(files_in(incoming_dir(feed)) == 1);
  }
  CHECK(files_in(incoming_dir(feed)) == 0);
}

TEST_CASE("the start-up sweep removes unfinished uploads and unindexed files only", "[packages]") {
  testing::temp_dir dir("octomig-packages");
  auto st = testing::open_store(dir / "db");
  auto feed = dir / "feed";
  REQUIRE(publish(*st, feed, writer_with(feed, "kept"), "Spaces-1", foo_1,
                  overwrite_mode::fail_if_exists, false, 1)
              .ok());
  // What a crash leaves: an upload in progress, and a file renamed into place but not indexed.
  std::ofstream(incoming_dir(feed) / "upload-1.partial") << "half";
  std::ofstream(feed / "Spaces-1" / "Bar.2.0.0.zip") << "orphan";

  auto report = sweep_feed(*st, feed);
  REQUIRE(report.ok());
  CHECK(report->temporary_removed == 1);
  CHECK(report->orphans_removed == 1);
  CHECK(files_in(incoming_dir(feed)) == 0);
  CHECK_FALSE(fs::exists(feed / "Spaces-1" / "Bar.2.0.0.zip"));
  CHECK(read_file(feed / "Spaces-1" / "Foo.1.0.0.zip") == "kept");
}

TEST_CASE("a replacement cut short after its rename is completed at start-up", "[packages]") {
  testing::temp_dir dir("octomig-packages");
  auto feed = dir / "feed";
  std::string old_sha1;
  {
    auto st = testing::open_store(dir / "db");
    auto first = publish(*st, feed, writer_with(feed, "old bytes"), "Spaces-1", foo_1,
                         overwrite_mode::fail_if_exists, false, 1);
    REQUIRE(first.ok());
    old_sha1 = first->record.sha1;
    publish_faults crash;
    crash.stop_after_rename = true;
    auto cut = publish(*st, feed, writer_with(feed, "new bytes!"), "Spaces-1",
                       package_identity{"Foo", "1.0.0", ".tgz"}, overwrite_mode::overwrite_existing,
                       true, 2, crash);
    REQUIRE_FALSE(cut.ok());
    // The crash state: the new file is in place, the index still describes the old one.
    CHECK(read_file(feed / "Spaces-1" / "Foo.1.0.0.tgz") == "new bytes!");
    CHECK(get_package(*st, "Spaces-1", "Foo", "1.0.0")->sha1 == old_sha1);
  }
  auto st = testing::open_store(dir / "db");
  auto report = sweep_feed(*st, feed);
  REQUIRE(report.ok());
  CHECK(report->publishes_completed == 1);
  auto row = get_package(*st, "Spaces-1", "Foo", "1.0.0");
  REQUIRE(row.ok());
  CHECK(row->size_bytes == 10);
  CHECK(row->sha1 != old_sha1);
  CHECK(row->file_name == "Foo.1.0.0.tgz");
  CHECK(read_file(package_path(feed, *row)) == "new bytes!");
  CHECK_FALSE(fs::exists(feed / "Spaces-1" / "Foo.1.0.0.zip"));  // the replaced file
  // A second sweep finds nothing more to do.
  auto again = sweep_feed(*st, feed);
  REQUIRE(again.ok());
  CHECK(again->publishes_completed == 0);
  CHECK(again->orphans_removed == 0);
}

TEST_CASE("a publish cut short before its rename is undone at start-up", "[packages]") {
  testing::temp_dir dir("octomig-packages");
  auto feed = dir / "feed";
  {
    auto st = testing::open_store(dir / "db");
    REQUIRE(publish(*st, feed, writer_with(feed, "old bytes"), "Spaces-1", foo_1,
                    overwrite_mode::fail_if_exists, false, 1)
                .ok());
    publish_faults crash;
    crash.stop_before_rename = true;
    // A crash removes nothing: the temporary file stays.
    REQUIRE_FALSE(publish(*st, feed, writer_with(feed, "never installed"), "Spaces-1", foo_1,
                          overwrite_mode::overwrite_existing, true, 2, crash)
                      .ok());
    CHECK(files_in(incoming_dir(feed)) == 1);
  }
  auto st = testing::open_store(dir / "db");
  auto report = sweep_feed(*st, feed);
  REQUIRE(report.ok());
  CHECK(report->publishes_dropped == 1);
  CHECK(report->publishes_completed == 0);
  CHECK(read_file(feed / "Spaces-1" / "Foo.1.0.0.zip") == "old bytes");
  CHECK(get_package(*st, "Spaces-1", "Foo", "1.0.0")->size_bytes == 9);
  CHECK(files_in(incoming_dir(feed)) == 0);
}

TEST_CASE("a writer whose disk falls behind says so instead of blocking, and wakes its caller",
          "[packages]") {
  testing::temp_dir dir("octomig-packages");
  auto feed = dir / "feed";
  // The "disk" takes no buffer until the test opens it.
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  auto w = package_writer::create(feed, [&] {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::seconds(20), [&] { return open; });
  });
  REQUIRE(w.ok());
  auto& writer = *w.value();
  const std::string chunk(package_writer::write_chunk, 'z');
  std::atomic<int> woken{0};
  auto wake = [&] { ++woken; };
  // Every write that ready() allowed returns at once; within the writer's few buffers, ready()
  // says no.
  int written = 0;
  while (writer.ready(wake)) {
    REQUIRE(written < 16);
    REQUIRE(writer.write(chunk.data(), chunk.size()).ok());
    ++written;
  }
  CHECK(written >= 2);
  CHECK(woken == 0);
  {
    std::lock_guard<std::mutex> lock(mu);
    open = true;
  }
  cv.notify_all();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (woken == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK(woken == 1);
  CHECK(writer.ready(wake));
  REQUIRE(writer.write(chunk.data(), chunk.size()).ok());
  REQUIRE(writer.finish().ok());
  CHECK(writer.size() == static_cast<std::uint64_t>(written + 1) * chunk.size());
  CHECK(fs::file_size(writer.path()) == writer.size());
}

}  // namespace octomig::storage
