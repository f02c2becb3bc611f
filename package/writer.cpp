// Writes migration packages (docs/package-format.md) with libarchive's zip writer and our own
// output callbacks, so that every byte passes the test hook and the file's digest on its way out.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <optional>
#include <system_error>
#include <vector>

#include "events/time_format.hpp"
#include "package/crypto.hpp"
#include "package/package.hpp"

namespace octomig::package {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr std::size_t copy_buffer_bytes = 1 << 20;
constexpr std::size_t deflate_buffer_bytes = 256 * 1024;
constexpr std::size_t max_id_length = 200;

std::string errno_text(int e) {
  return std::system_category().message(e);
}

error write_failure(const std::string& cause) {
  return make_error(errc::io_error, "cannot write the package: " + cause);
}

// Writes all of p to fd, asking the hook first.
status write_all(int fd, const unsigned char* p, std::size_t n,
                 const std::function<status(std::size_t)>& before_write) {
  if (before_write)
    if (auto s = before_write(n); !s) return write_failure(s.err().message);
  while (n > 0) {
    auto w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return write_failure(errno_text(errno));
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return ok_status();
}

// Ids and collection names become entry names: letters, digits, '-', '_' and '.', not first.
bool safe_name(const std::string& s) {
  if (s.empty() || s.size() > max_id_length || s[0] == '.') return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// One libarchive zip writer whose output goes to a byte sink. REQUIRES: it does not move once
// opened (libarchive holds a pointer to it).
class zip_out {
 public:
  zip_out() = default;
  ~zip_out() { abandon(); }
  zip_out(const zip_out&) = delete;
  zip_out& operator=(const zip_out&) = delete;

  status open(crypto::byte_sink sink, std::time_t mtime) {
    sink_ = std::move(sink);
    mtime_ = mtime;
    a_ = archive_write_new();
    if (!a_) return write_failure("out of memory");
    if (archive_write_set_format_zip(a_) != ARCHIVE_OK ||
        archive_write_set_format_option(a_, "zip", "compression-level", "1") != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(a_, 64 * 1024) != ARCHIVE_OK ||
        // No padding after the end of the zip (libarchive pads its last block otherwise).
        archive_write_set_bytes_in_last_block(a_, 1) != ARCHIVE_OK ||
        archive_write_open2(a_, this, nullptr, &zip_out::on_write, nullptr, nullptr) != ARCHIVE_OK)
      return failed("cannot set up the zip writer");
    return ok_status();
  }

  // A regular file entry of size bytes (known in advance: libarchive would deflate an entry of
  // unknown size whatever it is told).
  status begin(const std::string& name, std::uint64_t size, bool compress) {
    int r = compress ? archive_write_zip_set_compression_deflate(a_)
                     : archive_write_zip_set_compression_store(a_);
    if (r != ARCHIVE_OK) return failed("cannot choose the compression");
    archive_entry* e = archive_entry_new();
    if (!e) return write_failure("out of memory");
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, static_cast<la_int64_t>(size));
    archive_entry_set_mtime(e, mtime_, 0);
    r = archive_write_header(a_, e);
    archive_entry_free(e);
    if (r != ARCHIVE_OK || error_) return failed("cannot write an entry header");
    return ok_status();
  }

  status data(const void* p, std::size_t n) {
    if (n == 0) return ok_status();
    auto w = archive_write_data(a_, p, n);
    if (w < 0 || static_cast<std::size_t>(w) != n || error_) return failed("cannot write an entry");
    return ok_status();
  }

  status end() {
    if (archive_write_finish_entry(a_) != ARCHIVE_OK || error_)
      return failed("cannot finish an entry");
    return ok_status();
  }

  status add(const std::string& name, std::string_view bytes, bool compress) {
    if (auto s = begin(name, bytes.size(), compress); !s) return s;
    if (auto s = data(bytes.data(), bytes.size()); !s) return s;
    return end();
  }

  // Writes the central directory and flushes.
  status close() {
    if (archive_write_close(a_) != ARCHIVE_OK || error_) return failed("cannot finish the zip");
    archive_write_free(a_);
    a_ = nullptr;
    return ok_status();
  }

  // Frees the writer without writing anything more (libarchive flushes on free).
  void abandon() {
    if (!a_) return;
    discard_ = true;
    archive_write_free(a_);
    a_ = nullptr;
  }

 private:
  // A failed sink is not reported to libarchive: an archive that fails inside an entry leaks its
  // zlib stream when freed (libarchive 3.6 ends it only when the entry finishes). Instead the rest
  // is discarded and every call below reports the sink's error.
  static la_ssize_t on_write(archive*, void* self, const void* p, size_t n) {
    auto* z = static_cast<zip_out*>(self);
    if (z->discard_) return static_cast<la_ssize_t>(n);
    if (auto s = z->sink_(static_cast<const unsigned char*>(p), n); !s) {
      z->error_ = s.err();
      z->discard_ = true;
    }
    return static_cast<la_ssize_t>(n);
  }

  // The sink's own error when it failed (the disk), else libarchive's.
  error failed(const std::string& what) {
    if (error_) return *error_;
    const char* why = a_ ? archive_error_string(a_) : nullptr;
    return write_failure(what + (why ? std::string(": ") + why : std::string()));
  }

  archive* a_ = nullptr;
  crypto::byte_sink sink_;
  std::optional<error> error_;
  bool discard_ = false;
  std::time_t mtime_ = 0;
};

// One raw deflate stream (level 1) from write to finish, its output to a byte sink through a
// fixed buffer: the encrypted payload compresses the inner zip as a whole.
class deflater {
 public:
  explicit deflater(crypto::byte_sink out) : out_(std::move(out)), buf_(deflate_buffer_bytes) {}
  ~deflater() {
    if (ready_) deflateEnd(&zs_);
  }
  deflater(const deflater&) = delete;
  deflater& operator=(const deflater&) = delete;

  status open() {
    if (deflateInit2(&zs_, 1, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      return write_failure("cannot set up the payload's compression");
    ready_ = true;
    return ok_status();
  }

  status write(const unsigned char* p, std::size_t n) {
    while (n > 0) {
      // avail_in is 32 bits wide.
      auto part = static_cast<uInt>(std::min<std::size_t>(n, std::size_t{1} << 30));
      zs_.next_in = const_cast<Bytef*>(p);
      zs_.avail_in = part;
      if (auto s = run(Z_NO_FLUSH); !s) return s;
      p += part;
      n -= part;
    }
    return ok_status();
  }

  // Ends the stream. REQUIRES: called once, after every write.
  status finish() {
    zs_.next_in = nullptr;
    zs_.avail_in = 0;
    return run(Z_FINISH);
  }

 private:
  status run(int flush) {
    while (true) {
      zs_.next_out = buf_.data();
      zs_.avail_out = static_cast<uInt>(buf_.size());
      int r = deflate(&zs_, flush);
      if (r == Z_STREAM_ERROR) return write_failure("cannot compress the payload");
      auto got = buf_.size() - zs_.avail_out;
      if (got > 0)
        if (auto s = out_(buf_.data(), got); !s) return s;
      if (flush == Z_FINISH ? r == Z_STREAM_END : (zs_.avail_in == 0 && zs_.avail_out > 0))
        return ok_status();
    }
  }

  crypto::byte_sink out_;
  std::vector<unsigned char> buf_;
  z_stream zs_{};
  bool ready_ = false;
};

// Replaces the revealed sensitive values of doc by sealed ones (or null), zeroing the plaintext
// in doc's memory as it goes.
status seal_document(const crypto::keys& k, const migration::collection_schema& c,
                     const std::string& id, json::value& doc) {
  for (const auto& p : migration::sensitive_paths(c, doc)) {
    json::value* at = migration::find_pointer(doc, p.pointer);
    if (!at) continue;
    auto refuse = [&](const char* shape) {
      return make_error(errc::invalid_argument, "the sensitive value at " + p.pointer + " of " +
                                                    c.name + " " + id +
                                                    " is not revealed: " + shape);
    };
    json::string* plain = nullptr;
    if (at->is_null()) {
      continue;
    } else if (p.style == migration::sensitive_style::variable) {
      if (!at->is_string()) return refuse("a sensitive variable's Value must be a string or null");
      plain = &at->get_string();
    } else {
      const char* shape =
          R"(a sensitive property must be {"HasValue":true,"NewValue":"<text>"} or )"
          R"({"HasValue":false,"NewValue":null})";
      if (!at->is_object()) return refuse(shape);
      auto& o = at->get_object();
      auto* has = o.if_contains("HasValue");
      auto* value = o.if_contains("NewValue");
      if (!has || !has->is_bool()) return refuse(shape);
      if (!has->get_bool()) {
        if (value && !value->is_null()) return refuse(shape);
        *at = nullptr;
        continue;
      }
      if (!value || !value->is_string()) return refuse(shape);
      plain = &value->get_string();
    }
    auto sealed = crypto::seal(k, std::string_view(plain->data(), plain->size()));
    sodium_memzero(plain->data(), plain->size());
    *at = json::object{{"MigrationSealed", std::move(sealed)}};
  }
  return ok_status();
}

events::timestamp_us now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct writer::impl {
  writer_options o;
  bool created_file = false;  // ours to remove: false while the name may be someone else's
  bool keep_file = false;     // finished: the destructor leaves it
  int fd = -1;
  crypto::sha256 file_digest;
  crypto::sha1 file_sha1;  // the feeds' Hash, for the push's check after a retry
  std::uint64_t file_bytes = 0;
  unsigned char salt[crypto::salt_bytes] = {};
  std::unique_ptr<crypto::keys> keys;
  std::string password_check;
  // Encrypted: the inner zip (stored entries) -> one deflate stream -> encryptor -> payload_fd;
  // copied into the outer zip at finish.
  int payload_fd = -1;
  std::uint64_t payload_bytes = 0;
  std::unique_ptr<crypto::stream_encryptor> encryptor;
  std::unique_ptr<deflater> compressor;
  zip_out outer;
  zip_out inner;
  // Entry names (for duplicates) and, unencrypted, their SHA-256 for the manifest.
  std::map<std::string, std::string> entries;
  std::map<std::string, std::uint64_t> counts;
  std::uint64_t task_logs = 0;
  json::array left_out;
  std::optional<error> failure;  // the first disk failure: every later call reports it
  bool finished = false;

  zip_out& documents() { return o.encrypt ? inner : outer; }

  error fail(error e) {
    if (!failure) failure = e;
    return e;
  }

  status usable() const {
    if (failure) return *failure;
    if (finished) return make_error(errc::invalid_argument, "the package is finished already");
    return ok_status();
  }

  status add_entry(const std::string& name, const std::string& bytes) {
    if (!entries.emplace(name, std::string()).second)
      return make_error(errc::invalid_argument, "the package already holds " + name);
    // Encrypted, the payload is compressed as a whole: its inner zip stores its entries.
    if (auto s = documents().add(name, bytes, !o.encrypt); !s) {
      entries.erase(name);
      return fail(s.err());
    }
    if (!o.encrypt) {
      crypto::sha256 h;
      h.update(bytes.data(), bytes.size());
      entries[name] = h.hex_final();
    }
    return ok_status();
  }

  status write_file(const unsigned char* p, std::size_t n) {
    if (auto s = write_all(fd, p, n, o.before_write); !s) return s;
    file_digest.update(p, n);
    file_sha1.update(p, n);
    file_bytes += n;
    return ok_status();
  }

  status write_payload(const unsigned char* p, std::size_t n) {
    if (auto s = write_all(payload_fd, p, n, o.before_write); !s) return s;
    payload_bytes += n;
    return ok_status();
  }

  // payload.bin, stored: the encrypted bytes read back from the scratch file.
  status copy_payload() {
    if (auto s = outer.begin("payload.bin", payload_bytes, false); !s) return s;
    std::string buf(copy_buffer_bytes, '\0');
    crypto::sha256 h;
    std::uint64_t at = 0;
    while (at < payload_bytes) {
      auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), payload_bytes - at));
      auto r = ::pread(payload_fd, buf.data(), want, static_cast<off_t>(at));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0)
        return make_error(errc::io_error, "cannot read back the encrypted payload: " +
                                              (r < 0 ? errno_text(errno) : "it is shorter"));
      h.update(buf.data(), static_cast<std::size_t>(r));
      if (auto s = outer.data(buf.data(), static_cast<std::size_t>(r)); !s) return s;
      at += static_cast<std::uint64_t>(r);
    }
    if (auto s = outer.end(); !s) return s;
    entries = {{"payload.bin", h.hex_final()}};
    return ok_status();
  }

