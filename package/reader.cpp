// Reads migration packages (docs/package-format.md) with libzip, which finds the entries through
// the central directory, and zlib, which inflates them here so that every byte is checked. Nothing
// a package holds is trusted before it is checked: names and sizes at open, the manifest at unlock,
// the entries as they are read.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <system_error>
#include <unordered_map>
#include <unordered_set>

#include "package/crypto.hpp"
#include "package/package.hpp"

namespace octomig::package {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr std::size_t read_buffer_bytes = 256 * 1024;
constexpr std::size_t max_name_bytes = 1024;
const std::string manifest_name = "manifest.json";
const std::string mac_name = "manifest.mac";
const std::string payload_name = "payload.bin";
const std::string documents_prefix = "documents/";
const std::string task_logs_prefix = "tasklogs/";
const std::string json_suffix = ".json";

error corrupt(std::string message) {
  return make_error(errc::corruption, std::move(message));
}

// A name as a message may show it: quoted, with control and non-ASCII bytes escaped.
std::string printable(std::string_view s) {
  static const char* digits = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s.substr(0, 200)) {
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      out += "\\x";
      out += digits[c >> 4];
      out += digits[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > 200) out += "...";
  return out + "\"";
}

std::string zip_message(int code) {
  // libzip says "No such file" when it finds no end of central directory it accepts (an empty,
  // truncated or damaged zip): the file exists, so say what is meant.
  if (code == ZIP_ER_NOENT || code == ZIP_ER_NOZIP)
    return "no zip directory was found in it (it is empty, cut short, damaged or not a zip)";
  zip_error_t e;
  zip_error_init_with_code(&e, code);
  std::string m = zip_error_strerror(&e);
  zip_error_fini(&e);
  return m;
}

// Why an entry name is unsafe to act on, or nothing.
std::optional<std::string> unsafe_name(std::string_view n) {
  if (n.empty()) return "an empty name";
  if (n.size() > max_name_bytes) return "a name over 1024 bytes";
  if (n.front() == '/') return "an absolute path";
  if (n.find('\\') != std::string_view::npos) return "a backslash";
  if (n.find(':') != std::string_view::npos) return "a drive or stream name (':')";
  for (unsigned char c : n)
    if (c < 0x20 || c == 0x7f) return "a control character";
  std::size_t start = 0;
  while (true) {
    auto end = n.find('/', start);
    auto seg =
        n.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (seg.empty()) return "an empty path segment (a directory entry, or '//')";
    if (seg == ".." || seg == ".") return "a \"" + std::string(seg) + "\" path segment";
    if (end == std::string_view::npos) return std::nullopt;
    start = end + 1;
  }
}

// One entry as the central directory describes it.
struct entry_info {
  std::string name;
  zip_uint64_t index = 0;
  std::uint64_t size = 0;  // uncompressed, as declared
  std::uint64_t compressed = 0;
  std::uint32_t crc = 0;
  std::uint16_t method = 0;
};

enum class entry_kind { document, task_log, manifest, mac, payload, other };

entry_kind kind_of(const std::string& name) {
  if (name == manifest_name) return entry_kind::manifest;
  if (name == mac_name) return entry_kind::mac;
  if (name == payload_name) return entry_kind::payload;
  auto ends_json =
      name.size() > json_suffix.size() &&
      name.compare(name.size() - json_suffix.size(), json_suffix.size(), json_suffix) == 0;
  if (!ends_json) return entry_kind::other;
  if (name.rfind(documents_prefix, 0) == 0) {
    auto rest = name.substr(documents_prefix.size());
    auto slash = rest.find('/');
    if (slash == std::string::npos || slash == 0 ||
        rest.find('/', slash + 1) != std::string::npos ||
        rest.size() - slash - 1 <= json_suffix.size())
      return entry_kind::other;
    return entry_kind::document;
  }
  if (name.rfind(task_logs_prefix, 0) == 0) {
    auto rest = name.substr(task_logs_prefix.size());
    if (rest.find('/') != std::string::npos || rest.size() <= json_suffix.size())
      return entry_kind::other;
    return entry_kind::task_log;
  }
  return entry_kind::other;
}

// "documents/<collection>/<id>.json" -> collection, id. REQUIRES: kind_of(name) == document.
std::pair<std::string, std::string> document_name(const std::string& name) {
  auto rest = name.substr(documents_prefix.size());
  auto slash = rest.find('/');
  return {rest.substr(0, slash),
          rest.substr(slash + 1, rest.size() - slash - 1 - json_suffix.size())};
}

std::string task_id_of(const std::string& name) {
  return name.substr(task_logs_prefix.size(),
                     name.size() - task_logs_prefix.size() - json_suffix.size());
}

// Every entry of z, checked: safe names, no duplicates, regular files only, no zip encryption,
// store or deflate, within the limits. payload_exempt: payload.bin may exceed max_entry_bytes (it
// is the whole package). refuse makes the error for the zip at hand.
result<std::vector<entry_info>> catalog(zip_t* z, const reader_limits& limits, bool payload_exempt,
                                        const std::function<error(std::string)>& refuse) {
  auto n = zip_get_num_entries(z, 0);
  if (n < 0) return refuse("its entries cannot be counted");
  if (static_cast<std::uint64_t>(n) > limits.max_entries)
    return refuse("it holds " + std::to_string(n) + " entries, over the limit of " +
                  std::to_string(limits.max_entries));
  std::vector<entry_info> out;
  out.reserve(static_cast<std::size_t>(n));
  std::unordered_set<std::string> seen;
  std::uint64_t total = 0;
  for (zip_uint64_t i = 0; i < static_cast<zip_uint64_t>(n); ++i) {
    zip_stat_t st;
    zip_stat_init(&st);
    const auto needed = ZIP_STAT_NAME | ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_CRC;
    if (zip_stat_index(z, i, ZIP_FL_ENC_RAW, &st) != 0 || (st.valid & needed) != needed)
      return refuse("entry " + std::to_string(i) + " cannot be read: " + zip_strerror(z));
    std::string name = st.name;
    auto shown = "the entry " + printable(name);
    if (auto why = unsafe_name(name)) return refuse(shown + " has " + *why);
    if (!seen.insert(name).second) return refuse(shown + " is there twice");
    zip_uint8_t opsys = 0;
    zip_uint32_t attributes = 0;
    if (zip_file_get_external_attributes(z, i, 0, &opsys, &attributes) != 0)
      return refuse(shown + " has unreadable attributes");
    if (opsys == ZIP_OPSYS_UNIX) {
      auto type = (attributes >> 16) & S_IFMT;
      if (type == S_IFLNK) return refuse(shown + " is a symbolic link");
      if (type != 0 && type != S_IFREG) return refuse(shown + " is not a regular file");
    } else if (opsys == ZIP_OPSYS_DOS && (attributes & 0x10)) {
      return refuse(shown + " is a directory");
    }
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE)
      return refuse(shown + " uses zip encryption, which packages never do");
    if (!(st.valid & ZIP_STAT_COMP_METHOD) ||
        (st.comp_method != ZIP_CM_STORE && st.comp_method != ZIP_CM_DEFLATE))
      return refuse(shown + " uses a compression other than store or deflate");
    if (st.size > limits.max_entry_bytes && !(payload_exempt && name == payload_name))
      return refuse(shown + " declares " + std::to_string(st.size) + " bytes, over the limit of " +
                    std::to_string(limits.max_entry_bytes));
    total += st.size;
    if (total > limits.max_total_bytes)
      return refuse("its entries declare more than " + std::to_string(limits.max_total_bytes) +
                    " bytes in all, over the limit");
    out.push_back({std::move(name), i, st.size, st.comp_size, st.crc, st.comp_method});
  }
  return out;
}

