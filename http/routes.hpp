// The route table of the REST surface, and what a handler receives. Each group of routes lives in
// its own file and adds itself to the table (api.cpp: core, tasks, maintenance).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/ascii.hpp"
#include "base/defaults.hpp"
#include "http/api.hpp"
#include "http/message.hpp"
#include "storage/store.hpp"

namespace octomig::http {

enum class access { anonymous, user, admin };

// Which forms of a route exist: /api/... (system), /api/{spaceId}/... (space), or both.
enum scope { system_only = 1, space_only = 2, both = 3 };

// What a handler gets: the request, the route's parameters, the space and the caller.
struct call {
  const request& req;
  std::map<std::string, std::string> params;
  std::string space_id;  // empty for the system-level form of a route
  storage::api_key_record caller;
  const std::string& param(const char* name) const { return params.at(name); }
  // Where links of this call point: "/api/Spaces-1" or "/api".
  std::string base() const { return space_id.empty() ? "/api" : "/api/" + space_id; }
  // The space the call is about: the route's, or the default space.
  std::string space_or_default() const { return space_id.empty() ? default_space_id : space_id; }
};

using handler_fn = std::function<void(const call&, respond_fn)>;
using body_planner_fn = std::function<body_plan(const call&)>;

struct route {
  std::string name;  // metrics label
  std::string method;
  std::vector<std::string> pattern;  // "{x}" matches one segment, case-insensitive otherwise
  access level;
  int scopes;
  handler_fn fn;
  // Set for a route whose body is streamed (request::sink) instead of read into memory: called
  // with the request's head once authentication, maintenance mode and role have passed, before
  // any of the body is read. It answers to_sink with the sink, or reject.
  body_planner_fn plan_body;
};

class route_table {
 public:
  // pattern is relative to /api (or /api/{spaceId}), e.g. "tasks/{id}/raw".
  void add(std::string name, std::string method, const std::string& pattern, access level,
           int scopes, handler_fn fn, body_planner_fn plan_body = {});
  const std::vector<route>& all() const { return routes_; }

 private:
  std::vector<route> routes_;
};

bool is_space_id(const std::string& s);
std::vector<std::string> segments(const std::string& path);
using ascii::iequals;

response not_found();

// The built-in package feed (feed_routes.cpp): push, list, get, download, delete.
void add_package_routes(route_table& routes, const api_config& cfg);

// An instance's resources, every collection of migration/'s schema table (resource_routes.cpp).
void add_resource_routes(route_table& routes, const api_config& cfg);

// The Migration API (migration_routes.cpp): partial export.
void add_migration_routes(route_table& routes, const api_config& cfg);

}  // namespace octomig::http
