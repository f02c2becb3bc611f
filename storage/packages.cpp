// The built-in feed's files and index (see packages.hpp for the crash-safety contract).
#include "storage/packages.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <thread>
#include <unordered_map>

#include "base/ascii.hpp"
#include "base/hex.hpp"
#include "storage/keys.hpp"
#include "storage/store_impl.hpp"

namespace octomig::storage {
namespace fs = std::filesystem;

namespace {

// Serialises publishes and deletes of one package: the existence check, the rename and the index
// write of one push must not interleave with another push or delete of the same package. Those of
// different packages do not wait on each other: each package key has its own mutex, which lives
// while someone holds or waits for it.
class package_locks {
  struct entry {
    std::mutex mutex;
    std::size_t users = 0;  // guarded by mu_: guards holding or waiting for mutex
  };
  std::mutex mu_;  // guards locks_ only; never held while a package's mutex is waited for
  std::unordered_map<std::string, entry> locks_;

 public:
  class guard {
   public:
    guard(package_locks& owner, std::string key) : owner_(owner), key_(std::move(key)) {
      {
        std::lock_guard<std::mutex> lock(owner_.mu_);
        entry_ = &owner_.locks_[key_];  // unordered_map nodes stay put: the pointer stays valid
        ++entry_->users;
      }
      entry_->mutex.lock();
    }
    ~guard() {
      entry_->mutex.unlock();
      std::lock_guard<std::mutex> lock(owner_.mu_);
      if (--entry_->users == 0) owner_.locks_.erase(key_);
    }
    guard(const guard&) = delete;
    guard& operator=(const guard&) = delete;