bool as_u64(const json::value& v, std::uint64_t& out) {
  if (v.is_uint64()) {
    out = v.get_uint64();
    return true;
  }
  if (v.is_int64() && v.get_int64() >= 0) {
    out = static_cast<std::uint64_t>(v.get_int64());
    return true;
  }
  return false;
}

bool get_u64(const json::object& o, json::string_view key, std::uint64_t& out) {
  auto* v = o.if_contains(key);
  return v && as_u64(*v, out);
}

std::uint16_t le16(const unsigned char* p) {
  return static_cast<std::uint16_t>(p[0] | p[1] << 8);
}
std::uint32_t le32(const unsigned char* p) {
  return static_cast<std::uint32_t>(le16(p)) | static_cast<std::uint32_t>(le16(p + 2)) << 16;
}
std::uint64_t le64(const unsigned char* p) {
  return static_cast<std::uint64_t>(le32(p)) | static_cast<std::uint64_t>(le32(p + 4)) << 32;
}

// Exactly n bytes at off; false at the end of the file or on an error.
bool read_at(int fd, std::uint64_t off, void* p, std::size_t n) {
  auto* at = static_cast<char*>(p);
  while (n > 0) {
    auto r = ::pread(fd, at, n, static_cast<off_t>(off));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    at += r;
    off += static_cast<std::uint64_t>(r);
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

// libzip reads the central directory and, of a local header, only the two lengths that lead to
// the data (ZIP_CHECKCONS, which compares more, refuses libarchive's data-descriptor headers in
// libzip 1.7). So the layout every package zip has is checked here: from offset 0, each entry's
// local header, data and data descriptor back to back in central directory order, the central
// directory right after the last; each local header with the central directory's name and
// method, no encryption, and its CRC and sizes equal (or 0, when a data descriptor follows, which
// must then agree). Left unchecked: times, versions, other flag bits and extra fields.
status check_layout(int fd, const std::vector<entry_info>& entries,
                    const std::function<error(std::string)>& refuse) {
  std::uint64_t off = 0;
  std::vector<std::uint64_t> starts;  // where each entry's local header is
  for (const auto& e : entries) {
    starts.push_back(off);
    auto bad = [&](const std::string& what) {
      return refuse("the local header of the entry " + printable(e.name) + " " + what);
    };
    unsigned char h[30];
    if (!read_at(fd, off, h, sizeof h) || std::memcmp(h, "PK\x03\x04", 4) != 0)
      return bad("is not where the entries before it end");
    auto flags = le16(h + 6);
    auto name_len = le16(h + 26), extra_len = le16(h + 28);
    std::string tail(name_len + extra_len, '\0');
    if (!read_at(fd, off + sizeof h, tail.data(), tail.size())) return bad("is cut short");
    if (tail.compare(0, name_len, e.name) != 0 || name_len != e.name.size())
      return bad("names another entry");
    if (flags & 1) return bad("marks it encrypted");
    if (le16(h + 8) != e.method) return bad("names another compression method");
    std::uint64_t crc = le32(h + 14), compressed = le32(h + 18), size = le32(h + 22);
    bool zip64 = false;
    for (std::size_t at = name_len; at < tail.size();) {
      auto* x = reinterpret_cast<const unsigned char*>(tail.data()) + at;
      if (tail.size() - at < 4 || tail.size() - at - 4 < le16(x + 2))
        return bad("has a damaged extra field");
      if (le16(x) == 1) {  // Zip64: the sizes that are 0xffffffff above, uncompressed first
        zip64 = true;
        std::size_t len = le16(x + 2), used = 0;
        for (auto* v : {&size, &compressed}) {
          if (*v != 0xffffffffu) continue;
          if (len - used < 8) return bad("has a damaged Zip64 extra field");
          *v = le64(x + 4 + used);
          used += 8;
        }
      }
      at += 4 + le16(x + 2);
    }
    bool descriptor = flags & 8;
    auto agrees = [descriptor](std::uint64_t local, std::uint64_t central) {
      return local == central || (descriptor && local == 0);
    };
    if (!agrees(crc, e.crc) || !agrees(compressed, e.compressed) || !agrees(size, e.size))
      return bad("disagrees with the central directory on the CRC or the sizes");
    off += sizeof h + tail.size() + e.compressed;
    if (descriptor) {
      unsigned char d[24];
      std::size_t n = zip64 ? 20 : 12;  // CRC and two sizes; a signature may come first
      if (!read_at(fd, off, d, 4)) return bad("lacks its data descriptor");
      if (std::memcmp(d, "PK\x07\x08", 4) == 0) off += 4;
      if (!read_at(fd, off, d, n) || le32(d) != e.crc ||
          (zip64 ? le64(d + 4) : le32(d + 4)) != e.compressed ||
          (zip64 ? le64(d + 12) : le32(d + 8)) != e.size)
        return refuse("the data descriptor of the entry " + printable(e.name) +
                      " disagrees with the central directory");
      off += n;
    }
  }
  unsigned char sig[4];
  if (!entries.empty() && (!read_at(fd, off, sig, 4) || std::memcmp(sig, "PK\x01\x02", 4) != 0))
    return refuse("there are bytes between its last entry and its central directory");
  // Each central header, in order, must point at the local header found above (libzip reads the
  // data through that offset).
  for (std::size_t i = 0; i < entries.size(); ++i) {
    unsigned char c[46];
    if (!read_at(fd, off, c, sizeof c) || std::memcmp(c, "PK\x01\x02", 4) != 0)
      return refuse("its central directory is damaged");
    std::uint64_t local = le32(c + 42);
    const std::size_t name_len = le16(c + 28), extra_len = le16(c + 30), comment_len = le16(c + 32);
    if (local == 0xffffffffu) {  // in the Zip64 extra field, after the sizes that overflowed
      std::string extra(extra_len, '\0');
      if (!read_at(fd, off + sizeof c + name_len, extra.data(), extra.size()))
        return refuse("its central directory is cut short");
      std::size_t skip =
          (le32(c + 24) == 0xffffffffu ? 8 : 0) + (le32(c + 20) == 0xffffffffu ? 8 : 0);
      bool found = false;
      for (std::size_t at = 0; at + 4 <= extra.size();) {
        auto* x = reinterpret_cast<const unsigned char*>(extra.data()) + at;
        std::size_t len = le16(x + 2);
        if (le16(x) == 1 && len >= skip + 8 && at + 4 + len <= extra.size()) {
          local = le64(x + 4 + skip);
          found = true;
          break;
        }
        at += 4 + len;
      }
      if (!found) return refuse("its central directory has a damaged Zip64 extra field");
    }
    if (local != starts[i])
      return refuse("the central directory places the entry " + printable(entries[i].name) +
                    " where its local header is not");
    off += sizeof c + name_len + extra_len + comment_len;
  }
  return ok_status();
}

// A zip read from fd (which stays the caller's) through its own descriptor, so that libzip and
// check_layout read the same file. nullptr and the libzip error code on failure.
zip_t* open_zip(int fd, int& code) {
  code = ZIP_ER_OPEN;
  int own = ::dup(fd);
  if (own < 0) return nullptr;
  FILE* f = ::fdopen(own, "rb");
  if (!f) {
    ::close(own);
    return nullptr;
  }
  zip_error_t ze;
  zip_error_init(&ze);
  zip_source_t* src = zip_source_filep_create(f, 0, -1, &ze);
  if (!src) {
    std::fclose(f);
    code = zip_error_code_zip(&ze);
    zip_error_fini(&ze);
    return nullptr;
  }
  zip_t* z = zip_open_from_source(src, ZIP_RDONLY, &ze);
  if (!z) {
    zip_source_free(src);  // closes f
    code = zip_error_code_zip(&ze);
  }
  zip_error_fini(&ze);
  return z;
}

}  // namespace

struct reader::impl {
  fs::path file;
  reader_limits limits;
  fs::path temp_dir;
  int outer_fd = -1;
  zip_t* outer = nullptr;
  std::vector<entry_info> outer_entries;
  std::unordered_map<std::string, std::size_t> outer_by_name;
  std::string manifest_bytes;  // exactly as stored: the MAC covers these bytes
  json::object manifest;
  std::string mac;
  bool encrypted = false;
  kdf_limits kdf;
  std::string salt;
  std::unique_ptr<crypto::keys> keys;
  int inner_fd = -1;       // the anonymous file that holds the decrypted payload
  zip_t* inner = nullptr;  // the decrypted payload, once for_each_* needed it
  std::vector<entry_info> inner_entries;
  std::string buf, out_buf;  // read buffers, kept between entries

  ~impl() {
    if (inner) zip_discard(inner);
    if (outer) zip_discard(outer);
    if (inner_fd >= 0) ::close(inner_fd);
    if (outer_fd >= 0) ::close(outer_fd);
  }

  error not_a_package(const std::string& why) const {
    return make_error(
        errc::invalid_argument,
        file.filename().string() + " is not a migration package or is damaged: " + why);
  }

  const json::object& listed() const { return manifest.at("Entries").get_object(); }

  // Streams entry e of z to sink, at most cap bytes. The raw bytes come from libzip and are
  // inflated here, because libzip stops at the declared size and so would not notice compressed
  // bytes changed past it: the deflate stream must end exactly at the end of the entry's data,
  // with the declared size and CRC.
  status stream_entry(zip_t* z, const entry_info& e, std::uint64_t cap,
                      const std::function<status(const char*, std::size_t)>& sink) {
    auto damaged = [&](const std::string& why) {
      return corrupt("the package entry " + e.name + " is damaged: " + why);
    };
    if (e.size > cap) return damaged("it is over the size limit");
    bool deflated = e.method == ZIP_CM_DEFLATE;
    if (!deflated && e.compressed != e.size) return damaged("its stored and declared sizes differ");
    zip_file_t* f = zip_fopen_index(z, e.index, ZIP_FL_COMPRESSED);
    if (!f) return damaged(zip_strerror(z));
    struct closer {
      zip_file_t* f;
      ~closer() { zip_fclose(f); }
    } close_f{f};
    z_stream zs{};
    if (deflated && inflateInit2(&zs, -MAX_WBITS) != Z_OK) return damaged("out of memory");
    struct ender {
      z_stream* zs;
      ~ender() {
        if (zs) inflateEnd(zs);
      }
    } end_zs{deflated ? &zs : nullptr};

    buf.resize(read_buffer_bytes);
    out_buf.resize(read_buffer_bytes);
    std::uint64_t raw = 0, produced = 0;
    uLong crc = crc32(0, nullptr, 0);
    bool ended = !deflated;
    auto emit = [&](const char* p, std::size_t n) -> status {
      produced += n;
      if (produced > e.size) return damaged("it is longer than it declares");
      crc = crc32(crc, reinterpret_cast<const Bytef*>(p), static_cast<uInt>(n));
      return sink(p, n);
    };
    while (true) {
      auto n = zip_fread(f, buf.data(), buf.size());
      if (n < 0) return damaged(zip_file_strerror(f));
      if (n == 0) break;
      raw += static_cast<std::uint64_t>(n);
      if (!deflated) {
        if (auto s = emit(buf.data(), static_cast<std::size_t>(n)); !s) return s;
        continue;
      }
      if (ended) return damaged("it goes on after the end of its compressed data");
      zs.next_in = reinterpret_cast<Bytef*>(buf.data());
      zs.avail_in = static_cast<uInt>(n);
      do {
        zs.next_out = reinterpret_cast<Bytef*>(out_buf.data());
        zs.avail_out = static_cast<uInt>(out_buf.size());
        int r = inflate(&zs, Z_NO_FLUSH);
        if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR)
          return damaged("its compressed data is invalid");
        auto got = out_buf.size() - zs.avail_out;
        if (auto s = emit(out_buf.data(), got); !s) return s;
        if (r == Z_STREAM_END) {
          ended = true;
          break;
        }
      } while (zs.avail_out == 0);
      if (ended && zs.avail_in > 0)
        return damaged("it goes on after the end of its compressed data");
    }
    if (raw != e.compressed) return damaged("it is shorter than it declares");
    if (!ended) return damaged("its compressed data ends early");
    if (produced != e.size) return damaged("it is shorter than it declares");
    if (crc != e.crc) return damaged("CRC error");
    return ok_status();
  }

  result<std::string> read_entry(zip_t* z, const entry_info& e, std::uint64_t cap,
                                 std::string* digest = nullptr) {
    std::string out;
    out.reserve(static_cast<std::size_t>(std::min(e.size, cap)));
    crypto::sha256 h;
    auto s = stream_entry(z, e, cap, [&](const char* p, std::size_t n) {
      out.append(p, n);
      if (digest) h.update(p, n);
      return ok_status();
    });
    if (!s) return s.err();
    if (digest) *digest = h.hex_final();
    return out;
  }

  status check_manifest() const {
    const auto& m = manifest;
    auto* format = m.if_contains("Format");
    if (!format || !format->is_string()) return not_a_package("its manifest has no Format");
    if (format->get_string() != format_name)
      return make_error(errc::invalid_argument,
                        "the package's format is " + printable(format->get_string()) +
                            "; this version reads " + format_name + " only");
    auto bad = [&](const std::string& what) { return not_a_package("its manifest's " + what); };
    for (const char* key :
         {"ProducerVersion", "SourceInstallationId", "CreatedAt", "PackageId", "PackageVersion"}) {
      auto* v = m.if_contains(key);
      if (!v || !v->is_string()) return bad(std::string(key) + " is missing or not a string");
    }
    if (auto* v = m.if_contains("Options"); !v || !v->is_object())
      return bad("Options is missing or not an object");
    if (auto* v = m.if_contains("LeftOut"); !v || !v->is_array())
      return bad("LeftOut is missing or not an array");
    auto* enc = m.if_contains("Encrypted");
    if (!enc || !enc->is_bool()) return bad("Encrypted is missing or not true or false");
    auto* counts = m.if_contains("Counts");
    if (!counts || !counts->is_object()) return bad("Counts is missing or not an object");
    for (const auto& kv : counts->get_object()) {
      std::uint64_t n = 0;
      if (!as_u64(kv.value(), n)) return bad("Counts are not numbers");
    }
    std::uint64_t n = 0;
    if (!get_u64(m, "TaskLogs", n)) return bad("TaskLogs is missing or not a number");
    auto* check = m.if_contains("PasswordCheck");
    if (!check || !check->is_string() || !crypto::is_hex_digest(check->get_string()))
      return bad("PasswordCheck is missing or not 64 hex digits");
    auto* entries = m.if_contains("Entries");
    if (!entries || !entries->is_object()) return bad("Entries is missing or not an object");
    for (const auto& kv : entries->get_object())
      if (!kv.value().is_string() || !crypto::is_hex_digest(kv.value().get_string()))
        return bad("digest of " + printable(kv.key()) + " is not 64 hex digits");
    if (enc->get_bool() &&
        (entries->get_object().size() != 1 || !entries->get_object().contains(payload_name)))
      return bad("Entries must list payload.bin only, for an encrypted package");
    auto* kdf_value = m.if_contains("Kdf");
    if (!kdf_value || !kdf_value->is_object()) return bad("Kdf is missing or not an object");
    const auto& k = kdf_value->get_object();
    auto* alg = k.if_contains("Algorithm");
    if (!alg || !alg->is_string() || alg->get_string() != crypto::kdf_algorithm)
      return bad("Kdf Algorithm is not argon2id13");
    std::uint64_t ops = 0, mem = 0;
    if (!get_u64(k, "OpsLimit", ops) || !get_u64(k, "MemLimit", mem))
      return bad("Kdf OpsLimit or MemLimit is missing or not a number");
    if (ops < min_kdf_limits.opslimit || ops > max_opslimit || mem < min_kdf_limits.memlimit ||
        mem > max_memlimit)
      return make_error(errc::invalid_argument,
                        "the package asks for a key derivation out of the accepted range "
                        "(OpsLimit " +
                            std::to_string(ops) + ", MemLimit " + std::to_string(mem) +
                            "; at most " + std::to_string(max_opslimit) + " and 1 GiB)");
    auto* salt_value = k.if_contains("Salt");
    std::string raw;
    if (!salt_value || !salt_value->is_string() ||
        !crypto::from_base64(salt_value->get_string(), raw) || raw.size() != crypto::salt_bytes)
      return bad("Kdf Salt is not 16 bytes of base64");
    return ok_status();
  }

  const entry_info* outer_entry(const std::string& name) const {
    auto it = outer_by_name.find(name);
    return it == outer_by_name.end() ? nullptr : &outer_entries[it->second];
  }

  // Every entry but the manifest's own is listed, and every listed one is there.
  status check_listed() const {
    const auto& list = listed();
    for (const auto& e : outer_entries) {
      auto k = kind_of(e.name);
      if (k == entry_kind::manifest || k == entry_kind::mac) continue;
      if (!list.contains(e.name))
        return corrupt("the package holds an entry its manifest does not list: " + e.name);
    }
    for (const auto& kv : list)
      if (!outer_by_name.count(std::string(kv.key())))
        return corrupt("the package lacks the entry " + std::string(kv.key()) +
                       " that its manifest lists");
    return ok_status();
  }

  status require_unlocked() const {
    if (!keys)
      return make_error(errc::invalid_argument,
                        "the package is locked: unlock it with its password first");
    return ok_status();
  }

  // The inner zip, opened once; a failure leaves nothing open, so that a retry starts afresh.
  status open_inner() {
    if (inner) return ok_status();
    auto s = decrypt_payload();
    if (!s) {
      if (inner) zip_discard(inner);
      if (inner_fd >= 0) ::close(inner_fd);
      inner = nullptr;
      inner_fd = -1;
      inner_entries.clear();
    }
    return s;
  }

  // Decrypts payload.bin as a stream, inflates it (one raw deflate stream) into an anonymous
  // temporary file and opens the inner zip from it. The payload's digest is checked after the
  // stream, whose authentication comes first; the inflated size is bounded by max_total_bytes.
  status decrypt_payload() {
    const entry_info* payload = outer_entry(payload_name);
    if (!payload) return corrupt("the encrypted package has no payload.bin");
    auto dir = !temp_dir.empty() ? temp_dir : file.parent_path();
    auto fd = crypto::anonymous_file(dir, "the decrypted payload");
    if (!fd) return fd.err();
    int out = inner_fd = *fd;
    std::uint64_t written = 0;
    auto to_file = [&](const unsigned char* p, std::size_t n) -> status {
      written += n;
      if (written > limits.max_total_bytes)
        return corrupt("the decompressed payload is over the size limit");
      while (n > 0) {
        auto w = ::write(out, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0)
          return make_error(errc::io_error, "cannot write the decrypted payload to " +
                                                dir.string() + ": " +
                                                std::system_category().message(errno));
        p += w;
        n -= static_cast<std::size_t>(w);
      }
      return ok_status();
    };
    z_stream zs{};
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK)
      return make_error(errc::io_error, "cannot set up the payload's decompression");
    struct ender {
      z_stream* zs;
      ~ender() { inflateEnd(zs); }
    } end_zs{&zs};
    // Not out_buf: stream_entry inflates into that one when payload.bin itself is deflated.
    std::string inflated(read_buffer_bytes, '\0');
    bool ended = false;
    auto damaged = [](const char* why) {
      return corrupt(std::string("the decrypted payload is damaged: ") + why);
    };
    crypto::stream_decryptor dec(*keys, [&](const unsigned char* p, std::size_t n) -> status {
      if (n == 0) return ok_status();
      if (ended) return damaged("it goes on after the end of its compressed data");
      zs.next_in = const_cast<Bytef*>(p);
      zs.avail_in = static_cast<uInt>(n);  // a secretstream chunk: 64 KiB at most
      do {
        zs.next_out = reinterpret_cast<Bytef*>(inflated.data());
        zs.avail_out = static_cast<uInt>(inflated.size());
        int r = inflate(&zs, Z_NO_FLUSH);
        if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR)
          return damaged("its compressed data is invalid");
        auto got = inflated.size() - zs.avail_out;
        if (auto s = to_file(reinterpret_cast<const unsigned char*>(inflated.data()), got); !s)
          return s;
        if (r == Z_STREAM_END) {
          ended = true;
          break;
        }
        if (r == Z_BUF_ERROR) {  // no progress: no input left (or, never, no room)
          if (zs.avail_in == 0) break;
          if (got == 0) return damaged("its compressed data is invalid");
        }
      } while (zs.avail_in > 0 || zs.avail_out == 0);
      if (ended && zs.avail_in > 0)
        return damaged("it goes on after the end of its compressed data");
      return ok_status();
    });
    crypto::sha256 h;
    auto s =
        stream_entry(outer, *payload, limits.max_total_bytes, [&](const char* p, std::size_t n) {
          h.update(p, n);
          return dec.write(reinterpret_cast<const unsigned char*>(p), n);
        });
    if (s) s = dec.finish();
    if (s && !ended) s = damaged("its compressed data is cut short");
    if (s && h.hex_final() != listed().at(payload_name).get_string())
      s = corrupt("the package entry payload.bin does not match its digest in the manifest");
    if (!s) return s;
    int code = 0;
    inner = open_zip(inner_fd, code);
    if (!inner) return corrupt("the decrypted payload is not a valid zip: " + zip_message(code));
    auto refuse = [](std::string why) {
      return corrupt("the decrypted payload is not a valid package payload: " + why);
    };
    auto cat = catalog(inner, limits, false, refuse);
    if (!cat) return cat.err();
    if (auto l = check_layout(inner_fd, *cat, refuse); !l) return l;
    for (const auto& e : *cat) {
      auto k = kind_of(e.name);
      if (k != entry_kind::document && k != entry_kind::task_log)
        return corrupt("the decrypted payload holds an unexpected entry " + printable(e.name));
    }
    inner_entries = std::move(*cat);
    return ok_status();
  }

  // Every entry of kind k in package order, read, checked (the digest the manifest lists, for an
  // unencrypted package; the payload authenticates the rest) and handed to fn.
  status walk(entry_kind k, const std::function<status(const entry_info&, std::string)>& fn) {
    if (auto s = require_unlocked(); !s) return s;
    zip_t* z = outer;
    const std::vector<entry_info>* list = &outer_entries;
    if (encrypted) {
      if (auto s = open_inner(); !s) return s;
      z = inner;
      list = &inner_entries;
    } else if (auto s = check_listed(); !s) {
      return s;
    }
    for (const auto& e : *list) {
      auto ek = kind_of(e.name);
      if (!encrypted && ek == entry_kind::other)
        return corrupt("the package holds an unexpected entry " + printable(e.name));
      if (ek != k) continue;
      std::string digest;
      auto bytes = read_entry(z, e, limits.max_entry_bytes, encrypted ? nullptr : &digest);
      if (!bytes) return bytes.err();
      if (!encrypted && digest != listed().at(e.name).get_string())
        return corrupt("the package entry " + e.name +
                       " does not match its digest in the manifest");
      if (auto s = fn(e, std::move(*bytes)); !s) return s;
    }
    return ok_status();
  }
};

