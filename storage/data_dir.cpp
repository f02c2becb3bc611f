#include "storage/data_dir.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "storage/keys.hpp"

namespace octomig::storage {
namespace fs = std::filesystem;

namespace {
bool sodium_ready() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}
}  // namespace

status ensure_layout(const data_dir& d) {
  std::error_code ec;
  for (const auto& p : {d.root, d.db(), d.feed(), d.work()}) {
    fs::create_directories(p, ec);
    if (ec) return make_error(errc::io_error, "cannot create " + p.string() + ": " + ec.message());
  }
  fs::permissions(d.root, fs::perms::owner_all, fs::perm_options::replace, ec);
  return ok_status();
}

status write_private_file(const fs::path& path, const std::string& text) {
  fs::path tmp = path;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return make_error(errc::io_error, "cannot create " + tmp.string());
  ::fchmod(fd, 0600);
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      ::close(fd);
      return make_error(errc::io_error, "cannot write " + tmp.string());
    }
    done += static_cast<std::size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return make_error(errc::io_error, "cannot rename " + tmp.string() + ": " + ec.message());
  return ok_status();
}

result<std::string> load_or_create_master_key(const data_dir& d) {
  if (!sodium_ready()) return make_error(errc::io_error, "libsodium failed to initialise");
  std::error_code ec;
  if (fs::exists(d.master_key(), ec)) {
    std::ifstream in(d.master_key(), std::ios::binary);
    std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (key.size() != crypto_generichash_KEYBYTES)
      return make_error(errc::corruption, d.master_key().string() + " does not hold a 32-byte key");
    return key;
  }
  std::string key(crypto_generichash_KEYBYTES, '\0');
  randombytes_buf(key.data(), key.size());
  if (auto st = write_private_file(d.master_key(), key); !st) return st.err();
  return key;
}

std::string generate_api_key() {
  sodium_ready();
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string key = "API-";
  for (int i = 0; i < 28; ++i) key += alphabet[randombytes_uniform(36)];
  return key;
}

std::string hash_api_key(const std::string& api_key, const std::string& master_key) {
  sodium_ready();
  unsigned char out[32];
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(api_key.data()),
                     api_key.size(), reinterpret_cast<const unsigned char*>(master_key.data()),
                     master_key.size());
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, out, sizeof out);
  return hex;
}

std::string new_uuid() {
  sodium_ready();
  unsigned char b[16];
  randombytes_buf(b, sizeof b);
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

result<std::string> create_api_key(store& st, const std::string& master_key,
                                   const std::string& name, const std::string& role,
                                   events::timestamp_us now) {
  if (name.empty()) return make_error(errc::invalid_argument, "An API key needs a name.");
  if (role != "admin" && role != "user")
    return make_error(errc::invalid_argument, "The role must be admin or user.");
  auto existing = st.api_keys();
  if (!existing) return existing.err();
  for (const auto& k : *existing)
    if (k.name == name)
      return make_error(errc::conflict, "An API key named " + name + " already exists.");
  auto version = st.stream_version(events::system_stream);
  if (!version) return version.err();
  std::string key = generate_api_key();
  append_request r;
  r.stream = events::system_stream;
  r.expected_version = *version;
  r.events.push_back(events::api_key_created{name, role, hash_api_key(key, master_key)});
  r.timestamp = now;
  auto a = st.append(r);
  if (!a) return a.err();
  return key;
}

result<bootstrap_result> bootstrap(store& st, const data_dir& d, const std::string& master_key,
                                   events::timestamp_us now) {
  bootstrap_result out;
  auto id = st.meta(keys::meta_installation);
  if (!id) return id.err();
  if (*id) {
    out.installation_id = **id;
  } else {
    out.installation_id = new_uuid();
    if (auto s = st.put_meta(keys::meta_installation, out.installation_id); !s) return s.err();
  }
  // Any key row at all, even a damaged one: a damaged key is reported when it is presented.
  auto any = st.has_api_keys();
  if (!any) return any.err();
  if (*any) return out;
  auto key = create_api_key(st, master_key, "admin", "admin", now);
  if (!key) return key.err();
  if (auto s = write_private_file(d.admin_key_file(), *key + "\n"); !s) return s.err();
  out.created_admin_key = true;
  return out;
}

}  // namespace octomig::storage
