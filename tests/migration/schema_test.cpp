// Tests of migration/schema: the table is complete and consistent, and validation, references,
// sensitive paths, defaults and slugs behave as the API and the export rely on.
#include "migration/schema.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <set>

namespace mig = octomig::migration;
namespace json = boost::json;

namespace {

json::object obj(const char* text) {
  return json::parse(text).as_object();
}

bool has(const std::vector<std::string>& v, const std::string& needle) {
  return std::any_of(v.begin(), v.end(),
                     [&](const std::string& s) { return s.find(needle) != std::string::npos; });
}

}  // namespace

TEST_CASE("the table names every collection of an instance exactly once", "[schema]") {
  std::vector<std::string> expected = {"ProjectGroups", "Lifecycles",
                                       "Environments",  "Projects",
                                       "Channels",      "DeploymentProcesses",
                                       "VariableSets",  "LibraryVariableSets",
                                       "Machines",      "WorkerPools",
                                       "Workers",       "Certificates",
                                       "Accounts",      "Tenants",
                                       "Feeds",         "ActionTemplates",
                                       "Releases",      "Deployments",
                                       "ServerTasks"};
  std::set<std::string> names, routes, prefixes;
  for (const auto& c : mig::collections()) {
    names.insert(c.name);
    if (c.rest) CHECK(routes.insert(c.route).second);
    CHECK(prefixes.insert(c.id_prefix).second);
    CHECK_FALSE(c.item_type.empty());
  }
  CHECK(names.size() == mig::collections().size());
  for (const auto& e : expected) CHECK(names.count(e) == 1);
  CHECK(names.size() == expected.size());
}

TEST_CASE("every name the table refers to is a collection of the table", "[schema]") {
  for (const auto& c : mig::collections()) {
    INFO(c.name);
    for (const auto& r : c.references) CHECK(mig::find_collection(r.target) != nullptr);
    for (const auto& o : c.owner_collections) CHECK(mig::find_collection(o) != nullptr);
    for (const auto& s : c.creates) {
      auto* side = mig::find_collection(s.collection);
      REQUIRE(side != nullptr);
      CHECK(std::find(side->owner_collections.begin(), side->owner_collections.end(), c.name) !=
            side->owner_collections.end());
    }
    if (!c.pulled_by.empty()) CHECK(mig::find_collection(c.pulled_by) != nullptr);
    if (!c.ignore_flag.empty())
      CHECK((c.ignore_flag == "IgnoreCertificates" || c.ignore_flag == "IgnoreMachines" ||
             c.ignore_flag == "IgnoreDeployments" || c.ignore_flag == "IgnoreTenants"));
    CHECK(c.owner_field.empty() == c.owner_collections.empty());
  }
}

TEST_CASE("every collection's defaults and side-document templates are JSON objects", "[schema]") {
  for (const auto& c : mig::collections()) {
    INFO(c.name);
    if (!c.defaults_json.empty()) {
      json::error_code ec;
      auto v = json::parse(c.defaults_json, ec);
      CHECK_FALSE(ec);
      CHECK(v.is_object());
    }
    for (const auto& s : c.creates) {
      json::error_code ec;
      auto v = json::parse(s.template_json, ec);
      CHECK_FALSE(ec);
      CHECK(v.is_object());
    }
  }
}

TEST_CASE("references point at earlier collections, so dependencies can be created in table order",
          "[schema]") {
  std::set<std::string> seen;
  for (const auto& c : mig::collections()) {
    INFO(c.name);
    // History tasks are recorded, not created: their arguments name documents of any collection.
    if (!c.stored) {
      seen.insert(c.name);
      continue;
    }
    for (const auto& r : c.references)
      if (r.target != c.name) CHECK(seen.count(r.target) == 1);
    seen.insert(c.name);
  }
}

TEST_CASE("a project needs a name, a project group and a lifecycle", "[schema]") {
  auto* p = mig::find_collection("Projects");
  REQUIRE(p);
  auto problems = mig::validate(*p, obj(R"({"Name":""})"));
  CHECK(has(problems, "The Name field is required."));
  CHECK(has(problems, "The ProjectGroupId field is required."));
  CHECK(has(problems, "The LifecycleId field is required."));
  CHECK(
      mig::validate(
          *p,
          obj(R"({"Name":"Web","ProjectGroupId":"ProjectGroups-1","LifecycleId":"Lifecycles-1"})"))
          .empty());
}

TEST_CASE("fields of the wrong type are reported by name", "[schema]") {
  auto* e = mig::find_collection("Environments");
  auto problems =
      mig::validate(*e, obj(R"({"Name":"Dev","SortOrder":"first","UseGuidedFailure":"yes"})"));
  CHECK(has(problems, "The SortOrder field must be a number."));
  CHECK(has(problems, "The UseGuidedFailure field must be true or false."));
  auto* g = mig::find_collection("ProjectGroups");
  CHECK(has(mig::validate(*g, obj(R"({"Name":"G","EnvironmentIds":["Environments-1",3]})")),
            "must be an array of strings"));
}

TEST_CASE("an owner of the wrong collection is refused", "[schema]") {
  auto* v = mig::find_collection("VariableSets");
  CHECK(has(mig::validate(*v, obj(R"({"OwnerId":"Environments-1"})")),
            "Projects or LibraryVariableSets"));
  CHECK(mig::validate(*v, obj(R"({"OwnerId":"LibraryVariableSets-2"})")).empty());
}