   private:
    package_locks& owner_;
    std::string key_;
    entry* entry_ = nullptr;
  };
};

package_locks feed_locks;

using ascii::lower;

std::string index_key(const std::string& space, const std::string& package_id,
                      const std::string& version) {
  std::string k = space;
  k.push_back('\0');
  k += lower(package_id);
  k.push_back('\0');
  k += lower(version);
  return k;
}

// Row encoding, version 1: a format byte, then every field in declaration order; strings as a
// u32 length and bytes, numbers as u64, all big-endian. New fields go at the end.
constexpr char record_format = 1;

void put_str(std::string& out, const std::string& s) {
  keys::put_u32(out, static_cast<std::uint32_t>(s.size()));
  out += s;
}

std::string encode(const package_record& r) {
  std::string out(1, record_format);
  for (const auto* s : {&r.space_id, &r.package_id, &r.version, &r.extension, &r.file_name, &r.sha1,
                        &r.sha256, &r.title})
    put_str(out, *s);
  keys::put_u64(out, r.size_bytes);
  keys::put_u64(out, static_cast<std::uint64_t>(r.published));
  return out;
}

// Reads what put_str wrote at pos and moves pos past it; false when in is too short.
bool get_str(std::string_view in, std::size_t& pos, std::string& out) {
  if (in.size() - pos < 4) return false;
  std::size_t n = keys::get_u32(in.substr(pos, 4));
  pos += 4;
  if (in.size() - pos < n) return false;
  out.assign(in.substr(pos, n));
  pos += n;
  return true;
}

// key: the row's key, to name it when the row is damaged.
result<package_record> decode(std::string_view in, std::string_view key) {
  auto bad = [key] {
    return make_error(errc::corruption, "the package index row " + keys::printable(key) +
                                            " is damaged; delete the package and push it again");
  };
  if (in.empty() || in[0] != record_format) return bad();
  std::size_t pos = 1;
  package_record r;
  for (auto* s : {&r.space_id, &r.package_id, &r.version, &r.extension, &r.file_name, &r.sha1,
                  &r.sha256, &r.title})
    if (!get_str(in, pos, *s)) return bad();
  if (in.size() - pos < 16) return bad();
  r.size_bytes = keys::get_u64(in.substr(pos, 8));
  r.published = static_cast<events::timestamp_us>(keys::get_u64(in.substr(pos + 8, 8)));
  return r;
}

rocksdb::WriteOptions write_options(const store::impl& d) {
  rocksdb::WriteOptions wo;
  wo.sync = d.opts.sync;
  return wo;
}

std::string random_suffix() {
  static const bool ready = sodium_init() >= 0;
  (void)ready;  // randombytes works without it; sodium_init only picks the best source
  unsigned char b[8];
  randombytes_buf(b, sizeof b);
  return base::to_hex(b, sizeof b);
}

// Numeric-aware part comparison for SemVer pre-release identifiers.
int compare_identifiers(const std::string& a, const std::string& b) {
  auto numeric = [](const std::string& s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  bool na = numeric(a), nb = numeric(b);
  if (na && nb) {
    auto ta = a.substr(std::min(a.find_first_not_of('0'), a.size()));
    auto tb = b.substr(std::min(b.find_first_not_of('0'), b.size()));
    if (ta.size() != tb.size()) return ta.size() < tb.size() ? -1 : 1;
    return ta.compare(tb) < 0 ? -1 : (ta == tb ? 0 : 1);
  }
  if (na != nb) return na ? -1 : 1;  // numeric identifiers sort first
  auto la = lower(a), lb = lower(b);
  return la < lb ? -1 : (la == lb ? 0 : 1);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    auto end = s.find(sep, start);
    out.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

}  // namespace

const std::vector<std::string>& package_extensions() {
  static const std::vector<std::string> list = {".tar.gz", ".tar.bz2", ".tar.xz", ".nupkg", ".zip",
                                                ".tgz",    ".tar",     ".jar",    ".war",   ".ear"};
  return list;
}

result<package_identity> parse_package_file_name(const std::string& file_name) {
  auto invalid = [&] {
    return make_error(errc::invalid_argument,
                      "The package file name '" + file_name +
                          "' is not valid: expected <PackageId>.<Version><extension>, e.g. "
                          "Foo.1.0.0.zip, with a SemVer version and one of the extensions .zip, "
                          ".nupkg, .tar, .tar.gz, .tgz, .tar.bz2, .tar.xz, .jar, .war, .ear.");
  };
  // Octopus limits package ids to 100 characters; a name this long cannot hold a valid one
  // anyway, and bounding it here also bounds the regex's backtracking.
  if (file_name.size() > 255) return make_error(errc::too_large, "Package Name is too long.");
  package_identity id;
  std::string stem;
  for (const auto& ext : package_extensions()) {
    if (ascii::iends_with(file_name, ext) && file_name.size() > ext.size()) {
      id.extension = ext;
      stem = file_name.substr(0, file_name.size() - ext.size());
      break;
    }
  }
  if (id.extension.empty()) return invalid();
  // std::regex has no named groups; otherwise this is Octopus's PackageIdentity pattern.
  static const std::regex pattern(
      R"(^(\w+(?:[_.-]\w+)*?)\.(\d+(?:\.\d+){0,3}(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)$)");
  std::smatch m;
  if (!std::regex_match(stem, m, pattern)) return invalid();
  id.package_id = m[1].str();
  id.version = m[2].str();
  if (id.package_id.size() > max_package_id_length)
    return make_error(errc::too_large, "Package Name is too long.");
  return id;
}

int compare_versions(const std::string& a, const std::string& b) {
  auto strip_build = [](const std::string& v) { return v.substr(0, v.find('+')); };
  auto va = strip_build(a), vb = strip_build(b);
  auto da = va.find('-'), db = vb.find('-');
  auto na = split(va.substr(0, da), '.'), nb = split(vb.substr(0, db), '.');
  // NuGet: 1.0 == 1.0.0 == 1.0.0.0, so missing numeric parts count as 0.
  while (na.size() < 4) na.push_back("0");
  while (nb.size() < 4) nb.push_back("0");
  for (std::size_t i = 0; i < 4; ++i)
    if (int c = compare_identifiers(na[i], nb[i])) return c;
  bool pa = da != std::string::npos, pb = db != std::string::npos;
  if (pa != pb) return pa ? -1 : 1;  // 1.0.0-beta < 1.0.0
  if (!pa) return 0;
  auto xa = split(va.substr(da + 1), '.'), xb = split(vb.substr(db + 1), '.');
  for (std::size_t i = 0; i < std::min(xa.size(), xb.size()); ++i)
    if (int c = compare_identifiers(xa[i], xb[i])) return c;
  return xa.size() == xb.size() ? 0 : (xa.size() < xb.size() ? -1 : 1);
}

result<std::vector<package_record>> list_packages(const store& st, const std::string& space_id) {
  auto& d = st.internals();
  std::string from = keys::prefix(space_id);
  std::string to = keys::prefix_end(from);
  rocksdb::Slice upper(to);  // must outlive the iterator
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(d.db->NewIterator(ro, d.h(cf_packages)));
  std::vector<package_record> out;
  for (it->Seek(from); it->Valid(); it->Next()) {
    auto r = decode(it->value().ToStringView(), it->key().ToStringView());
    if (!r) return r.err();
    out.push_back(std::move(r.value()));
  }
  if (!it->status().ok()) return io(it->status(), "cannot list packages of " + space_id);
  return out;
}

result<package_record> get_package(const store& st, const std::string& space_id,
                                   const std::string& package_id, const std::string& version) {
  auto& d = st.internals();
  std::string v;
  auto key = index_key(space_id, package_id, version);
  auto s = d.db->Get(rocksdb::ReadOptions(), d.h(cf_packages), key, &v);
  if (s.IsNotFound())
    return make_error(errc::not_found, "There is no package " + package_id + " " + version + ".");
  if (!s.ok()) return io(s, "cannot read the package index");
  return decode(v, key);
}

result<package_record> find_package(const store& st, const std::string& space_id,
                                    const std::string& id_and_version) {
  // A version may itself contain dots, and so may a package id: try each split, shortest id first
  // as Octopus's lazy pattern does.
  for (auto dot = id_and_version.find('.'); dot != std::string::npos;
       dot = id_and_version.find('.', dot + 1)) {
    auto r =
        get_package(st, space_id, id_and_version.substr(0, dot), id_and_version.substr(dot + 1));
    if (r || r.err().code != errc::not_found) return r;
  }
  return make_error(errc::not_found, "There is no package " + id_and_version + ".");
}

status put_package(store& st, const package_record& rec) {
  auto& d = st.internals();
  auto s = d.db->Put(write_options(d), d.h(cf_packages),
                     index_key(rec.space_id, rec.package_id, rec.version), encode(rec));
  if (!s.ok()) return io(s, "cannot write the package index");
  return ok_status();
}

// ---- publish intents ----
//
// A publish renames the package into place, then writes its index row. For a replacement the
// rename overwrites the old file, so a crash between the two would leave the new bytes indexed with
// the old size and hashes. Before the rename, an intent row is written (synced): the temporary
// file's name, the file the publish replaces (when its name differs) and the new row. The index row
// and the intent's removal then go in one synced batch. At start-up, an intent whose temporary file
// still exists never got renamed and is dropped; one whose file is gone was renamed, and the
// publish is completed. Intent keys start with a byte no space id starts with, so space scans never
// see them.

namespace {

const std::string intent_prefix = std::string("\x01intent") + '\0';

std::string intent_key(const package_record& rec) {
  return intent_prefix + index_key(rec.space_id, rec.package_id, rec.version);
}

struct publish_intent {
  std::string temporary_name;  // in incoming_dir
  std::string replaced_file;   // in feed/<space>/, removed once the publish is complete; or empty
  package_record record;
};

std::string encode(const publish_intent& i) {
  std::string out;
  put_str(out, i.temporary_name);
  put_str(out, i.replaced_file);
  return out + encode(i.record);
}

result<publish_intent> decode_intent(std::string_view in, std::string_view key) {
  auto bad = [key] {
    return make_error(errc::corruption,
                      "the package publish record " + keys::printable(key) + " is damaged");
  };
  publish_intent i;
  std::size_t pos = 0;
  for (auto* s : {&i.temporary_name, &i.replaced_file})
    if (!get_str(in, pos, *s)) return bad();
  auto r = decode(in.substr(pos), key);
  if (!r) return r.err();
  i.record = std::move(*r);
  return i;
}

status put_intent(store& st, const publish_intent& i) {
  auto& d = st.internals();
  auto s = d.db->Put(write_options(d), d.h(cf_packages), intent_key(i.record), encode(i));
  if (!s.ok()) return io(s, "cannot record the package publish");
  return ok_status();
}

status drop_intent(store& st, const package_record& rec) {
  auto& d = st.internals();
  auto s = d.db->Delete(write_options(d), d.h(cf_packages), intent_key(rec));
  if (!s.ok()) return io(s, "cannot drop the package publish record");
  return ok_status();
}

// The index row and the intent's removal, in one synced batch.
status complete_intent(store& st, const package_record& rec) {
  auto& d = st.internals();
  rocksdb::WriteBatch b;
  b.Put(d.h(cf_packages), index_key(rec.space_id, rec.package_id, rec.version), encode(rec));
  b.Delete(d.h(cf_packages), intent_key(rec));
  auto s = d.db->Write(write_options(d), &b);
  if (!s.ok()) return io(s, "cannot write the package index");
  return ok_status();
}

bool sync_directory(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  bool synced = ::fsync(fd) == 0;
  ::close(fd);
  return synced;
}

}  // namespace

fs::path package_path(const fs::path& feed_root, const package_record& rec) {
  return feed_root / rec.space_id / rec.file_name;
}

fs::path incoming_dir(const fs::path& feed_root) {
  return feed_root / ".incoming";
}

status delete_package(store& st, const fs::path& feed_root, const package_record& rec) {
  package_locks::guard lock(feed_locks, index_key(rec.space_id, rec.package_id, rec.version));
  auto& d = st.internals();
  auto s = d.db->Delete(write_options(d), d.h(cf_packages),
                        index_key(rec.space_id, rec.package_id, rec.version));
  if (!s.ok()) return io(s, "cannot delete from the package index");
  std::error_code ec;
  fs::remove(package_path(feed_root, rec), ec);  // an orphan left here is swept at start-up
  return ok_status();
}

// ---- package_writer ----

// The writer's workers: write() copies each piece into a 1 MiB buffer and hands full buffers over
// to three threads, one per job: SHA-1, SHA-256, and writing the file. A buffer is reused once all
// three are done with it. The caller (an I/O thread during an upload) thus only copies and goes
// back to reading the socket: the client, the reading, both digests and the disk all run at the
// same time instead of taking turns. At most `max_buffers` buffers exist, so a fast client waits
// for the disk instead of filling memory.
//
// The file is written with O_DIRECT where the file system allows it (buffers and offsets are
// aligned; the last, partial buffer is written through the page cache): the page cache's
// writeback, not the disk, was the limit of buffered writes (about 300 MB/s buffered, 0.9-1.3 GB/s
// direct, with dd on the same disk), and a package being pushed is not read back soon anyway.
// Buffered writes start their writeback every 8 MiB so that finish()'s fsync waits only for the
// tail.
struct package_writer::pipeline {
  static constexpr std::size_t buffer_size = 1 << 20;
  static constexpr std::size_t alignment = 4096;
  static constexpr std::size_t max_buffers = 6;
  static constexpr std::uint64_t writeback_step = 8 << 20;
  static constexpr int background_nice = 10;
  enum job { sha1_job, sha256_job, file_job, job_count };

  struct chunk {
    std::unique_ptr<char, decltype(&std::free)> data{
        static_cast<char*>(std::aligned_alloc(alignment, buffer_size)), &std::free};
    std::size_t size = 0;
    int pending = 0;  // guarded by mu: jobs still to process it
  };

  int fd;
  bool direct;  // the file worker's: fd has O_DIRECT
  EVP_MD_CTX* sha1 = EVP_MD_CTX_new();
  EVP_MD_CTX* sha256 = EVP_MD_CTX_new();
  std::mutex mu;
  std::condition_variable changed;
  std::vector<std::unique_ptr<chunk>> chunks;     // guarded by mu: every buffer there is
  std::deque<chunk*> queues[job_count];           // guarded by mu: per job, in order
  std::vector<chunk*> spare;                      // guarded by mu: processed by every job
  bool closing = false;                           // guarded by mu: no more buffers will come
  std::optional<error> failed;                    // guarded by mu: the first error
  std::function<void()> wake;                     // guarded by mu: a caller waiting for room
  chunk* filling = nullptr;                       // the caller's
  std::uint64_t written = 0, writeback_from = 0;  // the file worker's
  std::thread workers[job_count];

  std::function<void()> before_file_write;  // tests only

  pipeline(int f, bool is_direct, std::function<void()> hook)
      : fd(f), direct(is_direct), before_file_write(std::move(hook)) {}

  // Allocates the first buffer and starts the workers.
  status start() {
    if (!sha1 || !sha256 || !EVP_DigestInit_ex(sha1, EVP_sha1(), nullptr) ||
        !EVP_DigestInit_ex(sha256, EVP_sha256(), nullptr))
      return make_error(errc::io_error, "cannot initialise SHA-1 and SHA-256");
    if (!(filling = new_chunk())) return make_error(errc::io_error, "out of memory");
    for (int j = 0; j < job_count; ++j) workers[j] = std::thread([this, j] { run(job(j)); });
    return ok_status();
  }

  // An abandoned writer (never drained: a client went away) skips the buffers still queued
  // instead of hashing and writing a file that is about to be removed.
  ~pipeline() {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!failed) failed = make_error(errc::unavailable, "the package writer was abandoned");
    }
    close();
    EVP_MD_CTX_free(sha1);
    EVP_MD_CTX_free(sha256);
  }

