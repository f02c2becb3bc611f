#include "http/api.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdio>
#include <map>
#include <optional>
#include <random>

#include "events/json.hpp"
#include "events/time_format.hpp"
#include "http/json_util.hpp"
#include "http/routes.hpp"
#include "migration/schema.hpp"
#include "runtime/clock.hpp"
#include "runtime/log.hpp"
#include "storage/data_dir.hpp"

namespace octomig::http {
namespace {

const std::string default_space = default_space_id;

const char* task_template_query =
    "{?skip,active,environment,tenant,runbook,project,name,node,running,states,"
    "hasPendingInterruptions,hasWarningsOrErrors,take,ids,partialName,spaces,includeSystem,"
    "description,fromCompletedDate,toCompletedDate,fromQueueDate,toQueueDate,fromStartDate,"
    "toStartDate}";

}  // namespace

struct api::impl {
  api_config cfg;
  metrics counters;
  route_table routes;
  // Request ids: this process's random prefix and a counter, e.g. "5f0c2a91-1b".
  std::string id_prefix = [] {
    std::random_device rd;
    char buf[9];
    std::snprintf(buf, sizeof buf, "%08x", rd());
    return std::string(buf);
  }();
  std::atomic<std::uint64_t> next_id{0};

  std::string request_id() {
    char buf[24];
    auto n = ++next_id;
    auto end = std::to_chars(buf, buf + sizeof buf, n, 16).ptr;
    std::string id;
    id.reserve(id_prefix.size() + 1 + static_cast<std::size_t>(end - buf));
    id += id_prefix;
    id += '-';
    id.append(buf, end);
    return id;
  }

  // Every error answer the api makes gets an id (header X-Request-Id, and the body's
  // Details.RequestId), and every 5xx is logged with its cause under that id, so that a user's
  // error report leads to its log line. (A success needs none, and the GET path stays lean; the
  // server's own refusals of malformed HTTP, 400/413/431, happen before there is a request.) The
  // log line names the method and the path only: the query may hold an API key.
  void annotate(response& r, const std::string& method, const std::string& path) {
    if (r.status < 400) return;
    auto id = request_id();
    r.headers.emplace_back("X-Request-Id", id);
    if (r.content_type.rfind("application/json", 0) != 0) return;
    json::error_code ec;
    auto v = json::parse(r.body, ec);
    if (ec || !v.is_object() || !v.as_object().contains("ErrorMessage")) return;
    auto& o = v.as_object();
    auto* details = o.if_contains("Details");
    if (!details || !details->is_object()) details = &(o["Details"] = json::object{});
    details->as_object()["RequestId"] = id;
    r.body = json::serialize(v);
    if (r.status < 500) return;
    std::string cause(o["ErrorMessage"].is_string() ? o["ErrorMessage"].get_string() : "");
    if (auto* errors = o.if_contains("Errors"); errors && errors->is_array())
      for (const auto& e : errors->get_array())
        if (e.is_string()) cause += std::string(" ") + std::string(e.get_string());
    // The path as the client sent it decoded: control characters re-encoded, so that no request
    // can write a line of its own into the log.
    std::string shown;
    for (unsigned char c : path) {
      if (c >= 0x20 && c != 0x7f) {
        shown += static_cast<char>(c);
        continue;
      }
      char esc[4];
      std::snprintf(esc, sizeof esc, "%%%02X", c);
      shown += esc;
    }
    for (auto& c : cause)
      if (c == '\n' || c == '\r') c = ' ';
    std::string line = "request " + id + " " + method + " " + shown + " answered " +
                       std::to_string(r.status) + ": " + cause;
    // 503 is the server declining (maintenance, a full queue), not failing.
    if (r.status == 503)
      log::warn(line);
    else
      log::error(line);
  }

  // ---- resources ----

