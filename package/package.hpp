// The migration package format v1 (docs/package-format.md is the contract): a zip of exported
// documents and task logs with a manifest, every sensitive value sealed with a key derived from the
// export password and, when encrypted, everything but the manifest in one authenticated stream.
// The writer streams: its memory does not grow with the size of the documents.
#pragma once

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "events/error.hpp"
#include "events/events.hpp"
#include "migration/schema.hpp"

namespace octomig::package {

// The manifest's "Format": a reader of this version reads exactly this.
inline constexpr const char* format_name = "octomig-migration/1";

// Argon2id cost of deriving the keys from the password.
struct kdf_limits {
  unsigned long long opslimit = 2;               // Default: crypto_pwhash_OPSLIMIT_INTERACTIVE
  std::size_t memlimit = std::size_t{64} << 20;  // Default: crypto_pwhash_MEMLIMIT_INTERACTIVE
};
// libsodium's minimum (crypto_pwhash_*_MIN): for tests, where the cost only slows them down.
inline constexpr kdf_limits min_kdf_limits{1, 8192};
// The most a reader accepts from a manifest (a hostile one could ask for any amount of memory);
// the writer refuses to make what no reader would open.
inline constexpr unsigned long long max_opslimit = 10;
inline constexpr std::size_t max_memlimit = std::size_t{1} << 30;

struct writer_options {
  // The package file to create. It must not exist. The format names it
  // "<PackageId>.<PackageVersion>.zip"; choosing that name (or a temporary one renamed later) is
  // the caller's business: the reader does not look at it.
  std::filesystem::path file;
  std::string package_id, package_version, producer_version, source_installation_id;
  // Default: false (documents and task logs are plain zip entries; sensitive values are sealed
  // either way).
  bool encrypt = false;
  boost::json::object options;          // the export options as recorded in the manifest
  kdf_limits kdf;                       // Default: interactive
  events::timestamp_us created_at = 0;  // the manifest's CreatedAt. Default (0): now
  // Called before each write to the file system with the bytes about to be written; returning an
  // error makes that write fail (tests simulate a full disk with it). May be empty.
  std::function<status(std::size_t)> before_write;
};

struct written_package {
  std::filesystem::path file;
  std::uint64_t size_bytes = 0;
  std::string sha256;                           // lower-case hex of the whole file
  std::string sha1;                             // the same, SHA-1 (what feeds call its Hash)
  std::map<std::string, std::uint64_t> counts;  // documents per collection
  std::uint64_t task_logs = 0;
  bool encrypted = false;
};

// Writes one package. Not thread-safe: one exporter feeds it.
// Memory: one document at a time and fixed buffers (about 2 MiB), plus a few hundred bytes per
// entry (the zip's central directory, the names kept to refuse duplicates and, unencrypted, the
// digests the manifest lists), whatever the size of the documents.
class writer {
 public:
  // Creates the file and derives the keys (about 40 ms at interactive limits). The password is
  // not kept. errc::invalid_argument for bad options or an empty password; errc::conflict when
  // the file exists; errc::io_error when it cannot be created.
  static result<std::unique_ptr<writer>> create(const writer_options& o,
                                                const std::string& password);
  ~writer();  // an unfinished writer removes its (partial) file
  writer(const writer&) = delete;
  writer& operator=(const writer&) = delete;

  // revealed_doc's sensitive values (migration::sensitive_paths) must be revealed: a property
  // {"HasValue":true,"NewValue":"plain"} or {"HasValue":false,"NewValue":null} (or null), a
  // sensitive variable's Value a string or null; they are sealed before anything is written.
  // errc::invalid_argument for an unsafe id, a duplicate, or a sensitive value in another shape;
  // errc::io_error when the disk fails (every later call then fails too).
  status add_document(const migration::collection_schema& c, const std::string& id,
                      boost::json::object revealed_doc);
  status add_task_log(const std::string& task_id, const boost::json::value& log);
  void set_left_out(boost::json::array left_out);  // recorded in the manifest as "LeftOut"
  // Writes the manifest and its MAC, closes and fsyncs the file (and its folder). REQUIRES: called
  // once. On failure the file is removed when the writer is destroyed.
  result<written_package> finish();

  struct impl;

 private:
  explicit writer(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

struct reader_limits {
  std::uint64_t max_entries = 1'000'000;         // per zip (the package, the encrypted payload)
  std::uint64_t max_entry_bytes = 256ull << 20;  // uncompressed, per entry but payload.bin
  std::uint64_t max_total_bytes = 64ull << 30;   // uncompressed, per zip
};

// Reads one package. Not thread-safe.
class reader {
 public:
  // Opens the zip, reads and parses manifest.json, checks Format and the manifest's shape, and
  // rejects entries with absolute paths, "..", backslashes, duplicates, symlinks (anything but a
  // regular file), zip encryption, or over the limits, and a zip whose local headers and data are
  // not laid out as the central directory says: errc::invalid_argument with a message that says
  // what is wrong, for a file that is not a migration package or is damaged; errc::not_found
  // when there is no such file. temp_dir: where for_each_* decrypts an encrypted payload (an
  // anonymous file, gone when closed). Default (empty): the package's folder.
  static result<std::unique_ptr<reader>> open(const std::filesystem::path& file,
                                              reader_limits limits = {},
                                              const std::filesystem::path& temp_dir = {});
  ~reader();
  reader(const reader&) = delete;
  reader& operator=(const reader&) = delete;

  const boost::json::object& manifest() const;
  bool encrypted() const;
  // Names and (uncompressed) sizes of the package zip's entries, in zip order.
  std::vector<std::pair<std::string, std::uint64_t>> entries() const;
  // Without the password: every digest of the manifest's "Entries" checked against the entries,
  // and no entry missing from or extra to the list. errc::corruption naming the entry. Only as
  // trustworthy as the manifest, which unlock() authenticates.
  status verify_digests() const;
  // Derives the keys from the manifest's Kdf. A wrong password -> errc::invalid_argument "The
  // password does not match the one the package was exported with." (checked with PasswordCheck
  // before anything else); then checks manifest.mac -> errc::corruption when the manifest was
  // changed. errc::io_error when the memory for the key derivation cannot be had.
  status unlock(const std::string& password);
  // REQUIRES: unlock(). Calls fn for every document (collection, id, the object with sealed values
  // as stored) in package order, and at the end checks the counts against the manifest. Entries
  // are checked as they are read: zip CRC, size and deflate stream end, and for an unencrypted
  // package the manifest's digest. An encrypted payload is first decrypted as a stream into an
  // anonymous temporary file (see open()) that holds the inner zip, once per reader.
  // errc::corruption on any mismatch, authentication failure or truncation; fn's error stops the
  // walk and is returned.
  status for_each_document(
      const std::function<status(const std::string& collection, const std::string& id,
                                 boost::json::object doc)>& fn);
  status for_each_task_log(
      const std::function<status(const std::string& task_id, boost::json::value log)>& fn);
  // REQUIRES: unlock(). The plaintext of a {"MigrationSealed":..} value; errc::corruption if it
  // does not open, errc::invalid_argument when it is no sealed value.
  result<std::string> open_value(const boost::json::value& sealed) const;

  struct impl;

 private:
  explicit reader(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

// True for {"MigrationSealed":"<string>"} (and nothing else in the object).
bool is_sealed_value(const boost::json::value& v);

}  // namespace octomig::package
