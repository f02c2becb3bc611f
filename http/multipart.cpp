// multipart/form-data (RFC 7578, RFC 2046 §5.1.1) as every Octopus client writes it: any field
// name, quoted or unquoted parameters, filename* (RFC 5987), chunked or not (the server has
// already removed the transfer coding).
#include "http/multipart.hpp"

#include "base/ascii.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string_view>

namespace octomig::http {
namespace {

constexpr std::size_t part_header_limit = 16 * 1024;

using ascii::lower;

std::string trim(const std::string& s) {
  auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return {};
  auto last = s.find_last_not_of(" \t");
  return s.substr(first, last - first + 1);
}

error malformed(const std::string& why) {
  return make_error(errc::invalid_argument,
                    "The multipart/form-data body is not valid: " + why + ".");
}

// Splits `a; b=c; d="e;f"` into parameters after the first token. Quoted values keep a backslash
// unless it escapes a quote or a backslash: browsers send Windows paths unescaped.
std::vector<std::pair<std::string, std::string>> parameters(const std::string& v, std::size_t pos) {
  std::vector<std::pair<std::string, std::string>> out;
  while (pos < v.size()) {
    while (pos < v.size() && (v[pos] == ';' || v[pos] == ' ' || v[pos] == '\t')) ++pos;
    auto name_end = v.find_first_of("=;", pos);
    std::string name = lower(
        trim(v.substr(pos, name_end == std::string::npos ? std::string::npos : name_end - pos)));
    if (name_end == std::string::npos || v[name_end] == ';') {
      if (!name.empty()) out.emplace_back(name, "");
      pos = name_end == std::string::npos ? v.size() : name_end + 1;
      continue;
    }
    pos = name_end + 1;
    while (pos < v.size() && (v[pos] == ' ' || v[pos] == '\t')) ++pos;
    std::string value;
    if (pos < v.size() && v[pos] == '"') {
      ++pos;
      while (pos < v.size() && v[pos] != '"') {
        if (v[pos] == '\\' && pos + 1 < v.size() && (v[pos + 1] == '"' || v[pos + 1] == '\\'))
          ++pos;
        value += v[pos++];
      }
      ++pos;  // the closing quote
      auto next = v.find(';', pos);
      pos = next == std::string::npos ? v.size() : next + 1;
    } else {
      auto end = v.find(';', pos);
      value = trim(v.substr(pos, end == std::string::npos ? std::string::npos : end - pos));
      pos = end == std::string::npos ? v.size() : end + 1;
    }
    if (!name.empty()) out.emplace_back(name, value);
  }
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 5987 ext-value: charset'language'percent-encoded. nullopt when it is not one.
std::optional<std::string> decode_ext_value(const std::string& v) {
  auto q1 = v.find('\'');
  if (q1 == std::string::npos) return std::nullopt;
  auto q2 = v.find('\'', q1 + 1);
  if (q2 == std::string::npos) return std::nullopt;
  auto charset = lower(v.substr(0, q1));
  std::string bytes;
  for (std::size_t i = q2 + 1; i < v.size(); ++i) {
    if (v[i] == '%' && i + 2 < v.size() && hex_digit(v[i + 1]) >= 0 && hex_digit(v[i + 2]) >= 0) {
      bytes += static_cast<char>(hex_digit(v[i + 1]) * 16 + hex_digit(v[i + 2]));
      i += 2;
    } else {
      bytes += v[i];
    }
  }
  if (charset != "iso-8859-1") return bytes;  // UTF-8, the only other charset RFC 5987 requires
  std::string utf8;
  for (unsigned char c : bytes) {
    if (c < 0x80) {
      utf8 += static_cast<char>(c);
    } else {
      utf8 += static_cast<char>(0xc0 | (c >> 6));
      utf8 += static_cast<char>(0x80 | (c & 0x3f));
    }
  }
  return utf8;
}

std::string base_name(const std::string& path) {
  auto slash = path.find_last_of("/\\");
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::optional<std::string> multipart_boundary(const std::string& content_type) {
  auto semi = content_type.find(';');
  if (lower(trim(content_type.substr(0, semi))) != "multipart/form-data" ||
      semi == std::string::npos)
    return std::nullopt;
  for (const auto& [name, value] : parameters(content_type, semi + 1))
    if (name == "boundary" && !value.empty() && value.size() <= 200) return value;
  return std::nullopt;
}

bool parse_content_disposition(const std::string& value, std::string& name, std::string& file_name,
                               bool& has_file_name) {
  auto semi = value.find(';');
  if (semi == std::string::npos) return false;
  std::optional<std::string> plain, extended;
  for (const auto& [k, v] : parameters(value, semi + 1)) {
    if (k == "name") name = v;
    if (k == "filename") plain = v;
    if (k == "filename*") extended = decode_ext_value(v);
  }
  auto chosen = extended ? extended : plain;
  has_file_name = chosen.has_value();
  file_name = chosen ? base_name(*chosen) : std::string();
  return true;
}

multipart_parser::multipart_parser(const std::string& boundary, part_fn on_part, data_fn on_data)
    : delimiter_("\r\n--" + boundary), on_part_(std::move(on_part)), on_data_(std::move(on_data)) {
  // A body may start with the first delimiter without the CRLF that precedes every other one.
  carry_ = "\r\n";
}

error multipart_parser::fail(error e) {
  error_ = e;
  return e;
}

status multipart_parser::emit(const char* data, std::size_t n) {
  if (state_ != state::file || n == 0) return ok_status();
  return on_data_(data, n);
}

status multipart_parser::feed(const char* data, std::size_t n) {
  if (error_) return *error_;
  while (n > 0) {
    result<std::size_t> used = n;
    switch (state_) {
      case state::skip:
      case state::file:
        used = scan_data(data, n);
        break;
      case state::delimiter_line:
        used = scan_delimiter_line(data, n);
        break;
      case state::headers:
        used = scan_headers(data, n);
        break;
      case state::done:
        break;  // the epilogue, or whatever follows the file part: ignored
    }
    if (!used) return fail(used.err());
    data += *used;
    n -= *used;
  }
  return ok_status();
}

result<std::size_t> multipart_parser::scan_data(const char* in, std::size_t n) {
  const std::size_t len = delimiter_.size();
  auto found = [&](std::size_t used) -> result<std::size_t> {
    carry_.clear();
    state_ = state_ == state::file ? state::done : state::delimiter_line;
    file_complete_ = state_ == state::done;
    return used;
  };
  if (!carry_.empty()) {
    // The end of the previous piece might start a delimiter: look across the seam.
    std::size_t before = carry_.size();
    std::size_t take = std::min(n, len - 1);
    carry_.append(in, take);
    auto at = carry_.find(delimiter_);
    if (at != std::string::npos) {  // it starts in the carried bytes (it is longer than take)
      if (auto s = emit(carry_.data(), at); !s) return s.err();
      return found(at + len - before);
    }
    if (take == len - 1) {
      // No delimiter starts in the carried bytes; the taken ones are scanned again from `in`.
      if (auto s = emit(carry_.data(), before); !s) return s.err();
      carry_.clear();
      return std::size_t{0};
    }
    // `in` was shorter than a delimiter and is all in carry_ now.
    if (carry_.size() >= len) {
      std::size_t out = carry_.size() - (len - 1);
      if (auto s = emit(carry_.data(), out); !s) return s.err();
      carry_.erase(0, out);
    }
    return n;
  }
  auto* at = static_cast<const char*>(::memmem(in, n, delimiter_.data(), len));
  if (at) {
    auto before = static_cast<std::size_t>(at - in);
    if (auto s = emit(in, before); !s) return s.err();
    return found(before + len);
  }
  std::size_t keep = std::min(n, len - 1);
  if (auto s = emit(in, n - keep); !s) return s.err();
  carry_.assign(in + n - keep, keep);
  return n;
}

result<std::size_t> multipart_parser::scan_delimiter_line(const char* in, std::size_t n) {
  std::size_t used = 0;
  while (used < n) {
    carry_ += in[used++];
    if (carry_ == "--") {  // the close delimiter: no part follows
      carry_.clear();
      state_ = state::done;
      return used;
    }
    auto size = carry_.size();
    if (size >= 2 && carry_[size - 2] == '\r' && carry_[size - 1] == '\n') {
      // Transport padding (spaces and tabs) may come before the CRLF.
      if (carry_.find_first_not_of(" \t") != size - 2)
        return malformed("a boundary line does not end with CRLF");
      // "\r\n" is kept in front so that a part without headers (an empty line right after the
      // delimiter line) ends its header block the same way as one with headers.
      carry_ = "\r\n";
      state_ = state::headers;
      return used;
    }
    if (size > 1024) return malformed("a boundary line does not end with CRLF");
  }
  return used;
}

result<std::size_t> multipart_parser::scan_headers(const char* in, std::size_t n) {
  const std::size_t limit = part_header_limit + 4;
  std::size_t before = carry_.size();
  std::size_t take = std::min(n, limit - std::min(before, limit));
  carry_.append(in, take);
  auto end = carry_.find("\r\n\r\n", before >= 3 ? before - 3 : 0);
  if (end == std::string::npos) {
    if (carry_.size() >= limit) return malformed("a part's headers are too large");
    return take;
  }
  std::size_t used = end + 4 - before;
  std::string headers = carry_.substr(2, end > 2 ? end - 2 : 0);
  carry_.clear();
  file_part part;
  bool has_file = false;
  std::size_t line_start = 0;
  while (line_start <= headers.size()) {
    auto line_end = headers.find("\r\n", line_start);
    auto line = headers.substr(
        line_start, line_end == std::string::npos ? std::string::npos : line_end - line_start);
    auto colon = line.find(':');
    if (colon != std::string::npos && lower(trim(line.substr(0, colon))) == "content-disposition")
      parse_content_disposition(trim(line.substr(colon + 1)), part.field_name, part.file_name,
                                has_file);
    if (line_end == std::string::npos) break;
    line_start = line_end + 2;
  }
  // An empty file name is what a form sends when no file was chosen.
  if (has_file && !part.file_name.empty()) {
    if (auto s = on_part_(part); !s) return s.err();
    state_ = state::file;
  } else {
    state_ = state::skip;
  }
  return used;
}

result<bool> multipart_parser::finish() {
  if (error_) return *error_;
  switch (state_) {
    case state::file:
      return fail(
          malformed("the body ends before the file part's closing boundary (a truncated upload?)"));
    case state::headers:
      return fail(malformed("the body ends inside a part's headers"));
    default:
      return file_complete_;
  }
}

}  // namespace octomig::http
