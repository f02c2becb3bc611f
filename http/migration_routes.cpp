// The Migration API's routes (contract §1): POST /api/migrations/partialexport and
// POST /api/migrations/import. Each handler validates the request, answers every problem at once
// in the Octopus error shape, and queues the task with its secrets kept in memory only
// (actors::task_secrets); the task's arguments are the echoed request with Password and
// DestinationApiKey blanked.
#include <sodium.h>

#include "http/json_util.hpp"
#include "http/routes.hpp"
#include "outbound/outbound.hpp"
#include "storage/documents.hpp"
#include "storage/packages.hpp"

namespace octomig::http {
namespace {

constexpr const char* default_package_id = "Octopus.Space.Migration";

// "1.0.0-" and 8 random [a-z0-9] (contract §1.2), from libsodium's CSPRNG.
std::string default_package_version() {
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string v = "1.0.0-";
  for (int i = 0; i < 8; ++i) v += alphabet[randombytes_uniform(sizeof alphabet - 1)];
  return v;
}

// One problem: it is the message; several: the usual heading, each in Errors.
response problems_response(const std::vector<std::string>& problems) {
  if (problems.size() == 1) return error_response(400, problems[0], problems);
  return error_response(400, "There was a problem with your request.", problems);
}

// A string field: nullopt when missing or null; a problem when of another type.
std::optional<std::string> text(const json::object& o, const char* field,
                                std::vector<std::string>& problems) {
  auto* v = o.if_contains(field);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_string()) {
    problems.push_back(std::string("'") + field + "' must be a string.");
    return std::nullopt;
  }
  return std::string(v->get_string());
}

// A request's body as a JSON object (lenient: comments, trailing commas); nullopt with the 400 to
// answer in refusal.
std::optional<json::object> request_object(const std::string& text, response& refusal) {
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    refusal = error_response(400, "No request body was supplied.");
    return std::nullopt;
  }
  auto parsed = parse_lenient(text);
  if (!parsed) {
    refusal = error_response(parsed.err());
    return std::nullopt;
  }
  if (!parsed->is_object()) {
    refusal = problems_response({"The request body must be a JSON object."});
    return std::nullopt;
  }
  return std::move(parsed->get_object());
}

class migrations : public std::enable_shared_from_this<migrations> {
 public:
  explicit migrations(const api_config& cfg)
      : store_(cfg.store), docs_(*cfg.store, cfg.master_key), commands_(cfg.commands) {}

  void add_routes(route_table& routes) {
    auto self = shared_from_this();
    routes.add("migrations/partialexport", "POST", "migrations/partialexport", access::admin,
               system_only, [self](const call& c, respond_fn r) { self->partial_export(c, r); });
    routes.add("migrations/import", "POST", "migrations/import", access::admin, system_only,
               [self](const call& c, respond_fn r) { self->import(c, r); });
  }

