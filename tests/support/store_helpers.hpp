// Opening stores and appending in storage tests, failing the test with the store's own message.
// Header-only: only test executables that link octomig_storage include it.
#pragma once

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "storage/store.hpp"

namespace octomig::testing {

inline std::unique_ptr<storage::store> open_store(
    const std::filesystem::path& db, storage::open_mode mode = storage::open_mode::read_write) {
  storage::options o;
  o.db_dir = db;
  o.mode = mode;
  auto r = storage::store::open(o);
  INFO("opening " << db.string());
  if (!r) FAIL(r.err().message);
  return std::move(r.value());
}

inline storage::append_request request(std::string stream, std::uint64_t expected_version,
                                       std::vector<events::event_body> bodies,
                                       events::timestamp_us at = 1490043617000000) {
  return storage::append_request{std::move(stream), expected_version, std::move(bodies), at};
}

// Appends one request and requires it to succeed.
inline storage::appended append_ok(storage::store& st, const storage::append_request& r) {
  auto a = st.append(r);
  INFO("appending to " << r.stream << " at expected version " << r.expected_version);
  if (!a) FAIL(a.err().message);
  return *a;
}

// One item per line, for INFO messages.
inline std::string lines(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += "  " + i + "\n";
  return out;
}

}  // namespace octomig::testing