  chunk* new_chunk() {
    auto c = std::make_unique<chunk>();
    if (!c->data) return nullptr;
    chunks.push_back(std::move(c));
    return chunks.back().get();
  }

  // Lets the workers finish what they hold, then joins them.
  void close() {
    {
      std::lock_guard<std::mutex> lock(mu);
      closing = true;
    }
    changed.notify_all();
    for (auto& w : workers)
      if (w.joinable()) w.join();
  }

  void run(job which) {
    // Hashing and writing a package is background work: at a lower priority than the threads that
    // answer requests (on Linux, nice applies to the calling thread only), so that polls stay fast
    // while uploads take the rest of the CPU. A failure to lower it changes nothing else.
    static_cast<void>(::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), background_nice));
    auto& queue = queues[which];
    std::unique_lock<std::mutex> lock(mu);
    while (true) {
      changed.wait(lock, [&] { return !queue.empty() || closing; });
      if (queue.empty()) return;
      chunk* c = queue.front();
      queue.pop_front();
      bool skip = failed.has_value();
      lock.unlock();
      std::optional<error> e;
      if (!skip) {
        if (which == sha1_job) EVP_DigestUpdate(sha1, c->data.get(), c->size);
        if (which == sha256_job) EVP_DigestUpdate(sha256, c->data.get(), c->size);
        if (which == file_job) {
          if (before_file_write) before_file_write();
          e = to_file(c->data.get(), c->size);
        }
      }
      lock.lock();
      if (e && !failed) failed = std::move(e);
      std::function<void()> woken;
      if (--c->pending == 0) {
        c->size = 0;
        spare.push_back(c);
        if (wake && room()) woken = std::move(wake), wake = nullptr;
      }
      changed.notify_all();
      if (woken) {
        // Called, and let go, outside the lock: it may hold the last reference to its caller.
        lock.unlock();
        woken();
        woken = nullptr;
        lock.lock();
      }
    }
  }

  // REQUIRES: mu held. Whether a write of up to write_chunk bytes fits without waiting: it fills
  // at most the current buffer and one more, so two buffers must be spare or still to allocate.
  bool room() const {
    return failed.has_value() || spare.size() + (max_buffers - chunks.size()) >= 2;
  }

  bool ready(std::function<void()> w) {
    std::lock_guard<std::mutex> lock(mu);
    if (room()) {
      wake = nullptr;
      return true;
    }
    wake = std::move(w);
    return false;
  }

  // Leaves direct I/O for the rest of the file (a partial buffer, or a file system that refuses).
  bool go_buffered() {
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_DIRECT) < 0) return false;
    direct = false;
    return true;
  }

  std::optional<error> to_file(const char* data, std::size_t n) {
    auto failure = [] {
      return make_error(errc::io_error, "cannot write the package file (disk full?)");
    };
    if (direct && n % alignment != 0 && !go_buffered()) return failure();
    for (const char* p = data; p < data + n;) {
      ssize_t k = ::write(fd, p, static_cast<std::size_t>(data + n - p));
      if (k < 0 && errno == EINTR) continue;
      if (k < 0 && errno == EINVAL && direct && p == data) {
        if (!go_buffered()) return failure();
        continue;
      }
      if (k <= 0) return failure();
      p += k;
      // A short direct write leaves an unaligned rest: finish it through the page cache.
      if (direct && p < data + n && !go_buffered()) return failure();
    }
    written += n;
    if (!direct && written - writeback_from >= writeback_step) {
      ::sync_file_range(fd, static_cast<off_t>(writeback_from),
                        static_cast<off_t>(written - writeback_from), SYNC_FILE_RANGE_WRITE);
      writeback_from = written;
    }
    return std::nullopt;
  }

  // Hands the filled buffer to every job and takes an empty one (waiting while all are in use).
  status hand_over() {
    std::unique_lock<std::mutex> lock(mu);
    if (failed) return *failed;
    filling->pending = job_count;
    for (auto& q : queues) q.push_back(filling);
    changed.notify_all();
    if (spare.empty() && chunks.size() < max_buffers)
      if ((filling = new_chunk())) return ok_status();
    changed.wait(lock, [this] { return !spare.empty(); });
    filling = spare.back();
    spare.pop_back();
    return ok_status();
  }

  status write(const char* data, std::size_t n) {
    while (n > 0) {
      auto k = std::min(n, buffer_size - filling->size);
      std::memcpy(filling->data.get() + filling->size, data, k);
      filling->size += k;
      data += k;
      n -= k;
      if (filling->size == buffer_size)
        if (auto s = hand_over(); !s) return s;
    }
    return ok_status();
  }

  // Writes what is left and stops the workers; the first error of any job.
  status drain() {
    if (filling->size > 0)
      if (auto s = hand_over(); !s) return s;
    close();
    if (failed) return *failed;
    return ok_status();
  }
};

