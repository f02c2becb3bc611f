// The URL helpers of outbound.hpp: pure string work, no libcurl, so that the export route can
// validate and the notifier can redact with the same rules the transfers use.
#include <string>
#include <string_view>

#include "base/ascii.hpp"
#include "outbound/outbound.hpp"

namespace octomig::outbound {
namespace {

// Where the authority starts: after "scheme://", or at 0 for text without one.
std::size_t authority_start(std::string_view url) {
  auto sep = url.find("://");
  return sep == std::string_view::npos ? 0 : sep + 3;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_hex(char c) {
  return is_digit(c) || (ascii::to_lower(c) >= 'a' && ascii::to_lower(c) <= 'f');
}

bool is_unreserved(char c) {
  return ascii::is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

// host [":" port], where host is a registered name, an IPv4 address or "[IPv6]".
bool valid_host_port(std::string_view hp) {
  std::string_view host = hp, port;
  if (!hp.empty() && hp.front() == '[') {
    auto close = hp.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : hp.substr(1, close - 1))
      if (!is_hex(c) && c != ':' && c != '.') return false;
    host = hp.substr(0, close + 1);
    std::string_view rest = hp.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port = rest.substr(1);
      if (port.empty()) return false;
    }
  } else {
    auto colon = hp.find(':');
    if (colon != std::string_view::npos) {
      host = hp.substr(0, colon);
      port = hp.substr(colon + 1);
      if (port.empty()) return false;
    }
    if (host.empty()) return false;
    bool has_alnum = false;
    for (char c : host) {
      if (!is_unreserved(c)) return false;
      has_alnum = has_alnum || ascii::is_alnum(c);
    }
    if (!has_alnum) return false;
  }
  if (!port.empty()) {
    if (port.size() > 5) return false;
    unsigned value = 0;
    for (char c : port) {
      if (!is_digit(c)) return false;
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) return false;
  }
  return true;
}

void percent_encode(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  for (char c : s) {
    if (is_unreserved(c)) {
      out += c;
    } else {
      auto b = static_cast<unsigned char>(c);
      out += '%';
      out += hex[b >> 4];
      out += hex[b & 0xF];
    }
  }
}

// base without trailing slashes and without a final "/api" segment: the root the API paths hang
// from, with any path prefix kept.
std::string api_root(std::string_view base) {
  auto trim_slashes = [](std::string_view s) {
    while (!s.empty() && s.back() == '/') s.remove_suffix(1);
    return s;
  };
  std::string_view root = trim_slashes(base);
  // Only a whole "/api" path segment counts ("https://api" is a host).
  std::size_t path_begin = root.find('/', authority_start(root));
  if (path_begin != std::string_view::npos && ascii::iends_with(root, "/api") &&
      root.size() - 4 >= path_begin) {
    root = trim_slashes(root.substr(0, root.size() - 4));
  }
  return std::string(root);
}

std::string space_path(std::string_view base, std::string_view space_id) {
  std::string out = api_root(base) + "/api/";
  if (!space_id.empty()) {
    percent_encode(out, space_id);
    out += '/';
  }
  return out;
}

}  // namespace

bool is_http_url(std::string_view s) {
  for (char c : s) {
    auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b >= 0x7f) return false;
  }
  std::size_t start;
  if (ascii::istarts_with(s, "http://")) {
    start = 7;
  } else if (ascii::istarts_with(s, "https://")) {
    start = 8;
  } else {
    return false;
  }
  std::string_view authority = s.substr(start, s.find_first_of("/?#", start) - start);
  if (auto at = authority.rfind('@'); at != std::string_view::npos)
    authority = authority.substr(at + 1);
  return valid_host_port(authority);
}

std::string append_query(std::string_view uri,
                         const std::vector<std::pair<std::string, std::string>>& params) {
  if (params.empty()) return std::string(uri);
  auto hash = uri.find('#');
  std::string_view fragment =
      hash == std::string_view::npos ? std::string_view() : uri.substr(hash);
  std::string out(uri.substr(0, hash));
  if (out.find('?') == std::string::npos) {
    out += '?';
  } else if (out.back() != '?' && out.back() != '&') {
    out += '&';
  }
  bool first = true;
  for (const auto& [name, value] : params) {
    if (!first) out += '&';
    first = false;
    percent_encode(out, name);
    out += '=';
    percent_encode(out, value);
  }
  out += fragment;
  return out;
}

std::string feed_upload_url(std::string_view base, std::string_view space_id) {
  return space_path(base, space_id) + "packages/raw?overwriteMode=FailIfExists";
}

std::string feed_package_url(std::string_view base, std::string_view space_id,
                             std::string_view package_id, std::string_view version) {
  std::string out = space_path(base, space_id) + "packages/packages-";
  percent_encode(out, package_id);
  out += '.';
  percent_encode(out, version);
  return out;
}

}  // namespace octomig::outbound