  json::object task_links(const std::string& id) const {
    std::string self = "/api/tasks/" + id;
    return json::object{{"Self", self},
                        {"Web", "/app#/tasks/" + id},
                        {"Raw", self + "/raw"},
                        {"Details", self + "/details{?verbose,tail}"},
                        {"Cancel", self + "/cancel"}};
  }

  json::object task_resource(const events::task_state& t) const {
    auto o = events::to_json(t, runtime::now_us());
    o["Links"] = task_links(t.id);
    return o;
  }

  json::object space_resource() const {
    return json::object{{"Id", default_space},
                        {"Name", "Default"},
                        {"Slug", "default"},
                        {"Description", nullptr},
                        {"IsDefault", true},
                        {"IsPrivate", false},
                        {"TaskQueueStopped", false},
                        {"SpaceManagersTeams", json::array{"teams-administrators"}},
                        {"SpaceManagersTeamMembers", json::array{}},
                        {"Icon", nullptr},
                        {"ExtensionSettings", json::array{}},
                        {"LastModifiedOn", "0001-01-01T00:00:00.000+00:00"},
                        {"Links", json::object{{"Self", "/api/spaces/" + default_space},
                                               {"SpaceHome", "/api/" + default_space},
                                               {"Web", "/app#/spaces/" + default_space}}}};
  }

  // The user an API key acts as: each key is its own service account, numbered as it was made.
  json::object user_resource(const storage::api_key_record& key) const {
    std::string self = "/api/users/" + key.user_id;
    return json::object{{"Id", key.user_id},
                        {"Username", key.name},
                        {"DisplayName", key.name},
                        {"IsActive", true},
                        {"IsService", true},
                        {"EmailAddress", nullptr},
                        {"CanPasswordBeEdited", false},
                        {"IsRequestor", true},
                        {"Identities", json::array{}},
                        {"Links", json::object{{"Self", self}, {"Spaces", self + "/spaces"}}}};
  }

  // The users the caller may see: every key's user for an admin key, its own for a user key.
  result<std::vector<storage::api_key_record>> visible_users(const call& c) const {
    if (c.caller.role != "admin") return std::vector<storage::api_key_record>{c.caller};
    auto keys = cfg.store->api_keys();
    if (!keys) return keys.err();
    // Users-2 before Users-10: same prefix, so the shorter id has the smaller number.
    std::sort(keys->begin(), keys->end(), [](const auto& a, const auto& b) {
      return std::make_pair(a.user_id.size(), a.user_id) <
             std::make_pair(b.user_id.size(), b.user_id);
    });
    return keys;
  }

  result<std::optional<storage::api_key_record>> visible_user(const call& c,
                                                              const std::string& id) const {
    auto users = visible_users(c);
    if (!users) return users.err();
    for (auto& u : *users)
      if (u.user_id == id) return std::optional<storage::api_key_record>(std::move(u));
    return std::optional<storage::api_key_record>();
  }

  json::object maintenance_resource(const storage::maintenance_state& m) const {
    return json::object{{"Id", "maintenance"},
                        {"IsInMaintenanceMode", m.on()},
                        {"Links", json::object{{"Self", "/api/maintenanceconfiguration"}}}};
  }

  json::object space_links(const std::string& base) const {
    auto links = json::object{
        {"Self", base},
        {"Tasks", base + "/tasks{/id}" + task_template_query},
        {"Packages", base + "/packages{/id}{?nuGetPackageId,filter,latest,skip,take,includeNotes}"},
        {"PackageUpload", base + "/packages/raw{?replace,overwriteMode}"}};
    add_resource_links(links, base);
    return links;
  }

  // Every REST collection of the schema table, e.g. "Projects": "/api/Spaces-1/projects{/id}{?..}".
  static void add_resource_links(json::object& links, const std::string& base) {
    for (const auto& c : migration::collections())
      if (c.rest)
        links[c.link_name.empty() ? c.name : c.link_name] = migration::link_template(c, base);
  }