 private:
  void partial_export(const call& c, const respond_fn& respond) {
    response refusal;
    auto parsed = request_object(c.req.body, refusal);
    if (!parsed) return respond(std::move(refusal));
    const auto& body = *parsed;
    std::vector<std::string> problems;

    auto password = text(body, "Password", problems);
    if (!password || password->empty())
      problems.push_back("Missing expected 'Password' parameter.");
    std::vector<std::string> projects;
    const json::value* listed = body.if_contains("Projects");
    if (!listed || listed->is_null() || (listed->is_array() && listed->get_array().empty())) {
      problems.push_back("Missing expected 'Projects' parameter.");
    } else if (!listed->is_array()) {
      problems.push_back("'Projects' must be an array of project names.");
    } else {
      for (const auto& name : listed->get_array()) {
        if (name.is_string() && !name.get_string().empty())
          projects.emplace_back(name.get_string());
        else
          problems.push_back("'Projects' must hold project names (non-empty strings).");
      }
    }

    auto space = text(body, "SpaceId", problems).value_or("");
    if (space.empty()) space = default_space_id;
    if (space != default_space_id) problems.push_back("The space '" + space + "' does not exist.");
    auto dest_space = text(body, "DestinationPackageFeedSpaceId", problems).value_or("");
    if (dest_space.empty()) dest_space = default_space_id;

    auto package_id = text(body, "PackageId", problems).value_or("");
    if (package_id.empty()) package_id = default_package_id;
    auto version = text(body, "PackageVersion", problems).value_or("");
    if (version.empty()) version = default_package_version();
    // The package's file name must be one the feeds accept, and say exactly this id and version.
    auto identity = storage::parse_package_file_name(package_id + "." + version + ".zip");
    if (!identity || identity->package_id != package_id || identity->version != version)
      problems.push_back("'" + package_id + "' and '" + version +
                         "' must be a package id and a SemVer version (such as 1.0.0 or "
                         "1.0.0-abc123).");

    auto feed = text(body, "DestinationPackageFeed", problems).value_or("");
    if (!feed.empty() && !outbound::is_http_url(feed))
      problems.push_back("'DestinationPackageFeed' must be an absolute http:// or https:// URL.");
    if (!feed.empty() && feed.find_first_of("?#") != std::string::npos)
      problems.push_back("'DestinationPackageFeed' must be a server's base URL, without a query.");
    // Credentials in the URL would be written into the task's arguments; the key has its field.
    if (!feed.empty() && feed.find_first_of("?#") == std::string::npos &&
        outbound::redact_url(feed) != feed)
      problems.push_back(
          "'DestinationPackageFeed' must not carry credentials; give the key in "
          "'DestinationApiKey'.");
    auto api_key = text(body, "DestinationApiKey", problems).value_or("");
    if (!feed.empty() && api_key.empty())
      problems.push_back("'DestinationApiKey' is needed to push to 'DestinationPackageFeed'.");
    std::string uris[2];
    const char* uri_fields[2] = {"SuccessCallbackUri", "FailureCallbackUri"};
    for (int i = 0; i < 2; ++i) {
      uris[i] = text(body, uri_fields[i], problems).value_or("");
      if (!uris[i].empty() && !outbound::is_http_url(uris[i]))
        problems.push_back(std::string("'") + uri_fields[i] +
                           "' must be an absolute http:// or https:// URL.");
    }

    json::object echo;
    echo["Id"] = nullptr;
    echo["PackageId"] = package_id;
    echo["SpaceId"] = space;
    echo["PackageVersion"] = version;
    echo["Password"] = nullptr;
    json::array names;
    for (const auto& p : projects) names.emplace_back(p);
    echo["Projects"] = std::move(names);
    for (const char* flag : {"IgnoreCertificates", "IgnoreMachines", "IgnoreDeployments",
                             "IgnoreTenants", "IncludeTaskLogs", "EncryptPackage"}) {
      auto b = get_bool(body, flag);
      if (!b) {
        problems.push_back(b.err().message);
        continue;
      }
      echo[flag] = b->value_or(false);
    }
    echo["DestinationPackageFeedSpaceId"] = dest_space;
    echo["DestinationApiKey"] = nullptr;
    echo["DestinationPackageFeed"] = feed.empty() ? json::value(nullptr) : json::value(feed);
    echo["SuccessCallbackUri"] = uris[0].empty() ? json::value(nullptr) : json::value(uris[0]);
    echo["FailureCallbackUri"] = uris[1].empty() ? json::value(nullptr) : json::value(uris[1]);

    // Every name that is not a project of the space, all at once.
    if (space == default_space_id)
      for (const auto& name : projects) {
        auto found = docs_.find_by_name(space, "Projects", "", name);
        if (found) continue;
        if (found.err().code != errc::not_found) return respond(error_response(found.err()));
        problems.push_back("The project '" + name + "' does not exist in " + space + ".");
      }
    if (!problems.empty()) return respond(problems_response(problems));

    actors::queue_request q;
    q.name = "MigrationPartialExport";
    q.description = "Partial export of " + std::to_string(projects.size()) + " project" +
                    (projects.size() == 1 ? "" : "s") + " to package " + package_id + " " + version;
    q.space_id = space;
    q.arguments_json = json::serialize(echo);
    q.secrets = std::make_shared<actors::task_secrets>(std::move(*password), std::move(api_key));
    queue_and_echo(std::move(q), std::move(echo), respond);
  }

