// The package format's key schedule and primitives (see crypto.hpp and docs/package-format.md).
#include "package/crypto.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <system_error>

#include "base/hex.hpp"

namespace octomig::package::crypto {

static_assert(salt_bytes == crypto_pwhash_SALTBYTES);
static_assert(key_bytes == crypto_secretbox_KEYBYTES);
static_assert(key_bytes == crypto_secretstream_xchacha20poly1305_KEYBYTES);
static_assert(key_bytes == crypto_kdf_KEYBYTES);
static_assert(digest_bytes == crypto_generichash_BYTES);
static_assert(kdf_limits{}.opslimit == crypto_pwhash_OPSLIMIT_INTERACTIVE);
static_assert(kdf_limits{}.memlimit == crypto_pwhash_MEMLIMIT_INTERACTIVE);
static_assert(min_kdf_limits.opslimit == crypto_pwhash_OPSLIMIT_MIN);
static_assert(min_kdf_limits.memlimit == crypto_pwhash_MEMLIMIT_MIN);
static_assert(max_opslimit <= crypto_pwhash_OPSLIMIT_MAX);

namespace {

// Subkey ids under the context below: numbered once, never reused.
constexpr std::uint64_t subkey_values = 1;
constexpr std::uint64_t subkey_payload = 2;
constexpr std::uint64_t subkey_check = 3;
constexpr std::uint64_t subkey_mac = 4;
constexpr char kdf_context[crypto_kdf_CONTEXTBYTES] = {'o', 'c', 't', 'o', 'm', 'i', 'g', '1'};
constexpr std::string_view check_message = "octomig-migration/1 password check";

constexpr std::size_t header_bytes = crypto_secretstream_xchacha20poly1305_HEADERBYTES;
constexpr std::size_t cipher_chunk = chunk_bytes + crypto_secretstream_xchacha20poly1305_ABYTES;

std::string keyed_hash(const unsigned char* key, const void* p, std::size_t n) {
  unsigned char out[digest_bytes];
  crypto_generichash(out, sizeof out, static_cast<const unsigned char*>(p), n, key, key_bytes);
  return base::to_hex(out, sizeof out);
}

}  // namespace

bool ready() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}

void random_bytes(unsigned char* p, std::size_t n) {
  randombytes_buf(p, n);
}

keys::~keys() {
  sodium_memzero(this, sizeof *this);
}

result<std::unique_ptr<keys>> derive(const std::string& password, const unsigned char* salt,
                                     const kdf_limits& limits) {
  unsigned char root[crypto_kdf_KEYBYTES];
  if (crypto_pwhash(root, sizeof root, password.data(), password.size(), salt, limits.opslimit,
                    limits.memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0)
    return make_error(errc::io_error,
                      "cannot derive the package keys: out of memory for the key derivation");
  auto k = std::make_unique<keys>();
  crypto_kdf_derive_from_key(k->values, key_bytes, subkey_values, kdf_context, root);
  crypto_kdf_derive_from_key(k->payload, key_bytes, subkey_payload, kdf_context, root);
  crypto_kdf_derive_from_key(k->check, key_bytes, subkey_check, kdf_context, root);
  crypto_kdf_derive_from_key(k->mac, key_bytes, subkey_mac, kdf_context, root);
  sodium_memzero(root, sizeof root);
  return k;
}

std::string password_check(const keys& k) {
  return keyed_hash(k.check, check_message.data(), check_message.size());
}

std::string manifest_mac(const keys& k, std::string_view manifest) {
  return keyed_hash(k.mac, manifest.data(), manifest.size());
}

bool equal_secret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string seal(const keys& k, std::string_view plain) {
  std::string buf(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plain.size(), '\0');
  auto* p = reinterpret_cast<unsigned char*>(buf.data());
  randombytes_buf(p, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(p + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const unsigned char*>(plain.data()), plain.size(), p,
                        k.values);
  return to_base64(p, buf.size());
}

result<std::string> unseal(const keys& k, std::string_view sealed_base64) {
  auto bad = [] {
    return make_error(errc::corruption,
                      "a sealed value does not open: it is damaged or was sealed for another "
                      "package");
  };
  std::string raw;
  if (!from_base64(sealed_base64, raw) ||
      raw.size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
    return bad();
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  std::string plain(raw.size() - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(plain.data()),
                                 p + crypto_secretbox_NONCEBYTES,
                                 raw.size() - crypto_secretbox_NONCEBYTES, p, k.values) != 0)
    return bad();
  return plain;
}

std::string to_base64(const unsigned char* p, std::size_t n) {
  std::string out(sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), p, n, sodium_base64_VARIANT_ORIGINAL);
  out.pop_back();  // the terminating NUL
  return out;
}

bool from_base64(std::string_view text, std::string& out) {
  out.assign(text.size() / 4 * 3 + 3, '\0');
  std::size_t n = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &n, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size())
    return false;
  out.resize(n);
  return true;
}

bool is_hex_digest(std::string_view s) {
  if (s.size() != 2 * digest_bytes) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

digest::digest(const void* md) : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), static_cast<const EVP_MD*>(md), nullptr);
}

digest::~digest() {
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_));
}

void digest::update(const void* p, std::size_t n) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), p, n);
}

std::string digest::hex_final() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), md, &len);
  return base::to_hex(md, len);
}

sha256::sha256() : digest(EVP_sha256()) {}
sha1::sha1() : digest(EVP_sha1()) {}