result<std::unique_ptr<package_writer>> package_writer::create(
    const fs::path& feed_root, std::function<void()> before_file_write) {
  std::unique_ptr<package_writer> w(new package_writer());
  auto dir = incoming_dir(feed_root);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error(errc::io_error, "cannot create " + dir.string() + ": " + ec.message());
  auto path = dir / ("package-" + random_suffix() + ".partial");
  // O_DIRECT where the file system has it (tmpfs, for one, refuses it at open).
  bool direct = true;
  w->fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_DIRECT, 0600);
  if (w->fd_ < 0 && errno == EINVAL) {
    direct = false;
    w->fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  }
  if (w->fd_ < 0) return make_error(errc::io_error, "cannot create " + path.string());
  w->path_ = path;
  w->p_ = std::make_unique<pipeline>(w->fd_, direct, std::move(before_file_write));
  if (auto s = w->p_->start(); !s) return s.err();
  return w;
}

package_writer::~package_writer() {
  p_.reset();  // the worker stops before the file is closed
  if (fd_ >= 0) ::close(fd_);
  if (!path_.empty()) {
    std::error_code ec;
    fs::remove(path_, ec);
  }
}

bool package_writer::ready(std::function<void()> wake) {
  return fd_ < 0 || p_->ready(std::move(wake));
}

