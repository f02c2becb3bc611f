// URLs as logs, events and error messages may show them.
#pragma once

#include <string>
#include <string_view>

namespace octomig::base {

// The URL without userinfo ("https://user:token@host/"), query and fragment (a webhook's query may
// carry a token). Safe on any text: a string that is no URL loses what follows '?' or '#' and an
// '@' prefix.
inline std::string redact_url(std::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  const auto scheme = url.find("://");
  const std::size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  const std::size_t at = url.substr(0, url.find('/', start)).rfind('@');
  if (at == std::string_view::npos || at < start) return std::string(url);
  std::string out(url.substr(0, start));
  out += url.substr(at + 1);
  return out;
}

}  // namespace octomig::base