// ---- secretstream -------------------------------------------------------------------------------

struct stream_encryptor::state {
  crypto_secretstream_xchacha20poly1305_state st;
  ~state() { sodium_memzero(&st, sizeof st); }
};

stream_encryptor::stream_encryptor(const keys& k, byte_sink out)
    : s_(std::make_unique<state>()), out_(std::move(out)) {
  unsigned char header[header_bytes];
  crypto_secretstream_xchacha20poly1305_init_push(&s_->st, header, k.payload);
  cipher_.assign(reinterpret_cast<const char*>(header), sizeof header);
  plain_.reserve(chunk_bytes);
}

stream_encryptor::~stream_encryptor() = default;

status stream_encryptor::push(unsigned char tag) {
  if (!header_written_) {
    // The header goes out with the first chunk: one write fewer, and an encryptor that never
    // writes (the writer failed before) leaves nothing behind.
    header_written_ = true;
  } else {
    cipher_.clear();
  }
  auto at = cipher_.size();
  cipher_.resize(at + plain_.size() + crypto_secretstream_xchacha20poly1305_ABYTES);
  crypto_secretstream_xchacha20poly1305_push(
      &s_->st, reinterpret_cast<unsigned char*>(cipher_.data() + at), nullptr,
      reinterpret_cast<const unsigned char*>(plain_.data()), plain_.size(), nullptr, 0, tag);
  plain_.clear();
  return out_(reinterpret_cast<const unsigned char*>(cipher_.data()), cipher_.size());
}

status stream_encryptor::write(const unsigned char* p, std::size_t n) {
  while (n > 0) {
    auto take = std::min(n, chunk_bytes - plain_.size());
    plain_.append(reinterpret_cast<const char*>(p), take);
    p += take;
    n -= take;
    if (plain_.size() == chunk_bytes)
      if (auto s = push(crypto_secretstream_xchacha20poly1305_TAG_MESSAGE); !s) return s;
  }
  return ok_status();
}

status stream_encryptor::finish() {
  return push(crypto_secretstream_xchacha20poly1305_TAG_FINAL);
}

struct stream_decryptor::state {
  crypto_secretstream_xchacha20poly1305_state st;
  const unsigned char* key;
  ~state() { sodium_memzero(&st, sizeof st); }
};

stream_decryptor::stream_decryptor(const keys& k, byte_sink out)
    : s_(std::make_unique<state>()), out_(std::move(out)) {
  s_->key = k.payload;
  pending_.reserve(cipher_chunk);
  plain_.resize(chunk_bytes);
}

stream_decryptor::~stream_decryptor() = default;

status stream_decryptor::pull(std::size_t n) {
  if (final_seen_)
    return make_error(errc::corruption, "the encrypted payload goes on after its final chunk");
  if (n < crypto_secretstream_xchacha20poly1305_ABYTES)
    return make_error(errc::corruption, "the encrypted payload ends inside a chunk (truncated)");
  unsigned long long len = 0;
  unsigned char tag = 0;
  if (crypto_secretstream_xchacha20poly1305_pull(
          &s_->st, reinterpret_cast<unsigned char*>(plain_.data()), &len, &tag,
          reinterpret_cast<const unsigned char*>(pending_.data()), n, nullptr, 0) != 0)
    return make_error(errc::corruption, "chunk " + std::to_string(chunks_) +
                                            " of the encrypted payload does not authenticate "
                                            "(damaged or truncated)");
  ++chunks_;
  pending_.clear();
  if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL)
    final_seen_ = true;
  else if (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE)
    return make_error(errc::corruption, "the encrypted payload has a chunk of an unknown kind");
  return out_(reinterpret_cast<const unsigned char*>(plain_.data()), len);
}

status stream_decryptor::write(const unsigned char* p, std::size_t n) {
  while (n > 0) {
    std::size_t need = header_read_ ? cipher_chunk : header_bytes;
    auto take = std::min(n, need - pending_.size());
    pending_.append(reinterpret_cast<const char*>(p), take);
    p += take;
    n -= take;
    if (pending_.size() < need) break;
    if (!header_read_) {
      if (crypto_secretstream_xchacha20poly1305_init_pull(
              &s_->st, reinterpret_cast<const unsigned char*>(pending_.data()), s_->key) != 0)
        return make_error(errc::corruption, "the encrypted payload's header is invalid");
      header_read_ = true;
      pending_.clear();
    } else if (auto s = pull(pending_.size()); !s) {
      return s;
    }
  }
  return ok_status();
}

status stream_decryptor::finish() {
  if (!header_read_)
    return make_error(errc::corruption, "the encrypted payload is too short to hold its header");
  if (!pending_.empty())
    if (auto s = pull(pending_.size()); !s) return s;
  if (!final_seen_)
    return make_error(errc::corruption,
                      "the encrypted payload ends before its final chunk (truncated)");
  return ok_status();
}

result<int> anonymous_file(const std::filesystem::path& dir, const std::string& what) {
  auto folder = dir.empty() ? std::filesystem::path(".") : dir;
  int fd = ::open(folder.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    std::string name = (folder / ".octomig-package-XXXXXX").string();
    fd = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd >= 0) ::unlink(name.c_str());
  }
  if (fd < 0)
    return make_error(errc::io_error, "cannot create a temporary file for " + what + " in " +
                                          folder.string() + ": " +
                                          std::system_category().message(errno));
  return fd;
}

}  // namespace octomig::package::crypto
