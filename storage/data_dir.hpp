// The data directory: its layout, the master key, the installation id, and API key material.
#pragma once

#include <filesystem>
#include <string>

#include "events/error.hpp"
#include "storage/store.hpp"

namespace octomig::storage {

struct data_dir {
  std::filesystem::path root;
  std::filesystem::path db() const { return root / "db"; }
  std::filesystem::path feed() const { return root / "feed"; }
  std::filesystem::path work() const { return root / "work"; }
  std::filesystem::path master_key() const { return root / "master.key"; }
  std::filesystem::path admin_key_file() const { return root / "admin-api-key"; }
};

// Creates the directory tree (0700 root) if missing.
status ensure_layout(const data_dir& d);

// Reads master.key, or creates it (32 random bytes, mode 0600) on first start.
result<std::string> load_or_create_master_key(const data_dir& d);

// "API-" followed by 28 characters of [A-Z0-9] from libsodium's CSPRNG.
std::string generate_api_key();

// Keyed BLAKE2b of an API key under the master key, as lower-case hex. Only this is stored.
std::string hash_api_key(const std::string& api_key, const std::string& master_key);

// A random RFC 4122 version 4 UUID.
std::string new_uuid();

// Writes text to path with mode 0600, replacing it atomically.
status write_private_file(const std::filesystem::path& path, const std::string& text);

// What the first start leaves behind and later starts reuse.
struct bootstrap_result {
  std::string installation_id;
  bool created_admin_key = false;  // true when admin-api-key was written by this call
};

// Ensures the installation id exists and, when the store holds no API key at all, creates an admin
// key (an api_key_created event in the system stream) and writes it to admin-api-key (0600).
// REQUIRES: st is open read_write and no other writer runs (called before the actors start).
result<bootstrap_result> bootstrap(store& st, const data_dir& d, const std::string& master_key,
                                   events::timestamp_us now);

// Appends api_key_created for a new key and returns the key (the only time it exists in clear).
// REQUIRES: as for bootstrap.
result<std::string> create_api_key(store& st, const std::string& master_key,
                                   const std::string& name, const std::string& role,
                                   events::timestamp_us now);

}  // namespace octomig::storage