  // ---- handlers ----

  void root(const call&, respond_fn respond) const {
    json::object links{
        {"Self", "/api"},
        {"CurrentUser", "/api/users/me"},
        {"SpaceHome", "/api/{spaceId}"},
        {"Spaces", "/api/spaces{/id}{?skip,ids,take,partialName}"},
        {"Tasks", std::string("/api/tasks{/id}") + task_template_query},
        {"MaintenanceConfiguration", "/api/maintenanceconfiguration"},
        {"ServerStatus", "/api/serverstatus"},
        {"Users", "/api/users{/id}{?skip,take,ids,filter}"},
        {"Packages", "/api/" + default_space +
                         "/packages{/id}{?nuGetPackageId,filter,latest,skip,take,includeNotes}"},
        // Octopus.Client sends overwriteMode only when this link names it.
        {"PackageUpload", "/api/" + default_space + "/packages/raw{?replace,overwriteMode}"},
        // Octopus.Client finds the migration routes through these links (contract §1.1).
        {"MigrationsPartialExport", "/api/migrations/partialexport"},
        {"MigrationsImport", "/api/migrations/import"},
    };
    // Space-scoped collections point at the default space, as on a real server (contract §3.1).
    add_resource_links(links, "/api/" + default_space);
    respond(json_response(json::object{{"Application", "octomig"},
                                       {"Version", cfg.version},
                                       {"ApiVersion", "3.0.0"},
                                       {"InstallationId", cfg.installation_id},
                                       {"IsEarlyAccessProgram", false},
                                       {"HasLongTermSupport", false},
                                       {"Links", std::move(links)}}));
  }

  void space_root(const call& c, respond_fn respond) const {
    if (c.space_id != default_space) return respond(not_found());
    auto o =
        json::object{{"Id", default_space}, {"Name", "Default"}, {"Links", space_links(c.base())}};
    respond(json_response(o));
  }

  void spaces(const call& c, respond_fn respond) const {
    auto p = parse_paging(c.req);
    if (!p) return respond(error_response(p.err()));
    bool match = true;
    if (auto* ids = c.req.param("ids"); ids && !ids->empty()) {
      auto list = split_list(*ids);
      match = std::find(list.begin(), list.end(), default_space) != list.end();
    }
    if (auto* n = c.req.param("partialname"); n && !n->empty())
      match = match && ascii::icontains("Default", *n);
    if (auto* n = c.req.param("name"); n && !n->empty()) match = match && iequals("Default", *n);
    json::array items;
    std::size_t total = match ? 1 : 0;
    if (match && p->skip == 0 && p->take > 0) items.push_back(space_resource());
    respond(json_response(collection("Space", std::move(items), total, *p, "/api/spaces",
                                     "/api/spaces{?skip,ids,take,partialName}")));
  }

  void space_by_id(const call& c, respond_fn respond) const {
    if (c.param("id") != default_space) return respond(not_found());
    respond(json_response(space_resource()));
  }

