// The root document, the space root, spaces and users (http/api.cpp), over real HTTP.
#include <array>
#include <catch2/catch.hpp>
#include <map>
#include <regex>

#include "tests/http/server_fixture.hpp"

namespace octomig::http_test {
namespace {

// Expands an RFC 6570 template the way clients do: {spaceId} becomes Spaces-1, {/id} becomes
// "/" + id (or nothing when id is empty), and query expressions {?...} are dropped.
std::string expand(const std::string& tmpl, const std::string& id) {
  static const std::regex expr(R"(\{([^}]*)\})");
  std::string out;
  auto begin = std::sregex_iterator(tmpl.begin(), tmpl.end(), expr);
  std::size_t last = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    out += tmpl.substr(last, static_cast<std::size_t>(it->position()) - last);
    std::string name = (*it)[1];
    if (name == "spaceId")
      out += "Spaces-1";
    else if (name == "/id" && !id.empty())
      out += "/" + id;
    last = static_cast<std::size_t>(it->position() + it->length());
  }
  return out + tmpl.substr(last);
}

bool is_semver(const std::string& v) {
  static const std::regex semver(
      R"(^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$)");
  return std::regex_match(v, semver);
}

// Whether the SemVer version's major.minor.patch is at least floor.
bool at_least(const std::string& version, std::array<long, 3> floor) {
  std::array<long, 3> parts{};
  std::size_t pos = 0;
  for (auto& part : parts) {
    part = std::stol(version.substr(pos));
    pos = version.find('.', pos);
    if (pos == std::string::npos) break;
    ++pos;
  }
  return parts >= floor;
}

}  // namespace

TEST_CASE("the root document answers anonymously at /api and /api/ with octomig's identity",
          "[root]") {
  server_fixture f;
  for (const char* target : {"/api", "/api/", "/API", "/api?unknown=1"}) {
    INFO(target);
    auto r = f.client().get(target);
    REQUIRE(r.status == 200);
    CHECK(r.header("content-type").rfind("application/json", 0) == 0);
    auto o = r.object();
    CHECK(str(o, "Application") == "octomig");
    CHECK(str(o, "ApiVersion") == "3.0.0");
    auto version = str(o, "Version");
    CHECK(is_semver(version));
    // api-client compares Version with 2022.3.5512 for releases and deployments.
    CHECK(at_least(version, {2022, 3, 5512}));
    CHECK(str(o, "InstallationId") == f.installation_id);
    CHECK(std::regex_match(
        str(o, "InstallationId"),
        std::regex("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")));
    REQUIRE(o.contains("Links"));
    REQUIRE(o.at("Links").is_object());
    const auto& links = o.at("Links").get_object();
    for (const char* name :
         {"Self", "CurrentUser", "SpaceHome", "Spaces", "Tasks", "MaintenanceConfiguration"})
      CHECK(links.contains(name));
    // Octopus.Client falls back to a full upload only when the delta links are absent.
    CHECK_FALSE(links.contains("PackageDeltaSignature"));
    CHECK_FALSE(links.contains("PackageDeltaUpload"));
  }
}

TEST_CASE("the root document keeps its installation id from one request to the next", "[root]") {
  server_fixture f;
  auto first = str(f.client().get("/api").object(), "InstallationId");
  auto second = str(f.client().get("/api/", f.user_key).object(), "InstallationId");
  CHECK(first == second);
  CHECK(first == f.installation_id);
}

TEST_CASE("every link in the root document leads to a route that exists", "[root]") {
  server_fixture f;
  auto task = f.queue_task("Instant");
  f.wait_for_state(task.id, {"Success"});

  auto root = f.client().get("/api").object();
  const auto& links = root.at("Links").get_object();
  // Ids for the {/id} form of the templates that have one.
  const std::map<std::string, std::string> ids{
      {"Spaces", "Spaces-1"}, {"Tasks", task.id}, {"Users", "Users-2"}};  // the user key's
  REQUIRE(links.size() >= 8);
  for (const auto& link : links) {
    std::string name(link.key());
    REQUIRE(link.value().is_string());
    std::string tmpl(link.value().get_string());
    INFO("link " << name << ": " << tmpl);
    CHECK(tmpl.rfind("/api", 0) == 0);  // host-absolute, as Octopus.Client resolves links
    // POST-only routes (feed_test pushes through PackageUpload; the export tests post to
    // MigrationsPartialExport, the import tests to MigrationsImport): a GET finds the route and
    // is told its method is wrong.
    if (name == "PackageUpload" || name == "MigrationsPartialExport" ||
        name == "MigrationsImport") {
      if (tmpl.find('{') == std::string::npos)
        CHECK(f.client().get(tmpl, f.user_key).status == 405);
      continue;
    }
    std::vector<std::string> targets;
    bool has_id = tmpl.find("{/id}") != std::string::npos;
    auto id = ids.find(name);
    if (has_id && id != ids.end()) targets.push_back(expand(tmpl, id->second));
    // The bare form of /api/users{/id} (a user list) is not part of the surface octomig serves.
    if (!(has_id && name == "Users")) targets.push_back(expand(tmpl, ""));
    for (const auto& target : targets) {
      INFO("GET " << target);
      auto r = f.client().get(target, f.user_key);
      CHECK(r.status == 200);
    }
  }
}

