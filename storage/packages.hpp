// The built-in package feed: package files under <data-dir>/feed/<SpaceId>/ and their index in the
// `packages` column family (key: space id \0 lower-case package id \0 lower-case version).
//
// A package file is written to a temporary file under feed/.incoming/ while its hashes are
// computed, renamed into place only when complete, and indexed after the rename, with an intent
// row written before the rename so that sweep_feed() can finish or undo a publish a crash cut
// short. sweep_feed() also removes leftover temporary files and files no index row names, at
// start-up, before the server accepts requests.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "events/error.hpp"
#include "events/events.hpp"
#include "storage/store.hpp"

namespace octomig::storage {

// What a file name says: "Foo.Bar.1.0.0-beta.tar.gz" -> {"Foo.Bar", "1.0.0-beta", ".tar.gz"}.
struct package_identity {
  std::string package_id;
  std::string version;
  std::string extension;  // lower-case, with its dot
};

// Octopus's rule (PackageIdentity): strip a known extension, then split the rest with
// ^(\w+([_.-]\w+)*?)\.(SemVer with 1-4 numeric parts, pre-release and build metadata)$.
// errc::invalid_argument (with a message for the client) when the name does not fit;
// errc::too_large when the package id is longer than max_package_id_length.
result<package_identity> parse_package_file_name(const std::string& file_name);
inline constexpr std::size_t max_package_id_length = 100;  // NuGet's limit on package ids
// The extensions the feed accepts, longest first (".tar.gz" before ".gz" would match).
const std::vector<std::string>& package_extensions();

// SemVer 2 precedence (numeric parts compared as numbers, a pre-release sorts before its release,
// build metadata ignored); up to four numeric parts as NuGet allows. <0, 0 or >0.
int compare_versions(const std::string& a, const std::string& b);

// One row of the feed index.
struct package_record {
  std::string space_id;
  std::string package_id;  // as the first push spelled it
  std::string version;
  std::string extension;  // ".zip"
  std::string file_name;  // on disk, in feed/<space_id>/: "<PackageId>.<Version><extension>"
  std::uint64_t size_bytes = 0;
  std::string sha1;    // lower-case hex; Octopus's `Hash`
  std::string sha256;  // lower-case hex
  events::timestamp_us published = 0;
  std::string title;  // the package id unless a manifest says otherwise (not read yet)
};

// Every package of a space, in key order (lower-case package id, then version bytes).
result<std::vector<package_record>> list_packages(const store& st, const std::string& space_id);
// errc::not_found when absent. Package id and version compare case-insensitively.
result<package_record> get_package(const store& st, const std::string& space_id,
                                   const std::string& package_id, const std::string& version);
// "Foo.1.0.0" (the `packages-` prefix already removed): tries every split at a dot.
result<package_record> find_package(const store& st, const std::string& space_id,
                                    const std::string& id_and_version);
[[nodiscard]] status put_package(store& st, const package_record& rec);
// Removes the index row, then the file (a crash between leaves an orphan that sweep_feed removes),
// serialised with publishes of the same package. Blocking: never call it on an I/O thread.
[[nodiscard]] status delete_package(store& st, const std::filesystem::path& feed_root,
                                    const package_record& rec);

std::filesystem::path package_path(const std::filesystem::path& feed_root,
                                   const package_record& rec);
// Where raw uploads and package files are staged; on the feed's file system so renames are atomic.
std::filesystem::path incoming_dir(const std::filesystem::path& feed_root);

// A package file being written: a temporary file in incoming_dir, hashed as it is written. write()
// only copies into a buffer; a worker thread of the writer hashes and writes, so that the caller
// can go on reading. Errors of the worker show at a later write() or at finish().
// Destroying it before publish_package() took it over removes the temporary file.
class package_writer {
 public:
  // before_file_write, for tests: called by the writing thread before each buffer goes to the file
  // (a test blocks in it to play a slow disk).
  static result<std::unique_ptr<package_writer>> create(
      const std::filesystem::path& feed_root, std::function<void()> before_file_write = {});
  ~package_writer();
  package_writer(const package_writer&) = delete;
  package_writer& operator=(const package_writer&) = delete;