  // POST /api/migrations/import (contract §1.3): the package must be in this server's feed.
  void import(const call& c, const respond_fn& respond) {
    response refusal;
    auto parsed = request_object(c.req.body, refusal);
    if (!parsed) return respond(std::move(refusal));
    const auto& body = *parsed;
    std::vector<std::string> problems;

    auto package_id = text(body, "PackageId", problems).value_or("");
    if (package_id.empty()) problems.push_back("Missing expected 'PackageId' parameter.");
    auto version = text(body, "PackageVersion", problems).value_or("");
    if (version.empty()) problems.push_back("Missing expected 'PackageVersion' parameter.");
    auto password = text(body, "Password", problems);
    if (!password || password->empty())
      problems.push_back("Missing expected 'Password' parameter.");
    auto space = text(body, "PackageFeedSpaceId", problems).value_or("");
    if (space.empty()) space = default_space_id;
    if (space != default_space_id) problems.push_back("The space '" + space + "' does not exist.");

    json::object echo;
    echo["Id"] = nullptr;
    echo["PackageId"] = package_id;
    echo["PackageVersion"] = version;
    echo["Password"] = nullptr;
    echo["PackageFeedSpaceId"] = space;
    for (const char* flag :
         {"IsEncryptedPackage", "IsDryRun", "OverwriteExisting", "DeletePackageOnCompletion"}) {
      auto b = get_bool(body, flag);
      if (!b) {
        problems.push_back(b.err().message);
        continue;
      }
      echo[flag] = b->value_or(false);
    }
    for (const char* field : {"SuccessCallbackUri", "FailureCallbackUri"}) {
      auto uri = text(body, field, problems).value_or("");
      if (!uri.empty() && !outbound::is_http_url(uri))
        problems.push_back(std::string("'") + field +
                           "' must be an absolute http:// or https:// URL.");
      echo[field] = uri.empty() ? json::value(nullptr) : json::value(uri);
    }
    if (problems.empty()) {
      auto rec = storage::get_package(*store_, space, package_id, version);
      if (!rec && rec.err().code != errc::not_found) return respond(error_response(rec.err()));
      if (!rec)
        problems.push_back("The package " + package_id + " " + version +
                           " is not in the built-in feed of " + space + ".");
    }
    if (!problems.empty()) return respond(problems_response(problems));

    const bool dry_run = echo["IsDryRun"].as_bool();
    actors::queue_request q;
    q.name = "MigrationImport";
    q.description = std::string(dry_run ? "Dry run of the import" : "Import") + " of package " +
                    package_id + " " + version;
    q.space_id = space;
    q.arguments_json = json::serialize(echo);
    q.secrets = std::make_shared<actors::task_secrets>(std::move(*password), std::string());
    queue_and_echo(std::move(q), std::move(echo), respond);
  }

  // Queues the task and answers 200 with the echoed request and its TaskId, as Octopus's
  // migration resources look once saved.
  void queue_and_echo(actors::queue_request q, json::object echo, const respond_fn& respond) {
    commands_->queue_task(std::move(q), [respond, echo](result<events::task_state> t) mutable {
      if (!t) return respond(error_response(t.err()));
      echo["LastModifiedOn"] = nullptr;
      echo["LastModifiedBy"] = nullptr;
      echo["TaskId"] = t->id;
      echo["Links"] = json::object{};
      respond(json_response(echo));
    });
  }

  storage::store* store_;
  storage::documents docs_;  // reads only
  actors::gateway* commands_;
};

}  // namespace

void add_migration_routes(route_table& routes, const api_config& cfg) {
  std::make_shared<migrations>(cfg)->add_routes(routes);
}

}  // namespace octomig::http