reader::reader(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
reader::~reader() = default;

result<std::unique_ptr<reader>> reader::open(const fs::path& file, reader_limits limits,
                                             const fs::path& temp_dir) {
  if (!crypto::ready()) return make_error(errc::io_error, "libsodium cannot be initialised");
  auto d = std::make_unique<impl>();
  d->file = file;
  d->limits = limits;
  d->temp_dir = temp_dir;
  d->outer_fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (d->outer_fd < 0) {
    int e = errno;
    if (e == ENOENT)
      return make_error(errc::not_found, "there is no package file " + file.string());
    return make_error(errc::io_error, "cannot open the package " + file.string() + ": " +
                                          std::system_category().message(e));
  }
  int code = 0;
  d->outer = open_zip(d->outer_fd, code);
  if (!d->outer) {
    if (code == ZIP_ER_OPEN || code == ZIP_ER_READ || code == ZIP_ER_MEMORY)
      return make_error(errc::io_error,
                        "cannot read the package " + file.string() + ": " + zip_message(code));
    return d->not_a_package(zip_message(code));
  }
  auto refuse = [&d](std::string why) { return d->not_a_package(why); };
  auto cat = catalog(d->outer, limits, true, refuse);
  if (!cat) return cat.err();
  if (auto l = check_layout(d->outer_fd, *cat, refuse); !l) return l.err();
  d->outer_entries = std::move(*cat);
  for (std::size_t i = 0; i < d->outer_entries.size(); ++i)
    d->outer_by_name.emplace(d->outer_entries[i].name, i);

  const entry_info* m = d->outer_entry(manifest_name);
  if (!m) return d->not_a_package("it has no manifest.json");
  auto bytes = d->read_entry(d->outer, *m, limits.max_entry_bytes);
  if (!bytes) return d->not_a_package(bytes.err().message);
  d->manifest_bytes = std::move(*bytes);
  json::error_code ec;
  auto parsed = json::parse(d->manifest_bytes, ec);
  if (ec || !parsed.is_object()) return d->not_a_package("its manifest.json is not a JSON object");
  d->manifest = std::move(parsed.get_object());
  if (auto s = d->check_manifest(); !s) return s.err();

  const entry_info* mac = d->outer_entry(mac_name);
  if (!mac) return d->not_a_package("it has no manifest.mac");
  auto mac_bytes = d->read_entry(d->outer, *mac, 2 * crypto::digest_bytes);
  if (!mac_bytes) return d->not_a_package(mac_bytes.err().message);
  if (!crypto::is_hex_digest(*mac_bytes))
    return d->not_a_package("its manifest.mac is not 64 hex digits");
  d->mac = std::move(*mac_bytes);

  d->encrypted = d->manifest.at("Encrypted").get_bool();
  const auto& k = d->manifest.at("Kdf").get_object();
  std::uint64_t ops = 0, mem = 0;
  get_u64(k, "OpsLimit", ops);
  get_u64(k, "MemLimit", mem);
  d->kdf = {ops, static_cast<std::size_t>(mem)};
  crypto::from_base64(k.at("Salt").get_string(), d->salt);
  if (d->encrypted && !d->outer_entry(payload_name))
    return d->not_a_package("it is marked encrypted but has no payload.bin");
  return std::unique_ptr<reader>(new reader(std::move(d)));
}

const json::object& reader::manifest() const {
  return impl_->manifest;
}

bool reader::encrypted() const {
  return impl_->encrypted;
}

std::vector<std::pair<std::string, std::uint64_t>> reader::entries() const {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  out.reserve(impl_->outer_entries.size());
  for (const auto& e : impl_->outer_entries) out.emplace_back(e.name, e.size);
  return out;
}

status reader::verify_digests() const {
  auto& d = *impl_;
  if (auto s = d.check_listed(); !s) return s;
  for (const auto& kv : d.listed()) {
    const entry_info* e = d.outer_entry(std::string(kv.key()));
    crypto::sha256 h;
    auto cap = e->name == payload_name ? d.limits.max_total_bytes : d.limits.max_entry_bytes;
    auto s = d.stream_entry(d.outer, *e, cap, [&](const char* p, std::size_t n) {
      h.update(p, n);
      return ok_status();
    });
    if (!s) return s;
    if (h.hex_final() != kv.value().get_string())
      return corrupt("the package entry " + e->name + " does not match its digest in the manifest");
  }
  return ok_status();
}

status reader::unlock(const std::string& password) {
  auto& d = *impl_;
  auto k = crypto::derive(password, reinterpret_cast<const unsigned char*>(d.salt.data()), d.kdf);
  if (!k) return k.err();
  if (!crypto::equal_secret(crypto::password_check(**k),
                            d.manifest.at("PasswordCheck").get_string()))
    return make_error(errc::invalid_argument,
                      "The password does not match the one the package was exported with.");
  if (!crypto::equal_secret(crypto::manifest_mac(**k, d.manifest_bytes), d.mac))
    return corrupt(
        "the package's manifest was changed after the export (manifest.mac does not "
        "match it)");
  d.keys = std::move(*k);
  return ok_status();
}

status reader::for_each_document(
    const std::function<status(const std::string&, const std::string&, json::object)>& fn) {
  auto& d = *impl_;
  std::map<std::string, std::uint64_t> seen;
  auto s = d.walk(entry_kind::document, [&](const entry_info& e, std::string bytes) -> status {
    auto [collection, id] = document_name(e.name);
    json::error_code ec;
    auto doc = json::parse(bytes, ec);
    if (ec || !doc.is_object())
      return corrupt("the package entry " + e.name + " is not a JSON object");
    ++seen[collection];
    return fn(collection, id, std::move(doc.get_object()));
  });
  if (!s) return s;
  const auto& counts = d.manifest.at("Counts").get_object();
  for (const auto& kv : counts) {
    std::uint64_t n = 0;
    as_u64(kv.value(), n);
    auto it = seen.find(std::string(kv.key()));
    if ((it == seen.end() ? 0 : it->second) != n)
      return corrupt("the package holds " + std::to_string(it == seen.end() ? 0 : it->second) +
                     " documents of " + std::string(kv.key()) + ", its manifest counts " +
                     std::to_string(n));
  }
  for (const auto& [collection, n] : seen)
    if (!counts.contains(collection))
      return corrupt("the package holds " + std::to_string(n) + " documents of " + collection +
                     ", which its manifest does not count");
  return ok_status();
}

status reader::for_each_task_log(const std::function<status(const std::string&, json::value)>& fn) {
  auto& d = *impl_;
  std::uint64_t seen = 0;
  auto s = d.walk(entry_kind::task_log, [&](const entry_info& e, std::string bytes) -> status {
    json::error_code ec;
    auto log = json::parse(bytes, ec);
    if (ec) return corrupt("the package entry " + e.name + " is not JSON");
    ++seen;
    return fn(task_id_of(e.name), std::move(log));
  });
  if (!s) return s;
  std::uint64_t listed = 0;
  get_u64(d.manifest, "TaskLogs", listed);
  if (seen != listed)
    return corrupt("the package holds " + std::to_string(seen) +
                   " task logs, its manifest counts " + std::to_string(listed));
  return ok_status();
}

result<std::string> reader::open_value(const json::value& sealed) const {
  if (auto s = impl_->require_unlocked(); !s) return s.err();
  if (!is_sealed_value(sealed))
    return make_error(errc::invalid_argument, "the value is not a sealed value");
  return crypto::unseal(*impl_->keys, sealed.get_object().at("MigrationSealed").get_string());
}

bool is_sealed_value(const json::value& v) {
  if (!v.is_object() || v.get_object().size() != 1) return false;
  auto* s = v.get_object().if_contains("MigrationSealed");
  return s && s->is_string();
}

}  // namespace octomig::package
