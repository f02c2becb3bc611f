// multipart/form-data (RFC 7578, RFC 2046 §5.1.1) as every Octopus client writes it: any field
// name, quoted or unquoted parameters, filename* (RFC 5987), chunked or not (the server has
// already removed the transfer coding).
#include "http/multipart.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>

namespace octomig::http {
namespace {

constexpr std::size_t read_size = 1024 * 1024;
constexpr std::size_t part_header_limit = 16 * 1024;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

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

multipart_reader::multipart_reader(const std::string& boundary, byte_source source)
    : delimiter_("\r\n--" + boundary), source_(std::move(source)) {
  // A body may start with the first delimiter without the CRLF that precedes every other one.
  buf_ = "\r\n";
}

result<std::size_t> multipart_reader::fill(std::size_t want) {
  while (buf_.size() - pos_ < want && !eof_) {
    if (pos_ > 0 && pos_ >= buf_.size() / 2) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    auto old = buf_.size();
    buf_.resize(old + read_size);
    auto n = source_(buf_.data() + old, read_size);
    if (!n) {
      buf_.resize(old);
      return n.err();
    }
    buf_.resize(old + *n);
    if (*n == 0) eof_ = true;
  }
  return buf_.size() - pos_;
}

result<bool> multipart_reader::to_delimiter(const byte_sink* sink) {
  while (true) {
    std::string_view view(buf_);
    auto at = view.find(delimiter_, pos_);
    if (at != std::string_view::npos) {
      if (sink && at > pos_)
        if (auto s = (*sink)(buf_.data() + pos_, at - pos_); !s) return s.err();
      pos_ = at + delimiter_.size();
      return true;
    }
    // Everything but a possible start of the delimiter at the end is part data.
    std::size_t keep = delimiter_.size() - 1;
    std::size_t avail = buf_.size() - pos_;
    if (avail > keep) {
      if (sink)
        if (auto s = (*sink)(buf_.data() + pos_, avail - keep); !s) return s.err();
      pos_ += avail - keep;
    }
    if (eof_) return false;
    auto more = fill(buf_.size() - pos_ + 1);
    if (!more) return more.err();
  }
}

result<std::optional<file_part>> multipart_reader::next_file_part() {
  while (!done_) {
    auto found = to_delimiter(nullptr);
    if (!found) return found.err();
    if (!*found) return std::optional<file_part>();  // no (further) part: the body just ends
    auto avail = fill(2);
    if (!avail) return avail.err();
    if (*avail >= 2 && buf_.compare(pos_, 2, "--") == 0) {
      done_ = true;
      break;
    }
    // Transport padding, then the CRLF that ends the delimiter line.
    while (true) {
      if (auto a = fill(1); !a) return a.err();
      if (pos_ < buf_.size() && (buf_[pos_] == ' ' || buf_[pos_] == '\t'))
        ++pos_;
      else
        break;
    }
    if (auto a = fill(2); !a) return a.err();
    if (buf_.compare(pos_, 2, "\r\n") != 0)
      return malformed("a boundary line does not end with CRLF");
    // The header block ends at an empty line; "\r\n" is kept in front so that a part without
    // headers (CRLF CRLF right after the delimiter line) is found the same way.
    std::size_t header_start = pos_;
    std::size_t end = std::string::npos;
    while (true) {
      end = buf_.find("\r\n\r\n", header_start);
      if (end != std::string::npos) break;
      if (buf_.size() - header_start > part_header_limit)
        return malformed("a part's headers are too large");
      if (eof_) return malformed("the body ends inside a part's headers");
      auto a = fill(buf_.size() - pos_ + 1);
      if (!a) return a.err();
      header_start = pos_;
    }
    std::string headers = buf_.substr(pos_ + 2, end > pos_ + 2 ? end - pos_ - 2 : 0);
    pos_ = end + 4;
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
    if (has_file && !part.file_name.empty()) return std::optional<file_part>(std::move(part));
  }
  return std::optional<file_part>();
}

status multipart_reader::copy_part(const byte_sink& sink) {
  auto found = to_delimiter(&sink);
  if (!found) return found.err();
  if (!*found)
    return malformed("the body ends before the file part's closing boundary (a truncated upload?)");
  return ok_status();
}

}  // namespace octomig::http