status package_writer::write(const char* data, std::size_t n) {
  if (fd_ < 0) return make_error(errc::io_error, "the package file is closed");
  if (auto s = p_->write(data, n); !s) return s;
  size_ += n;
  return ok_status();
}

status package_writer::finish() {
  if (auto s = p_->drain(); !s) return s;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(p_->sha1, md, &len);
  sha1_ = base::to_hex(md, len);
  EVP_DigestFinal_ex(p_->sha256, md, &len);
  sha256_ = base::to_hex(md, len);
  // The rename must never install a file whose bytes are not yet on disk.
  bool synced = ::fsync(fd_) == 0;
  bool closed = ::close(fd_) == 0;
  fd_ = -1;
  if (!synced || !closed) return make_error(errc::io_error, "cannot sync the package file");
  return ok_status();
}

result<publish_outcome> publish_package(store& st, const fs::path& feed_root, publish_command cmd,
                                        const publish_faults& faults) {
  if (!cmd.writer) return make_error(errc::invalid_argument, "a publish needs a package file");
  auto w = std::move(cmd.writer);
  const auto& space_id = cmd.space_id;
  const auto& id = cmd.identity;
  const auto mode = cmd.mode;
  const auto now = cmd.published;
  if (auto f = w->finish(); !f) return f.err();
  package_locks::guard lock(feed_locks, index_key(space_id, id.package_id, id.version));
  if (faults.pause) faults.pause();
  auto existing = get_package(st, space_id, id.package_id, id.version);
  if (!existing && existing.err().code != errc::not_found) return existing.err();
  if (existing) {
    if (mode == overwrite_mode::ignore_if_exists) return publish_outcome{*existing, false};
    if (mode == overwrite_mode::fail_if_exists)
      return make_error(errc::conflict, package_exists_message);
    if (!cmd.may_replace)
      return make_error(errc::forbidden,
                        "You do not have permission to perform this action. Please contact your "
                        "Octopus administrator. Missing permission: BuiltInFeedAdminister");
  }
  package_record rec;
  rec.space_id = space_id;
  // A replaced package keeps the id spelling of its first push, as its index key does.
  rec.package_id = existing ? existing->package_id : id.package_id;
  rec.version = existing ? existing->version : id.version;
  rec.extension = id.extension;
  rec.file_name = rec.package_id + "." + rec.version + rec.extension;
  rec.size_bytes = w->size();
  rec.sha1 = w->sha1();
  rec.sha256 = w->sha256();
  rec.published = now;
  rec.title = rec.package_id;

  auto dir = feed_root / space_id;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error(errc::io_error, "cannot create " + dir.string() + ": " + ec.message());
  publish_intent intent;
  intent.temporary_name = w->path().filename().string();
  // A replacement with another extension leaves the old file behind under its old name.
  if (existing && existing->file_name != rec.file_name) intent.replaced_file = existing->file_name;
  intent.record = rec;
  if (auto p = put_intent(st, intent); !p) return p.err();
  if (faults.stop_before_rename) {
    w->released();  // a crash leaves the temporary file behind
    return make_error(errc::unavailable, "stopped before the rename, as a crash would");
  }
  auto target = dir / rec.file_name;
  fs::rename(w->path(), target, ec);
  if (ec) {
    // The rename did not happen. If the intent cannot be dropped either, the temporary file must
    // stay: the start-up sweep reads a file still there as "never renamed" and drops the intent
    // (a missing one would read as "renamed", and complete the publish).
    if (!drop_intent(st, rec)) w->released();
    return make_error(errc::io_error, "cannot move the package into the feed: " + ec.message());
  }
  w->released();
  if (faults.stop_after_rename)
    return make_error(errc::unavailable, "stopped after the rename, as a crash would");
  // The rename is durable only once its directory is synced: without that, a power loss could
  // drop the file after its index row (synced below) was written. If the sync fails the intent
  // stays, and the next start completes the publish.
  if (!sync_directory(dir))
    return make_error(errc::io_error, "cannot sync the feed directory " + dir.string());
  if (auto p = complete_intent(st, rec); !p) return p.err();
  if (!intent.replaced_file.empty()) fs::remove(dir / intent.replaced_file, ec);
  return publish_outcome{std::move(rec), true};
}

