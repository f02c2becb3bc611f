// Lower-case hexadecimal text of bytes (digests, random ids).
#pragma once

#include <cstddef>
#include <string>

namespace octomig::base {

inline std::string to_hex(const unsigned char* p, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

}  // namespace octomig::base
