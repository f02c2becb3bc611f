// ASCII case folding: the one place where text is lowered or compared without regard to case.
// Octopus compares names, ids, query parameters and HTTP tokens case-insensitively in ASCII only;
// locale-dependent std::tolower is never used, so the result cannot depend on the process locale.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

namespace octomig::ascii {

constexpr char to_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
constexpr char to_upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

constexpr bool is_alnum(char c) {
  return (c >= '0' && c <= '9') || (to_lower(c) >= 'a' && to_lower(c) <= 'z');
}

inline std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = to_lower(c);
  return out;
}

inline std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = to_upper(c);
  return out;
}

inline bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return to_lower(x) == to_lower(y);
         });
}

// Whether needle occurs in hay, ignoring case; an empty needle occurs everywhere.
inline bool icontains(std::string_view hay, std::string_view needle) {
  return needle.empty() ||
         std::search(hay.begin(), hay.end(), needle.begin(), needle.end(),
                     [](char x, char y) { return to_lower(x) == to_lower(y); }) != hay.end();
}

inline bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

inline bool iends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

}  // namespace octomig::ascii