result<sweep_report> sweep_feed(store& st, const fs::path& feed_root) {
  sweep_report report;
  std::error_code ec;
  auto incoming = incoming_dir(feed_root);
  fs::create_directories(incoming, ec);
  if (ec)
    return make_error(errc::io_error, "cannot create " + incoming.string() + ": " + ec.message());
  // Publishes a crash interrupted, before the temporary files they name are removed. A damaged
  // record cannot be completed: it is dropped (its temporary file goes with the rest below, and
  // a renamed file it leaves unindexed is an orphan), and reported.
  std::vector<publish_intent> intents;
  {
    auto& d = st.internals();
    std::unique_ptr<rocksdb::Iterator> it(
        d.db->NewIterator(rocksdb::ReadOptions(), d.h(cf_packages)));
    for (it->Seek(intent_prefix); it->Valid() && it->key().starts_with(intent_prefix); it->Next()) {
      auto i = decode_intent(it->value().ToStringView(), it->key().ToStringView());
      if (i) {
        intents.push_back(std::move(*i));
        continue;
      }
      report.damaged.push_back(i.err().message + "; it was dropped");
      auto s = d.db->Delete(write_options(d), d.h(cf_packages), it->key());
      if (!s.ok()) return io(s, "cannot drop a damaged package publish record");
    }
    if (!it->status().ok()) return io(it->status(), "cannot read the package publish records");
  }
  for (const auto& i : intents) {
    bool still_there = fs::exists(incoming / i.temporary_name, ec);
    if (ec)
      return make_error(errc::io_error, "cannot tell whether the unfinished publish of " +
                                            i.record.package_id + " " + i.record.version +
                                            " renamed its file: " + ec.message());
    if (still_there) {
      if (auto s = drop_intent(st, i.record); !s) return s.err();  // never renamed
      ++report.publishes_dropped;
      continue;
    }
    if (auto s = complete_intent(st, i.record); !s) return s.err();
    if (!i.replaced_file.empty()) fs::remove(feed_root / i.record.space_id / i.replaced_file, ec);
    ++report.publishes_completed;
  }
  for (const auto& e : fs::directory_iterator(incoming, ec)) {
    std::error_code rm;
    fs::remove_all(e.path(), rm);
    if (!rm) ++report.temporary_removed;
  }
  for (const auto& space : fs::directory_iterator(feed_root, ec)) {
    auto name = space.path().filename().string();
    if (!space.is_directory() || name.empty() || name[0] == '.') continue;
    auto rows = list_packages(st, name);
    if (!rows && rows.err().code == errc::corruption) {
      // Which file the damaged row names cannot be told: no file of this space is removed.
      report.damaged.push_back(rows.err().message + "; no unindexed file of " + name +
                               " was removed");
      continue;
    }
    if (!rows) return rows.err();
    std::set<std::string> indexed;
    for (const auto& r : *rows) indexed.insert(r.file_name);
    for (const auto& f : fs::directory_iterator(space.path(), ec)) {
      if (!f.is_regular_file() || indexed.count(f.path().filename().string())) continue;
      std::error_code rm;
      if (fs::remove(f.path(), rm)) ++report.orphans_removed;
    }
  }
  return report;
}