TEST_CASE("the space root answers for Spaces-1 only", "[root]") {
  server_fixture f;
  auto r = f.client().get("/api/Spaces-1", f.user_key);
  REQUIRE(r.status == 200);
  auto o = r.object();
  CHECK(str(o, "Id") == "Spaces-1");
  const auto& links = o.at("Links").get_object();
  CHECK(links.at("Self") == "/api/Spaces-1");
  CHECK(std::string(links.at("Tasks").get_string()).rfind("/api/Spaces-1/tasks{/id}", 0) == 0);

  auto other = f.client().get("/api/Spaces-2", f.user_key);
  CHECK(other.status == 404);
  CHECK(error_message(other) == "The resource you requested was not found.");
}

TEST_CASE("the current user leads to an array of spaces with the default space", "[root]") {
  server_fixture f;
  auto me = f.client().get("/api/users/me", f.user_key);
  REQUIRE(me.status == 200);
  auto spaces_link = str(me.object().at("Links").get_object(), "Spaces");
  auto spaces = f.client().get(spaces_link, f.user_key);
  REQUIRE(spaces.status == 200);
  auto v = spaces.json();
  REQUIRE(v.is_array());
  REQUIRE(v.get_array().size() == 1);
  const auto& space = v.get_array()[0].get_object();
  CHECK(str(space, "Id") == "Spaces-1");
  CHECK(space.at("IsDefault") == json::value(true));
  auto home = str(space.at("Links").get_object(), "SpaceHome");
  CHECK(f.client().get(home, f.user_key).status == 200);
}

TEST_CASE("each API key is its own user: a user key sees itself, an admin key every user",
          "[root]") {
  server_fixture f;
  // The admin key made at first start is Users-1; the fixture's user key came next.
  auto admin = f.client().get("/api/users/me", f.admin_key).object();
  auto user = f.client().get("/api/users/me", f.user_key).object();
  CHECK(str(admin, "Id") == "Users-1");
  CHECK(str(admin, "Username") == "admin");
  CHECK(str(user, "Id") == "Users-2");
  CHECK(str(user, "Username") == "tests-user");
  CHECK(str(user.at("Links").get_object(), "Self") == "/api/users/Users-2");

  CHECK(f.client().get("/api/users/Users-2", f.user_key).status == 200);
  CHECK(f.client().get("/api/users/Users-1", f.user_key).status == 404);
  CHECK(f.client().get("/api/users/Users-1/spaces", f.user_key).status == 404);
  CHECK(f.client().get("/api/users/Users-2", f.admin_key).status == 200);
  CHECK(f.client().get("/api/users/Users-3", f.admin_key).status == 404);

  auto mine = f.client().get("/api/users", f.user_key).object();
  CHECK(integer(mine, "TotalResults") == 1);
  auto all = f.client().get("/api/users", f.admin_key).object();
  CHECK(integer(all, "TotalResults") == 2);
  REQUIRE(all.at("Items").get_array().size() == 2);
  CHECK(str(all.at("Items").get_array()[1].get_object(), "Id") == "Users-2");
}

TEST_CASE("the server status says the database is not encrypted", "[root]") {
  server_fixture f;
  auto r = f.client().get("/api/serverstatus", f.user_key);
  REQUIRE(r.status == 200);
  auto o = r.object();
  CHECK(o.at("IsDatabaseEncrypted") == json::value(false));
  CHECK(o.at("IsInMaintenanceMode") == json::value(false));
}

TEST_CASE("the spaces collection honours partialName and the int32 maximum take", "[root]") {
  server_fixture f;
  auto r = f.client().get("/api/spaces?partialName=Def&skip=0&take=2147483647", f.user_key);
  REQUIRE(r.status == 200);
  auto o = r.object();
  CHECK(str(o, "ItemType") == "Space");
  CHECK(integer(o, "TotalResults") == 1);
  REQUIRE(o.at("Items").get_array().size() == 1);
  CHECK(str(o.at("Items").get_array()[0].get_object(), "Name") == "Default");

  auto none = f.client().get("/api/spaces?partialName=nothing-like-it", f.user_key).object();
  CHECK(integer(none, "TotalResults") == 0);
  CHECK(none.at("Items").get_array().empty());

  auto all = f.client().get("/api/spaces/all", f.user_key);
  REQUIRE(all.status == 200);
  CHECK(all.json().is_array());
}

}  // namespace octomig::http_test