  void tasks_list(const call& c, respond_fn respond) const {
    auto p = parse_paging(c.req);
    if (!p) return respond(error_response(p.err()));
    storage::task_filter f;
    if (auto* ids = c.req.param("ids")) f.ids = split_list(*ids);
    if (auto* states = c.req.param("states")) {
      for (const auto& s : split_list(*states)) {
        events::task_status st;
        if (!events::parse_task_status(s, st))
          return respond(error_response(400, "There was a problem with your request.",
                                        {"Unknown task state '" + s + "'."}));
        f.states.push_back(st);
      }
    }
    f.space_id = c.space_id;
    auto all = cfg.store->tasks(f);
    if (!all) return respond(error_response(all.err()));
    auto name = c.req.param("name");
    auto partial = c.req.param("partialname");
    auto active = c.req.param("active") ? parse_bool(*c.req.param("active")) : std::nullopt;
    auto running = c.req.param("running") ? parse_bool(*c.req.param("running")) : std::nullopt;
    std::vector<const events::task_state*> kept;
    json::object totals;
    for (auto s :
         {events::task_status::queued, events::task_status::executing, events::task_status::failed,
          events::task_status::canceled, events::task_status::timed_out,
          events::task_status::success, events::task_status::cancelling})
      totals[events::to_string(s)] = 0;
    for (const auto& t : *all) {
      if (name && !name->empty() && !iequals(t.name, *name)) continue;
      if (partial && !partial->empty()) {
        if (!ascii::icontains(t.description + " " + t.name, *partial)) continue;
      }
      if (active && *active && events::is_completed(t.state)) continue;
      if (running && *running && t.state != events::task_status::executing) continue;
      totals[events::to_string(t.state)] = totals[events::to_string(t.state)].as_int64() + 1;
      kept.push_back(&t);
    }
    json::array items;
    for (std::size_t i = p->skip; i < kept.size() && items.size() < p->take; ++i)
      items.push_back(task_resource(*kept[i]));
    auto o = collection("Task", std::move(items), kept.size(), *p, c.base() + "/tasks",
                        c.base() + "/tasks{/id}" + task_template_query);
    o["TotalCounts"] = std::move(totals);
    respond(json_response(o));
  }

  // Loads the task named by the route, or responds 404.
  std::optional<events::task_state> load_task(const call& c, const respond_fn& respond) const {
    auto t = cfg.store->task(c.param("id"));
    if (!t) {
      respond(t.err().code == errc::not_found ? not_found() : error_response(t.err()));
      return std::nullopt;
    }
    return std::move(t.value());
  }

  void task_get(const call& c, respond_fn respond) const {
    if (auto t = load_task(c, respond)) respond(json_response(task_resource(*t)));
  }

  void task_raw(const call& c, respond_fn respond) const {
    auto t = load_task(c, respond);
    if (!t) return;
    auto lines = cfg.store->task_log(t->id);
    if (!lines) return respond(error_response(lines.err()));
    response r;
    r.content_type = "text/plain; charset=utf-8";
    for (const auto& l : *lines) {
      auto date = events::octopus_date(l.occurred_at);
      std::string cat = l.category;
      cat.resize(std::max<std::size_t>(cat.size(), 9), ' ');
      r.body += date.substr(0, 10) + " " + date.substr(11, 12) + "  " + cat + "  " + l.text + "\n";
    }
    respond(std::move(r));
  }

  void task_details(const call& c, respond_fn respond) const {
    auto t = load_task(c, respond);
    if (!t) return;
    auto lines = cfg.store->task_log(t->id);
    if (!lines) return respond(error_response(lines.err()));
    std::size_t first = 0;
    if (auto* tail = c.req.param("tail"); tail && !tail->empty()) {
      std::size_t n = 0;
      for (char ch : *tail) {
        if (ch < '0' || ch > '9')
          return respond(error_response(400, "There was a problem with your request.",
                                        {"The value of 'tail' must be a non-negative integer."}));
        n = n * 10 + static_cast<std::size_t>(ch - '0');
        if (n > lines->size()) break;
      }
      if (n < lines->size()) first = lines->size() - n;
    }
    json::array elements;
    std::size_t log_size = 0;
    for (std::size_t i = first; i < lines->size(); ++i) {
      const auto& l = (*lines)[i];
      log_size += l.text.size() + 1;
      elements.push_back(json::object{{"Category", l.category},
                                      {"OccurredAt", events::octopus_date(l.occurred_at)},
                                      {"MessageText", l.text},
                                      {"Detail", nullptr}});
    }
    const char* status = "Pending";
    switch (t->state) {
      case events::task_status::executing:
      case events::task_status::cancelling:
        status = "Running";
        break;
      case events::task_status::success:
        status = t->has_warnings_or_errors ? "SuccessWithWarning" : "Success";
        break;
      case events::task_status::failed:
      case events::task_status::timed_out:
        status = "Failed";
        break;
      case events::task_status::canceled:
        status = "Canceled";
        break;
      default:
        break;
    }
    bool done = events::is_completed(t->state);
    json::object activity{
        {"Id", t->id},
        {"Name", "Task"},
        {"Started",
         t->start_time ? json::value(events::octopus_date(t->start_time)) : json::value(nullptr)},
        {"Ended", t->completed_time ? json::value(events::octopus_date(t->completed_time))
                                    : json::value(nullptr)},
        {"Status", status},
        {"ShowAtSummaryLevel", true},
        {"ProgressPercentage", done ? 100 : 0},
        {"ProgressMessage", t->current_step},
        {"LogElements", std::move(elements)},
        {"Children", json::array{}}};
    json::object o{{"Task", task_resource(*t)},
                   {"Progress", json::object{{"ProgressPercentage", done ? 100 : 0},
                                             {"EstimatedTimeRemaining", ""}}},
                   {"PhysicalLogSize", log_size},
                   {"ActivityLogs", json::array{std::move(activity)}},
                   {"Links", json::object{}}};
    respond(json_response(o));
  }