result<feed_report> verify_feed(const store& st, const fs::path& feed_root) {
  feed_report rep;
  auto& d = st.internals();
  std::unique_ptr<rocksdb::Iterator> it(
      d.db->NewIterator(rocksdb::ReadOptions(), d.h(cf_packages)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto key = it->key().ToStringView();
    if (key.substr(0, intent_prefix.size()) == intent_prefix) {
      auto i = decode_intent(it->value().ToStringView(), key);
      rep.differences.push_back(
          "packages: " + (i ? "an unfinished publish of " + i->record.package_id + " " +
                                  i->record.version + " (the next start completes or undoes it)"
                            : i.err().message));
      continue;
    }
    ++rep.packages;
    auto r = decode(it->value().ToStringView(), key);
    if (!r) {
      rep.differences.push_back("packages: " + r.err().message);
      continue;
    }
    std::error_code ec;
    auto path = package_path(feed_root, *r);
    auto size = fs::file_size(path, ec);
    if (ec)
      rep.differences.push_back("packages: " + r->package_id + " " + r->version +
                                " is indexed but its file " + r->file_name + " is missing");
    else if (size != r->size_bytes)
      rep.differences.push_back("packages: the file of " + r->package_id + " " + r->version +
                                " has " + std::to_string(size) + " bytes, the index says " +
                                std::to_string(r->size_bytes));
  }
  if (!it->status().ok()) return io(it->status(), "cannot read the package index");
  return rep;
}

}  // namespace octomig::storage
