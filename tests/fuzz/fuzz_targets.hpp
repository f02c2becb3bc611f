// Fuzz targets for everything that parses untrusted bytes: HTTP requests, JSON bodies, multipart
// uploads, stored events, dates and migration packages. Each target must neither crash nor hang on
// any input; where it decodes something, re-encoding it must decode to the same thing. The same
// targets run under libFuzzer (OCTOMIG_FUZZ=ON with clang) and, for a bounded number of inputs, in
// the ordinary test suite.
#pragma once

#include <cstddef>
#include <cstdint>

namespace octomig::fuzz {

void http_request(const std::uint8_t* data, std::size_t size);
void json_body(const std::uint8_t* data, std::size_t size);
void event_codec(const std::uint8_t* data, std::size_t size);
void octopus_date(const std::uint8_t* data, std::size_t size);
void multipart_body(const std::uint8_t* data, std::size_t size);
// The bytes as a package file (one temporary file per process, rewritten for each input), read as
// an import would: open, entries, digests and, with the password "fuzz", unlock, documents and task
// logs.
void migration_package(const std::uint8_t* data, std::size_t size);
// The bytes as JSON describing a package's documents and a destination: {"Documents": [[collection,
// id, body], ...], "Tasks": [id, ...], "LeftOut": [[collection, id, name, flag], ...],
// "Existing": [[collection, id, name, owner id], ...], "Imported": {source id: destination id},
// "Overwrite": bool}; planned as an import would (migration::plan_import).
void import_plan(const std::uint8_t* data, std::size_t size);

}  // namespace octomig::fuzz
