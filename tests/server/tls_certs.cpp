// The HTTPS tests' certificate authority (tls_certs.hpp), with libcrypto's X509 API.
#include "tests/server/tls_certs.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <functional>
#include <memory>

namespace octomig::server_test {

namespace fs = std::filesystem;

namespace {

EVP_PKEY* new_key(key_kind kind) {
  EVP_PKEY* key = kind == key_kind::ec_p256
                      ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")
                      : EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048));
  REQUIRE(key != nullptr);
  return key;
}

// One extension in OpenSSL's configuration syntax, e.g. "critical,CA:TRUE". issuer may be cert
// itself (self-signed).
void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  INFO("extension " << OBJ_nid2sn(nid) << " = " << value);
  REQUIRE(ext != nullptr);
  REQUIRE(X509_add_ext(cert, ext, -1) == 1);
  X509_EXTENSION_free(ext);
}

// A certificate for key, with CN=common_name and the validity given relative to now, whose issuer
// is issuer (nullptr: itself); extensions are added by the caller before sign().
X509* new_certificate(EVP_PKEY* key, const std::string& common_name, long serial,
                      std::chrono::seconds not_before, std::chrono::seconds not_after,
                      X509* issuer) {
  X509* cert = X509_new();
  REQUIRE(cert != nullptr);
  REQUIRE(X509_set_version(cert, X509_VERSION_3) == 1);
  REQUIRE(ASN1_INTEGER_set(X509_get_serialNumber(cert), serial) == 1);
  REQUIRE(X509_gmtime_adj(X509_getm_notBefore(cert), not_before.count()) != nullptr);
  REQUIRE(X509_gmtime_adj(X509_getm_notAfter(cert), not_after.count()) != nullptr);
  REQUIRE(X509_set_pubkey(cert, key) == 1);
  X509_NAME* name = X509_get_subject_name(cert);
  REQUIRE(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                     reinterpret_cast<const unsigned char*>("octomig tests"), -1,
                                     -1, 0) == 1);
  REQUIRE(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                     reinterpret_cast<const unsigned char*>(common_name.c_str()),
                                     -1, -1, 0) == 1);
  REQUIRE(X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name) == 1);
  return cert;
}

void sign(X509* cert, EVP_PKEY* issuer_key) {
  REQUIRE(X509_sign(cert, issuer_key, EVP_sha256()) > 0);
}

std::string pem_of(const std::function<int(BIO*)>& write) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  REQUIRE(bio);
  REQUIRE(write(bio.get()) == 1);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string certificate_pem(X509* cert) {
  return pem_of([cert](BIO* b) { return PEM_write_bio_X509(b, cert); });
}

std::string key_pem(EVP_PKEY* key) {
  return pem_of([key](BIO* b) {
    return PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
  });
}

}  // namespace

test_ca::test_ca(const std::string& name) {
  key_ = new_key(key_kind::ec_p256);
  cert_ = new_certificate(key_, name, 1, -std::chrono::hours(1), std::chrono::hours(24), nullptr);
  add_extension(cert_, cert_, NID_basic_constraints, "critical,CA:TRUE");
  add_extension(cert_, cert_, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(cert_, cert_, NID_subject_key_identifier, "hash");
  sign(cert_, key_);
  certificate_ = certificate_pem(cert_);
}

test_ca::~test_ca() {
  X509_free(cert_);
  EVP_PKEY_free(key_);
}

pem_pair test_ca::issue(const leaf_options& o) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(new_key(o.key), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      new_certificate(key.get(), o.common_name, next_serial_++, o.not_before, o.not_after, cert_),
      X509_free);
  std::string names;
  for (const auto& d : o.dns_names) names += (names.empty() ? "DNS:" : ",DNS:") + d;
  for (const auto& ip : o.ip_addresses) names += (names.empty() ? "IP:" : ",IP:") + ip;
  add_extension(cert.get(), cert_, NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), cert_, NID_key_usage, "critical,digitalSignature,keyEncipherment");
  add_extension(cert.get(), cert_, NID_ext_key_usage, "serverAuth");
  add_extension(cert.get(), cert_, NID_subject_key_identifier, "hash");
  add_extension(cert.get(), cert_, NID_authority_key_identifier, "keyid:always");
  if (!names.empty()) add_extension(cert.get(), cert_, NID_subject_alt_name, names);
  sign(cert.get(), key_);
  return {certificate_pem(cert.get()), key_pem(key.get())};
}

void replace_file(const fs::path& path, const std::string& text) {
  fs::path temporary = path;
  temporary += ".new";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    REQUIRE(out.good());
  }
  std::error_code ec;
  fs::rename(temporary, path, ec);
  INFO("renaming " << temporary << ": " << ec.message());
  REQUIRE_FALSE(ec);
}

void write_pair(const pem_pair& pair, const fs::path& cert_path, const fs::path& key_path) {
  replace_file(cert_path, pair.certificate);
  replace_file(key_path, pair.private_key);
}

}  // namespace octomig::server_test
