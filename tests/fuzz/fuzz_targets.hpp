// Fuzz targets for everything that parses untrusted bytes: HTTP requests, JSON bodies, multipart
// uploads, stored events and dates. Each target must neither crash nor hang on any input; where it
// decodes something, re-encoding it must decode to the same thing. The same targets run under
// libFuzzer (OCTOMIG_FUZZ=ON with clang) and, for a bounded number of inputs, in the ordinary test
// suite.
#pragma once

#include <cstddef>
#include <cstdint>

namespace octomig::fuzz {

void http_request(const std::uint8_t* data, std::size_t size);
void json_body(const std::uint8_t* data, std::size_t size);
void event_codec(const std::uint8_t* data, std::size_t size);
void octopus_date(const std::uint8_t* data, std::size_t size);
void multipart_body(const std::uint8_t* data, std::size_t size);

}  // namespace octomig::fuzz