  std::string manifest() const {
    json::object m;
    m["Format"] = format_name;
    m["ProducerVersion"] = o.producer_version;
    m["SourceInstallationId"] = o.source_installation_id;
    m["CreatedAt"] = events::octopus_date(o.created_at);
    m["PackageId"] = o.package_id;
    m["PackageVersion"] = o.package_version;
    m["Options"] = o.options;
    json::object c;
    for (const auto& [name, n] : counts) c[name] = n;
    m["Counts"] = std::move(c);
    m["TaskLogs"] = task_logs;
    m["LeftOut"] = left_out;
    m["Kdf"] = json::object{{"Algorithm", crypto::kdf_algorithm},
                            {"OpsLimit", o.kdf.opslimit},
                            {"MemLimit", static_cast<std::uint64_t>(o.kdf.memlimit)},
                            {"Salt", crypto::to_base64(salt, sizeof salt)}};
    m["PasswordCheck"] = password_check;
    m["Encrypted"] = o.encrypt;
    json::object e;
    for (const auto& [name, digest] : entries) e[name] = digest;
    m["Entries"] = std::move(e);
    return json::serialize(m);
  }

  status close_file() {
    if (::fsync(fd) != 0) return write_failure(errno_text(errno));
    int closing = fd;
    fd = -1;
    if (::close(closing) != 0) return write_failure(errno_text(errno));
    // The name is durable only once its folder is.
    auto dir = o.file.parent_path().empty() ? fs::path(".") : o.file.parent_path();
    int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0) return write_failure(errno_text(errno));
    bool synced = ::fsync(d) == 0;
    int e = errno;
    ::close(d);
    if (!synced) return write_failure(errno_text(e));
    return ok_status();
  }
};