  void task_cancel(const call& c, respond_fn respond) const {
    auto t = load_task(c, respond);
    if (!t) return;
    if (events::is_completed(t->state)) return respond(json_response(task_resource(*t)));
    auto self = this;
    cfg.commands->cancel_task(t->id, c.caller.name,
                              [self, respond, id = t->id](result<events::task_state> r) {
                                if (r) return respond(json_response(self->task_resource(*r)));
                                // The task may have completed between the read above and the
                                // command: answer as for a task that was already complete.
                                if (r.err().code == errc::illegal_transition)
                                  if (auto now_state = self->cfg.store->task(id);
                                      now_state && events::is_completed(now_state->state))
                                    return respond(json_response(self->task_resource(*now_state)));
                                respond(error_response(r.err()));
                              });
  }

  void maintenance_get(const call&, respond_fn respond) const {
    auto m = cfg.store->maintenance();
    if (!m) return respond(error_response(m.err()));
    respond(json_response(maintenance_resource(*m)));
  }

  void maintenance_put(const call& c, respond_fn respond, bool wrapped) const {
    if (c.req.body.find_first_not_of(" \t\r\n") == std::string::npos)
      return respond(error_response(400, "No request body was supplied."));
    auto v = parse_lenient(c.req.body);
    if (!v) return respond(error_response(v.err()));
    if (!v->is_object())
      return respond(error_response(400, "There was a problem with your request.",
                                    {"The request body must be a JSON object."}));
    auto on = get_bool(v->get_object(), "IsInMaintenanceMode");
    if (!on) return respond(error_response(on.err()));
    if (!on->has_value())
      return respond(error_response(400, "There was a problem with your request.",
                                    {"Missing expected 'IsInMaintenanceMode' parameter."}));
    auto self = this;
    cfg.commands->set_maintenance(
        **on, [self, respond, wrapped](result<storage::maintenance_state> m) {
          if (!m) return respond(error_response(m.err()));
          auto res = self->maintenance_resource(*m);
          respond(json_response(wrapped ? json::value(json::object{{"Resource", res}})
                                        : json::value(res)));
        });
  }

  void server_status(const call&, respond_fn respond) const {
    auto m = cfg.store->maintenance();
    if (!m) return respond(error_response(m.err()));
    // The store is not encrypted at rest (only sensitive values are sealed), so it says so.
    respond(json_response(json::object{{"Id", "ServerStatus"},
                                       {"IsDatabaseEncrypted", false},
                                       {"IsMajorMinorUpgrade", false},
                                       {"IsInMaintenanceMode", m->on()},
                                       {"IsUpgradeAvailable", false},
                                       {"MaximumAvailableVersion", cfg.version},
                                       {"MaximumAvailableVersionCoveredByLicense", cfg.version},
                                       {"Links", json::object{{"Self", "/api/serverstatus"}}}}));
  }

