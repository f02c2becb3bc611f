#include "http/routes.hpp"

#include <algorithm>

#include "http/json_util.hpp"

namespace octomig::http {

void route_table::add(std::string name, std::string method, const std::string& pattern,
                      access level, int scopes, handler_fn fn, body_planner_fn plan_body) {
  routes_.push_back(route{std::move(name), std::move(method), segments(pattern), level, scopes,
                          std::move(fn), std::move(plan_body)});
}

bool is_space_id(const std::string& s) {
  if (s.rfind("Spaces-", 0) != 0 || s.size() == 7) return false;
  return std::all_of(s.begin() + 7, s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::vector<std::string> segments(const std::string& path) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : path) {
    if (c == '/') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

response not_found() {
  return error_response(404, "The resource you requested was not found.");
}

}  // namespace octomig::http