TEST_CASE("references are found through array wildcards", "[schema]") {
  auto* l = mig::find_collection("Lifecycles");
  auto refs = mig::references(*l, json::parse(R"({"Name":"LC","Phases":[
      {"Name":"a","AutomaticDeploymentTargets":["Environments-1"],"OptionalDeploymentTargets":[]},
      {"Name":"b","AutomaticDeploymentTargets":[],"OptionalDeploymentTargets":["Environments-2","Environments-3"]}]})"));
  REQUIRE(refs.size() == 3);
  CHECK(refs[0].pointer == "/Phases/0/AutomaticDeploymentTargets/0");
  CHECK(refs[0].id == "Environments-1");
  CHECK(refs[2].pointer == "/Phases/1/OptionalDeploymentTargets/1");
  CHECK(refs[2].target == "Environments");
}

TEST_CASE("a variable's value is a reference only when its type says so", "[schema]") {
  auto* v = mig::find_collection("VariableSets");
  auto refs = mig::references(*v, json::parse(R"({"OwnerId":"Projects-1","Variables":[
      {"Name":"Cert","Type":"Certificate","Value":"Certificates-4"},
      {"Name":"Aws","Type":"AmazonWebServicesAccount","Value":"Accounts-2"},
      {"Name":"Plain","Type":"String","Value":"Certificates-9","Scope":{"Environment":["Environments-5"]}}]})"));
  std::set<std::string> found;
  for (const auto& r : refs) found.insert(r.target + ":" + r.id);
  CHECK(found == std::set<std::string>{"Certificates:Certificates-4", "Accounts:Accounts-2",
                                       "Environments:Environments-5"});
}

TEST_CASE("a tenant's project environments refer to projects by key and environments by value",
          "[schema]") {
  auto* t = mig::find_collection("Tenants");
  auto refs = mig::references(
      *t, json::parse(R"({"Name":"T","ProjectEnvironments":{"Projects-3":["Environments-1"]}})"));
  std::set<std::string> found;
  for (const auto& r : refs) found.insert(r.target + ":" + r.id);
  CHECK(found == std::set<std::string>{"Projects:Projects-3", "Environments:Environments-1"});
}

TEST_CASE("sensitive paths follow the sensitive flag and name array elements by Id", "[schema]") {
  auto* v = mig::find_collection("VariableSets");
  auto paths = mig::sensitive_paths(*v, json::parse(R"({"Variables":[
      {"Id":"a","Name":"Open","Value":"x","IsSensitive":false},
      {"Id":"b","Name":"Secret","Value":"y","IsSensitive":true,"Type":"Sensitive"}]})"));
  REQUIRE(paths.size() == 1);
  CHECK(paths[0].pointer == "/Variables/1/Value");
  CHECK(paths[0].stable_key == "/Variables/[b]/Value");
  CHECK(paths[0].style == mig::sensitive_style::variable);

  auto* a = mig::find_collection("Accounts");
  auto props = mig::sensitive_paths(
      *a, json::parse(R"({"Name":"A","SecretKey":{"HasValue":true,"NewValue":"s"},"Token":null})"));
  std::set<std::string> ptrs;
  for (const auto& p : props) ptrs.insert(p.pointer);
  CHECK(ptrs == std::set<std::string>{"/SecretKey", "/Token"});
}

TEST_CASE("ids have the shape of their collection", "[schema]") {
  CHECK(mig::collection_of_id("Projects-12")->name == "Projects");
  CHECK(mig::collection_of_id("variableset-Projects-12")->name == "VariableSets");
  CHECK(mig::collection_of_id("variableset-LibraryVariableSets-1")->name == "VariableSets");
  CHECK(mig::collection_of_id("deploymentprocess-Projects-1")->name == "DeploymentProcesses");
  CHECK(mig::collection_of_id("feeds-builtin")->name == "Feeds");
  CHECK(mig::collection_of_id("ServerTasks-7")->name == "ServerTasks");
  CHECK(mig::collection_of_id("Projects-") == nullptr);
  CHECK(mig::collection_of_id("Projects-1x") == nullptr);
  CHECK(mig::collection_of_id("deploymentprocess-Environments-1") == nullptr);
  CHECK(mig::id_for_owner(*mig::find_collection("VariableSets"), "Projects-3") ==
        "variableset-Projects-3");
}

TEST_CASE("defaults fill what is missing or null and keep what was sent", "[schema]") {
  auto* e = mig::find_collection("Environments");
  auto d = mig::with_defaults(*e, obj(R"({"Name":"Dev","SortOrder":4,"Description":null})"));
  CHECK(d.at("SortOrder").as_int64() == 4);
  CHECK(d.at("UseGuidedFailure").as_bool() == false);
  CHECK(d.at("ExtensionSettings").is_array());
  CHECK(d.at("Description").is_null());
}

TEST_CASE("elements get generated ids only when they have none", "[schema]") {
  auto* d = mig::find_collection("DeploymentProcesses");
  json::value doc =
      json::parse(R"({"Steps":[{"Id":"keep","Actions":[{"Name":"a"}]},{"Name":"s2"}]})");
  int n = 0;
  mig::assign_element_ids(*d, doc, [&] { return "gen-" + std::to_string(++n); });
  CHECK(mig::find_pointer(doc, "/Steps/0/Id")->as_string() == "keep");
  CHECK(mig::find_pointer(doc, "/Steps/1/Id")->as_string().starts_with("gen-"));
  CHECK(mig::find_pointer(doc, "/Steps/0/Actions/0/Id")->as_string().starts_with("gen-"));
  CHECK(n == 2);
}

TEST_CASE("slugs are lower case with single dashes", "[schema]") {
  CHECK(mig::slugify("Sample Project") == "sample-project");
  CHECK(mig::slugify("  My--Web__App 2 ") == "my-web-app-2");
}

TEST_CASE("link templates name the collection route and its query", "[schema]") {
  CHECK(mig::link_template(*mig::find_collection("Environments"), "/api/Spaces-1") ==
        "/api/Spaces-1/environments{/id}{?name,skip,ids,take,partialName}");
}