  void metrics_text(const call&, respond_fn respond) const {
    auto all = cfg.store->tasks({});
    if (!all) return respond(error_response(all.err()));
    auto maintenance = cfg.store->maintenance();
    if (!maintenance) return respond(error_response(maintenance.err()));
    response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = counters.render_requests();
    r.body +=
        "# HELP octomig_events_appended_total Events appended by this process.\n"
        "# TYPE octomig_events_appended_total counter\n"
        "octomig_events_appended_total " +
        std::to_string(cfg.store->events_appended()) + "\n";
    r.body +=
        "# HELP octomig_event_log_position Global position of the newest event.\n"
        "# TYPE octomig_event_log_position gauge\n"
        "octomig_event_log_position " +
        std::to_string(cfg.store->last_position()) + "\n";
    std::map<std::string, std::uint64_t> by_state;
    for (auto s :
         {events::task_status::queued, events::task_status::executing, events::task_status::failed,
          events::task_status::canceled, events::task_status::timed_out,
          events::task_status::success, events::task_status::cancelling})
      by_state[events::to_string(s)] = 0;
    for (const auto& t : *all) ++by_state[events::to_string(t.state)];
    r.body += "# HELP octomig_tasks Tasks by state.\n# TYPE octomig_tasks gauge\n";
    for (const auto& [state, n] : by_state)
      r.body += "octomig_tasks{state=\"" + state + "\"} " + std::to_string(n) + "\n";
    r.body +=
        "# HELP octomig_maintenance_mode 1 while maintenance mode is on.\n"
        "# TYPE octomig_maintenance_mode gauge\n"
        "octomig_maintenance_mode " +
        std::string(maintenance->on() ? "1" : "0") + "\n";
    if (cfg.connections) r.body += cfg.connections->render();
    respond(std::move(r));
  }

  // ---- the table ----

  void add(std::string name, std::string method, const std::string& pattern, access level,
           int scopes, handler_fn fn) {
    routes.add(std::move(name), std::move(method), pattern, level, scopes, std::move(fn));
  }

