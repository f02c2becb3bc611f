// Key encodings of the column families (big-endian numbers so that byte order is numeric order).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace octomig::storage::keys {

inline void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (i * 8)) & 0xff));
}
inline void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((v >> (i * 8)) & 0xff));
}
inline std::uint64_t get_u64(std::string_view in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8 && i < static_cast<int>(in.size()); ++i)
    v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}
inline std::uint32_t get_u32(std::string_view in) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4 && i < static_cast<int>(in.size()); ++i)
    v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

// events: global position
inline std::string event(std::uint64_t position) {
  std::string k;
  put_u64(k, position);
  return k;
}
// streams: stream \0 version
inline std::string stream(const std::string& stream, std::uint64_t version) {
  std::string k = stream;
  k.push_back('\0');
  put_u64(k, version);
  return k;
}
// task_logs: task id \0 line
inline std::string log_line(const std::string& task_id, std::uint32_t line) {
  std::string k = task_id;
  k.push_back('\0');
  put_u32(k, line);
  return k;
}
inline std::string prefix(const std::string& id) {
  return id + std::string(1, '\0');
}

// The smallest key greater than every key that starts with p.
inline std::string prefix_end(std::string p) {
  while (!p.empty()) {
    auto c = static_cast<unsigned char>(p.back());
    if (c != 0xff) {
      p.back() = static_cast<char>(c + 1);
      return p;
    }
    p.pop_back();
  }
  return p;
}

// A key or a stored id as text for a message: the separators shown as '/', any other byte that is
// not printable ASCII as \xNN (a damaged row may hold anything).
inline std::string printable(std::string_view k) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : k) {
    if (c == 0)
      out += '/';
    else if (c >= 0x20 && c < 0x7f)
      out += static_cast<char>(c);
    else
      out += std::string("\\x") + digits[c >> 4] + digits[c & 15];
  }
  return out;
}

// meta keys
inline constexpr const char* meta_checkpoint = "projection_checkpoint";
inline constexpr const char* meta_maintenance = "maintenance";
inline constexpr const char* meta_task_counter = "counter/ServerTasks";
inline constexpr const char* meta_user_counter = "counter/Users";  // one user per API key
inline constexpr const char* meta_schema = "schema_version";
inline constexpr const char* meta_installation = "installation_id";

}  // namespace octomig::storage::keys
