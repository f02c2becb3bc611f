// A certificate authority made in the test with libcrypto, for the HTTPS tests: a self-signed CA
// that issues server certificates with chosen names and validity (an expired one too), as PEM.
#pragma once

#include <openssl/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace octomig::server_test {

enum class key_kind { ec_p256, rsa_2048 };

struct leaf_options {
  // The subject's CN; tests tell served certificates apart by it. Default: "octomig test server".
  std::string common_name = "octomig test server";
  // subjectAltName entries. Default: DNS:localhost and IP:127.0.0.1.
  std::vector<std::string> dns_names{"localhost"};
  std::vector<std::string> ip_addresses{"127.0.0.1"};
  // Validity, relative to now: a negative not_after makes an expired certificate.
  // Default: from an hour ago to a day ahead.
  std::chrono::seconds not_before = -std::chrono::hours(1);
  std::chrono::seconds not_after = std::chrono::hours(24);
  // Default: an EC P-256 key.
  key_kind key = key_kind::ec_p256;
};

// A certificate and its private key (PKCS#8, unencrypted), both PEM.
struct pem_pair {
  std::string certificate;
  std::string private_key;
};

class test_ca {
 public:
  // A self-signed CA certificate (CN=name, CA:TRUE, keyCertSign) valid from an hour ago for a day.
  explicit test_ca(const std::string& name);
  ~test_ca();
  test_ca(const test_ca&) = delete;
  test_ca& operator=(const test_ca&) = delete;

  // The CA's certificate, PEM: what a client trusts.
  const std::string& certificate() const { return certificate_; }
  // A server certificate signed by this CA (serverAuth, CA:FALSE), with a serial of its own.
  pem_pair issue(const leaf_options& options = {});

 private:
  EVP_PKEY* key_ = nullptr;
  X509* cert_ = nullptr;
  std::string certificate_;
  long next_serial_ = 2;
};

// Writes text to path through a temporary file and a rename, so that a server reading path (on a
// SIGHUP) sees the old content or the new one, never a mix.
void replace_file(const std::filesystem::path& path, const std::string& text);
// The pair as cert_path and key_path (each replaced as replace_file does).
void write_pair(const pem_pair& pair, const std::filesystem::path& cert_path,
                const std::filesystem::path& key_path);

}  // namespace octomig::server_test