  void build_routes() {
    auto h = [this](void (impl::*m)(const call&, respond_fn) const) {
      return [this, m](const call& c, respond_fn r) { (this->*m)(c, std::move(r)); };
    };
    add("root", "GET", "", access::anonymous, system_only, h(&impl::root));
    add("space_root", "GET", "", access::user, space_only, h(&impl::space_root));
    add("users/me", "GET", "users/me", access::user, system_only,
        [this](const call& c, respond_fn r) { r(json_response(user_resource(c.caller))); });
    add("users", "GET", "users", access::user, system_only, [this](const call& c, respond_fn r) {
      auto p = parse_paging(c.req);
      if (!p) return r(error_response(p.err()));
      auto users = visible_users(c);
      if (!users) return r(error_response(users.err()));
      json::array items;
      for (std::size_t i = p->skip; i < users->size() && items.size() < p->take; ++i)
        items.push_back(user_resource((*users)[i]));
      r(json_response(collection("User", std::move(items), users->size(), *p, "/api/users",
                                 "/api/users{/id}{?skip,take,ids,filter}")));
    });
    add("users/{id}", "GET", "users/{id}", access::user, system_only,
        [this](const call& c, respond_fn r) {
          auto u = visible_user(c, c.param("id"));
          if (!u) return r(error_response(u.err()));
          if (!*u) return r(not_found());
          r(json_response(user_resource(**u)));
        });
    add("users/{id}/spaces", "GET", "users/{id}/spaces", access::user, system_only,
        [this](const call& c, respond_fn r) {
          auto u = visible_user(c, c.param("id"));
          if (!u) return r(error_response(u.err()));
          if (!*u) return r(not_found());
          r(json_response(json::array{space_resource()}));
        });
    add("spaces", "GET", "spaces", access::user, system_only, h(&impl::spaces));
    add("spaces/all", "GET", "spaces/all", access::user, system_only,
        [this](const call&, respond_fn r) { r(json_response(json::array{space_resource()})); });
    add("spaces/{id}", "GET", "spaces/{id}", access::user, system_only, h(&impl::space_by_id));
    add("tasks", "GET", "tasks", access::user, both, h(&impl::tasks_list));
    add("tasks/{id}", "GET", "tasks/{id}", access::user, both, h(&impl::task_get));
    add("tasks/{id}/raw", "GET", "tasks/{id}/raw", access::user, both, h(&impl::task_raw));
    add("tasks/{id}/details", "GET", "tasks/{id}/details", access::user, both,
        h(&impl::task_details));
    add("tasks/{id}/cancel", "POST", "tasks/{id}/cancel", access::admin, both,
        h(&impl::task_cancel));
    add("maintenanceconfiguration", "GET", "maintenanceconfiguration", access::user, system_only,
        h(&impl::maintenance_get));
    add("maintenanceconfiguration", "PUT", "maintenanceconfiguration", access::admin, system_only,
        [this](const call& c, respond_fn r) { maintenance_put(c, std::move(r), false); });
    add("maintenanceconfiguration/v1", "PUT", "maintenanceconfiguration/v1", access::admin,
        system_only,
        [this](const call& c, respond_fn r) { maintenance_put(c, std::move(r), true); });
    add("serverstatus", "GET", "serverstatus", access::user, system_only, h(&impl::server_status));
    add_package_routes(routes, cfg);
    add_resource_routes(routes, cfg);
    add_migration_routes(routes, cfg);
  }

  // ---- dispatch ----

  // The route a request names, with its parameters and space; nullptr when none matches, with
  // allowed listing the methods the path does accept. label gets the route's name.
  const route* resolve(const request& req, std::string& label,
                       std::map<std::string, std::string>& params, std::string& space,
                       std::string& allowed) const {
    auto segs = segments(req.path);
    if (segs.empty() || !iequals(segs[0], "api")) return nullptr;
    segs.erase(segs.begin());
    if (!segs.empty() && is_space_id(segs[0])) {
      space = segs[0];
      segs.erase(segs.begin());
    } else if (segs.size() >= 3 && iequals(segs[0], "spaces") && is_space_id(segs[1]) &&
               (iequals(segs[2], "tasks") || iequals(segs[2], "packages"))) {
      // Newer servers also answer /api/spaces/{spaceId}/tasks... and .../packages...
      space = segs[1];
      segs.erase(segs.begin(), segs.begin() + 2);
    }
    for (const auto& r : routes.all()) {
      if (!(r.scopes & (space.empty() ? system_only : space_only))) continue;
      params.clear();
      if (!match(r.pattern, segs, params)) continue;
      label = r.name;
      if (r.method != req.method) {
        if (allowed.find(r.method) == std::string::npos)
          allowed += (allowed.empty() ? "" : ", ") + r.method;
        continue;
      }
      return &r;
    }
    return nullptr;
  }

  // Sets label (synchronously) to the matched route's name before the handler runs.
  void dispatch(const request& req, std::string& label, respond_fn respond) {
    auto segs = segments(req.path);
    if (segs.size() == 1 && segs[0] == "metrics") {
      label = "metrics";
      if (req.method != "GET") return respond(method_not_allowed("GET"));
      call c{req, {}, {}, {}};
      return metrics_text(c, std::move(respond));
    }
    std::map<std::string, std::string> params;
    std::string space, allowed;
    if (const auto* r = resolve(req, label, params, space, allowed))
      return invoke(*r, req, std::move(params), space, std::move(respond));
    if (!allowed.empty()) return respond(method_not_allowed(allowed));
    respond(not_found());
  }