  // REQUIRES (for a caller that must not block, such as an I/O thread): ready() said yes since
  // the last write, and n is at most write_chunk. Otherwise write() may wait for the disk.
  status write(const char* data, std::size_t n);
  // Whether a write of up to write_chunk bytes would be taken without waiting. When not, wake is
  // kept and called once (from a worker thread) as soon as it would; a later ready() replaces it.
  bool ready(std::function<void()> wake);
  static constexpr std::size_t write_chunk = 1 << 20;
  // Flushes and syncs the file and computes the digests. REQUIRES: called once, after every write.
  status finish();
  std::uint64_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }
  const std::string& sha1() const { return sha1_; }      // after finish()
  const std::string& sha256() const { return sha256_; }  // after finish()
  // The file was renamed away: the destructor must not remove anything.
  void released() { path_.clear(); }

  struct pipeline;

 private:
  package_writer() = default;
  int fd_ = -1;
  std::filesystem::path path_;
  std::unique_ptr<pipeline> p_;
  std::uint64_t size_ = 0;
  std::string sha1_, sha256_;
};

enum class overwrite_mode { fail_if_exists, overwrite_existing, ignore_if_exists };

struct publish_outcome {
  package_record record;
  bool created = false;  // false: IgnoreIfExists kept the existing package
};

// A complete upload to put into the feed.
struct publish_command {
  std::string space_id;
  package_identity identity;
  overwrite_mode mode = overwrite_mode::fail_if_exists;
  bool may_replace = false;  // the caller may replace an existing package (an admin)
  events::timestamp_us published = 0;
  std::shared_ptr<package_writer> writer;  // every byte written; finished by the publish
};

// The messages clients see (contract §4.1).
inline constexpr const char* package_exists_message =
    "A package with the same ID and version already exists. To proceed anyway, specify an "
    "overwriteMode of OverwriteExisting or IgnoreIfExists.";

// For tests: publish_package returns errc::unavailable right before or right after the rename,
// leaving exactly what a crash at that point leaves; pause, when set, is called before the index
// is consulted (a test blocks in it to make a publish slow).
struct publish_faults {
  bool stop_before_rename = false;
  bool stop_after_rename = false;
  std::function<void()> pause;
};

// Finishes the writer (fsync), then, serialised with every other publish or delete of the same
// package (those of other packages run at the same time): decides by mode (errc::conflict for
// FailIfExists; errc::forbidden when replacing without may_replace), records its intent, renames
// the file into feed/<space>/, and writes the index row and removes the intent in one batch; a
// crash in between is completed or undone by sweep_feed. The writer is consumed either way.
// Blocking (disk syncs): never call it on an I/O thread.
result<publish_outcome> publish_package(store& st, const std::filesystem::path& feed_root,
                                        publish_command cmd, const publish_faults& faults = {});

// Start-up recovery, before any request: completes the publishes whose rename happened and drops
// the others (see publish_package), empties incoming_dir (creating it if missing) and removes
// files in feed/<space>/ that no index row names. REQUIRES: no upload or publish runs.
struct sweep_report {
  std::size_t publishes_completed = 0;
  std::size_t publishes_dropped = 0;
  std::size_t temporary_removed = 0;
  std::size_t orphans_removed = 0;
  // Damaged rows met on the way, each with what the sweep did about it: a damaged row does not
  // keep the server from starting (the API answers 500 where it is read).
  std::vector<std::string> damaged;
};
result<sweep_report> sweep_feed(store& st, const std::filesystem::path& feed_root);

// The feed index against itself and the files: every row decodes and names a file of its size.
// For `octomig-admin projections verify` (the index is not derived from the log, so there is no
// rebuild: a damaged package is deleted and pushed again).
struct feed_report {
  std::uint64_t packages = 0;
  std::vector<std::string> differences;
};
result<feed_report> verify_feed(const store& st, const std::filesystem::path& feed_root);

}  // namespace octomig::storage