writer::writer(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

writer::~writer() {
  auto& d = *impl_;
  d.inner.abandon();
  d.outer.abandon();
  if (d.payload_fd >= 0) ::close(d.payload_fd);
  if (d.fd >= 0) ::close(d.fd);
  if (d.created_file && !d.keep_file) {
    std::error_code ec;
    fs::remove(d.o.file, ec);
  }
}

result<std::unique_ptr<writer>> writer::create(const writer_options& o,
                                               const std::string& password) {
  if (!crypto::ready()) return make_error(errc::io_error, "libsodium cannot be initialised");
  if (o.file.empty() || o.file.filename().empty())
    return make_error(errc::invalid_argument, "a package needs a file name");
  if (o.package_id.empty() || o.package_version.empty())
    return make_error(errc::invalid_argument, "a package needs a package id and a version");
  if (password.empty()) return make_error(errc::invalid_argument, "a package needs a password");
  if (o.kdf.opslimit < min_kdf_limits.opslimit || o.kdf.opslimit > max_opslimit ||
      o.kdf.memlimit < min_kdf_limits.memlimit || o.kdf.memlimit > max_memlimit)
    return make_error(errc::invalid_argument,
                      "the key derivation limits are out of range (OpsLimit 1 to " +
                          std::to_string(max_opslimit) + ", MemLimit 8 KiB to 1 GiB)");

  std::unique_ptr<writer> w(new writer(std::make_unique<impl>()));
  auto& d = *w->impl_;
  d.o = o;
  if (d.o.created_at == 0) d.o.created_at = now_us();
  d.fd = ::open(o.file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (d.fd < 0) {
    int e = errno;
    if (e == EEXIST)
      return make_error(errc::conflict, "the package file " + o.file.string() + " exists already");
    return make_error(errc::io_error,
                      "cannot create the package " + o.file.string() + ": " + errno_text(e));
  }
  d.created_file = true;

  crypto::random_bytes(d.salt, sizeof d.salt);
  auto k = crypto::derive(password, d.salt, o.kdf);
  if (!k) return k.err();
  d.keys = std::move(*k);
  d.password_check = crypto::password_check(*d.keys);

  auto mtime = static_cast<std::time_t>(d.o.created_at / 1'000'000);
  auto to_file = [&d](const unsigned char* p, std::size_t n) { return d.write_file(p, n); };
  if (auto s = d.outer.open(to_file, mtime); !s) return s.err();
  if (o.encrypt) {
    auto dir = o.file.parent_path();
    auto fd = crypto::anonymous_file(dir, "the encrypted payload");
    if (!fd) return fd.err();
    d.payload_fd = *fd;
    d.encryptor = std::make_unique<crypto::stream_encryptor>(
        *d.keys, [&d](const unsigned char* p, std::size_t n) { return d.write_payload(p, n); });
    d.compressor = std::make_unique<deflater>(
        [&d](const unsigned char* p, std::size_t n) { return d.encryptor->write(p, n); });
    if (auto s = d.compressor->open(); !s) return s.err();
    auto to_compressor = [&d](const unsigned char* p, std::size_t n) {
      return d.compressor->write(p, n);
    };
    if (auto s = d.inner.open(to_compressor, mtime); !s) return s.err();
  }
  return w;
}

status writer::add_document(const migration::collection_schema& c, const std::string& id,
                            json::object revealed_doc) {
  auto& d = *impl_;
  if (auto s = d.usable(); !s) return s;
  if (!safe_name(c.name))
    return make_error(errc::invalid_argument, "unsafe collection name for a package entry");
  if (!safe_name(id))
    return make_error(errc::invalid_argument,
                      "the id of a " + c.name +
                          " document cannot name a package entry (letters, digits, '-', '_', "
                          "'.' only)");
  if (auto* own = revealed_doc.if_contains("Id");
      own && own->is_string() && own->get_string() != id)
    return make_error(errc::invalid_argument,
                      "the " + c.name + " document given as " + id + " has another Id");
  json::value doc(std::move(revealed_doc));
  if (auto s = seal_document(*d.keys, c, id, doc); !s) return s;
  if (auto s = d.add_entry("documents/" + c.name + "/" + id + ".json", json::serialize(doc)); !s)
    return s;
  ++d.counts[c.name];
  return ok_status();
}

status writer::add_task_log(const std::string& task_id, const json::value& log) {
  auto& d = *impl_;
  if (auto s = d.usable(); !s) return s;
  if (!safe_name(task_id))
    return make_error(errc::invalid_argument, "a task id cannot name a package entry");
  if (auto s = d.add_entry("tasklogs/" + task_id + ".json", json::serialize(log)); !s) return s;
  ++d.task_logs;
  return ok_status();
}

void writer::set_left_out(json::array left_out) {
  impl_->left_out = std::move(left_out);
}

result<written_package> writer::finish() {
  auto& d = *impl_;
  if (auto s = d.usable(); !s) return s.err();
  d.finished = true;  // once, successful or not: a failed finish leaves a file to remove
  if (d.o.encrypt) {
    if (auto s = d.inner.close(); !s) return d.fail(s.err());
    if (auto s = d.compressor->finish(); !s) return d.fail(s.err());
    d.compressor.reset();
    if (auto s = d.encryptor->finish(); !s) return d.fail(s.err());
    if (auto s = d.copy_payload(); !s) return d.fail(s.err());
    ::close(d.payload_fd);
    d.payload_fd = -1;
  }
  auto manifest = d.manifest();
  auto mac = crypto::manifest_mac(*d.keys, manifest);
  d.keys.reset();
  if (auto s = d.outer.add("manifest.json", manifest, true); !s) return d.fail(s.err());
  if (auto s = d.outer.add("manifest.mac", mac, false); !s) return d.fail(s.err());
  if (auto s = d.outer.close(); !s) return d.fail(s.err());
  if (auto s = d.close_file(); !s) return d.fail(s.err());
  d.keep_file = true;
  written_package out;
  out.file = d.o.file;
  out.size_bytes = d.file_bytes;
  out.sha256 = d.file_digest.hex_final();
  out.sha1 = d.file_sha1.hex_final();
  out.counts = d.counts;
  out.task_logs = d.task_logs;
  out.encrypted = d.o.encrypt;
  return out;
}

}  // namespace octomig::package
