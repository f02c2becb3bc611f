// Private to package/: the key schedule and the primitives of the package format (libsodium, and
// OpenSSL's SHA-256 for the digests because it uses the CPU's SHA instructions).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "events/error.hpp"
#include "package/package.hpp"

namespace octomig::package::crypto {

inline constexpr std::size_t salt_bytes = 16;    // crypto_pwhash_SALTBYTES
inline constexpr std::size_t key_bytes = 32;     // every subkey
inline constexpr std::size_t digest_bytes = 32;  // SHA-256, BLAKE2b-256
inline constexpr const char* kdf_algorithm = "argon2id13";
// The secretstream's plaintext chunk: each ciphertext chunk is this plus 17 bytes (tag and MAC),
// but the last, which is shorter (or empty) and tagged FINAL.
inline constexpr std::size_t chunk_bytes = 64 * 1024;

// false when libsodium cannot be used (no random source): nothing here works then.
bool ready();

void random_bytes(unsigned char* p, std::size_t n);

// The subkeys of one package, derived from the password. Zeroed when destroyed.
struct keys {
  unsigned char values[key_bytes];   // subkey 1: crypto_secretbox of the sensitive values
  unsigned char payload[key_bytes];  // subkey 2: crypto_secretstream of payload.bin
  unsigned char check[key_bytes];    // subkey 3: the manifest's PasswordCheck
  unsigned char mac[key_bytes];      // subkey 4: manifest.mac
  keys() = default;
  keys(const keys&) = delete;
  keys& operator=(const keys&) = delete;
  ~keys();
};

// Argon2id13 with the salt, then crypto_kdf_derive_from_key (context "octomig1"). errc::io_error
// when libsodium cannot have the memory. REQUIRES: limits within libsodium's bounds.
result<std::unique_ptr<keys>> derive(const std::string& password, const unsigned char* salt,
                                     const kdf_limits& limits);

// hex crypto_generichash(32, "octomig-migration/1 password check", key = check subkey).
std::string password_check(const keys& k);
// hex crypto_generichash(32, manifest bytes, key = MAC subkey).
std::string manifest_mac(const keys& k, std::string_view manifest);
// Compares two equally long strings without stopping at the first difference.
bool equal_secret(std::string_view a, std::string_view b);

// base64 (original alphabet, padded) of nonce(24) || crypto_secretbox_easy(plain).
std::string seal(const keys& k, std::string_view plain);
// The plaintext, or errc::corruption.
result<std::string> unseal(const keys& k, std::string_view sealed_base64);

std::string to_base64(const unsigned char* p, std::size_t n);
// false for anything but padded, original-alphabet base64 without spaces.
bool from_base64(std::string_view text, std::string& out);
bool is_hex_digest(std::string_view s);  // 64 lower-case hex digits

// A message digest as lower-case hex (OpenSSL's EVP, which uses the CPU's SHA instructions).
class digest {
 public:
  ~digest();
  digest(const digest&) = delete;
  digest& operator=(const digest&) = delete;
  void update(const void* p, std::size_t n);
  std::string hex_final();  // REQUIRES: called once

 protected:
  explicit digest(const void* md);  // an EVP_MD

 private:
  void* ctx_;  // EVP_MD_CTX
};
class sha256 : public digest {
 public:
  sha256();
};
// The feeds' Hash (Octopus's package hash).
class sha1 : public digest {
 public:
  sha1();
};

using byte_sink = std::function<status(const unsigned char* p, std::size_t n)>;

// Encrypts a byte stream with crypto_secretstream_xchacha20poly1305 into out: the header, then one
// chunk per chunk_bytes of plaintext, then at finish() the rest (possibly empty) tagged FINAL.
class stream_encryptor {
 public:
  stream_encryptor(const keys& k, byte_sink out);
  ~stream_encryptor();
  stream_encryptor(const stream_encryptor&) = delete;
  stream_encryptor& operator=(const stream_encryptor&) = delete;
  status write(const unsigned char* p, std::size_t n);
  status finish();  // REQUIRES: called once, after every write

 private:
  status push(unsigned char tag);
  struct state;
  std::unique_ptr<state> s_;
  byte_sink out_;
  std::string plain_;
  std::string cipher_;
  bool header_written_ = false;
};

// The reverse: ciphertext in any pieces, plaintext to out. errc::corruption for a chunk that does
// not authenticate, bytes after the FINAL chunk, or (at finish) a stream without its FINAL chunk.
class stream_decryptor {
 public:
  stream_decryptor(const keys& k, byte_sink out);
  ~stream_decryptor();
  stream_decryptor(const stream_decryptor&) = delete;
  stream_decryptor& operator=(const stream_decryptor&) = delete;
  status write(const unsigned char* p, std::size_t n);
  status finish();

 private:
  status pull(std::size_t n);
  struct state;
  std::unique_ptr<state> s_;
  byte_sink out_;
  std::string pending_;  // ciphertext not yet pulled
  std::string plain_;
  bool header_read_ = false;
  bool final_seen_ = false;
  std::uint64_t chunks_ = 0;
};

// Scratch space for the payload on its way in or out: an anonymous file in dir (O_TMPFILE where the
// file system has it, else a named file removed at once), open for reading and writing. Nothing is
// left behind when it is closed, nor after a crash. errc::io_error naming what.
result<int> anonymous_file(const std::filesystem::path& dir, const std::string& what);

}  // namespace octomig::package::crypto