  body_plan plan_body(const request& head) {
    body_plan plan;
    std::string label = "unmatched", space, allowed;
    std::map<std::string, std::string> params;
    const auto* r = resolve(head, label, params, space, allowed);
    if (!r || !r->plan_body) return plan;  // read as every other body is
    call c{head, std::move(params), space, {}};
    if (auto refused = authorize(*r, head, c.caller)) {
      plan.how = body_plan::reject;
      plan.rejection = std::move(*refused);
    } else {
      plan = r->plan_body(c);
    }
    if (plan.how == body_plan::reject) {
      annotate(plan.rejection, head.method, head.path);
      counters.count_request(label, plan.rejection.status);
    }
    return plan;
  }

  static response method_not_allowed(const std::string& allowed) {
    auto r = error_response(405, "The requested method is not allowed on this resource.",
                            {"Allowed: " + allowed});
    r.headers.emplace_back("Allow", allowed);
    return r;
  }

  static bool match(const std::vector<std::string>& pattern, const std::vector<std::string>& segs,
                    std::map<std::string, std::string>& params) {
    if (pattern.size() != segs.size()) return false;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
      const auto& p = pattern[i];
      if (p.size() > 2 && p.front() == '{' && p.back() == '}')
        params[p.substr(1, p.size() - 2)] = segs[i];
      else if (!iequals(p, segs[i]))
        return false;
    }
    return true;
  }

  // Authentication, maintenance mode and role, in that order: the refusal, or nothing.
  std::optional<response> authorize(const route& r, const request& req,
                                    storage::api_key_record& caller) const {
    if (r.level == access::anonymous) return std::nullopt;
    if (req.api_key.empty())
      return error_response(401,
                            "You must be logged in to perform this action. Please provide a valid "
                            "API key or log in again.");
    auto key = cfg.store->api_key_by_hash(storage::hash_api_key(req.api_key, cfg.master_key));
    if (!key) return error_response(key.err());
    if (!*key)
      return error_response(401,
                            "You must be logged in to perform this action. Please provide a valid "
                            "API key or log in again.");
    caller = **key;
    bool admin = caller.role == "admin";
    if (req.method != "GET" && !admin) {
      // Fails closed: a maintenance state that cannot be read refuses the change.
      auto m = cfg.store->maintenance();
      if (!m) return error_response(m.err());
      if (m->on())
        return error_response(503,
                              "The Octopus Server is currently in maintenance mode. Only "
                              "administrators can make changes.");
    }
    if (r.level == access::admin && !admin)
      return error_response(403,
                            "You do not have permission to perform this action. Please contact "
                            "your Octopus administrator. Missing permission: AdministerSystem");
    return std::nullopt;
  }

  void invoke(const route& r, const request& req, std::map<std::string, std::string> params,
              const std::string& space, respond_fn respond) {
    call c{req, std::move(params), space, {}};
    if (auto refused = authorize(r, req, c.caller)) return respond(std::move(*refused));
    r.fn(c, std::move(respond));
  }
};

api::api(api_config cfg) : impl_(std::make_unique<impl>()) {
  impl_->cfg = std::move(cfg);
  impl_->build_routes();
}

api::~api() = default;

metrics& api::counters() {
  return impl_->counters;
}

body_plan api::plan_body(const request& head) {
  return impl_->plan_body(head);
}

void api::handle(const request& req, respond_fn respond) {
  auto* self = impl_.get();
  // The metrics label is the matched route's name, never the raw path (unbounded cardinality).
  auto label = std::make_shared<std::string>("unmatched");
  // req lives until respond is called (the server's contract).
  self->dispatch(req, *label, [self, label, &req, respond = std::move(respond)](response r) {
    self->annotate(r, req.method, req.path);
    self->counters.count_request(*label, r.status);
    respond(std::move(r));
  });
}

}  // namespace octomig::http
