// The resources' REST routes (http/resource_routes.cpp) over real HTTP, driven by the schema
// table: every collection is created with its dependencies, read, listed, modified and deleted;
// validation, references, deletion rules, project side documents and sensitive values.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include "migration/schema.hpp"
#include "storage/store.hpp"
#include "tests/http/server_fixture.hpp"
#include "tests/support/temp_dir.hpp"

namespace octomig::http_test {
namespace {

namespace mig = octomig::migration;

// Secrets the samples send. None of them may ever come back, be logged or reach the disk in clear.
const std::vector<std::string> secrets = {"CERTDATA-SECRET-1f9", "CERTPASS-SECRET-2a8",
                                          "AWS-SECRET-KEY-3c7", "FEED-SECRET-4d6",
                                          "VAR-SECRET-5e5"};

// A minimal valid body per collection; "{Collection}" stands for the id of a document of that
// collection, created first. One-per-owner collections (a project's variables and process) are
// not created by POST: their body is what the test PUTs onto the project's document.
const std::map<std::string, std::string> samples = {
    {"Environments", R"({"Name":"Env #"})"},
    {"ProjectGroups", R"({"Name":"Group #","EnvironmentIds":["{Environments}"]})"},
    {"Lifecycles",
     R"({"Name":"Life #","Phases":[{"Name":"P","OptionalDeploymentTargets":["{Environments}"]}]})"},
    {"LibraryVariableSets", R"({"Name":"Lib #"})"},
    {"Projects",
     R"({"Name":"Proj #","ProjectGroupId":"{ProjectGroups}","LifecycleId":"{Lifecycles}",
                     "IncludedLibraryVariableSetIds":["{LibraryVariableSets}"]})"},
    {"Tenants", R"({"Name":"Tenant #","ProjectEnvironments":{"{Projects}":["{Environments}"]}})"},
    {"Certificates",
     R"({"Name":"Cert #","CertificateData":{"HasValue":true,"NewValue":"CERTDATA-SECRET-1f9"},
                         "Password":{"HasValue":true,"NewValue":"CERTPASS-SECRET-2a8"},"EnvironmentIds":["{Environments}"]})"},
    {"Accounts", R"({"Name":"Acct #","AccountType":"AmazonWebServicesAccount","AccessKey":"AKIA1",
                     "SecretKey":{"HasValue":true,"NewValue":"AWS-SECRET-KEY-3c7"},"TenantIds":["{Tenants}"]})"},
    {"Feeds",
     R"({"Name":"Feed #","FeedType":"NuGet","FeedUri":"https://feed.example/","Username":"u",
                  "Password":{"HasValue":true,"NewValue":"FEED-SECRET-4d6"}})"},
    {"WorkerPools", R"({"Name":"Pool #"})"},
    {"Workers", R"({"Name":"Worker #","WorkerPoolIds":["{WorkerPools}"]})"},
    {"ActionTemplates",
     R"({"Name":"Tmpl #","ActionType":"Octopus.Script","Properties":{"Octopus.Action.Script.ScriptBody":"echo"}})"},
    {"Machines", R"({"Name":"Machine #","EnvironmentIds":["{Environments}"],"Roles":["web"],
                     "Endpoint":{"CommunicationStyle":"TentaclePassive","Uri":"https://m:10933/"}})"},
    {"Channels", R"({"Name":"Chan #","ProjectId":"{Projects}","LifecycleId":"{Lifecycles}"})"},
    {"DeploymentProcesses",
     R"({"Steps":[{"Name":"Deploy","Actions":[{"Name":"Run","ActionType":"Octopus.Script",
        "Environments":["{Environments}"],"Channels":["{Channels}"],"WorkerPoolId":"{WorkerPools}",
        "Packages":[{"PackageId":"web","FeedId":"{Feeds}"},{"PackageId":"lib","FeedId":"feeds-builtin"}],
        "Properties":{"Octopus.Action.Template.Id":"{ActionTemplates}"}}]}]})"},
    {"VariableSets", R"({"Variables":[
        {"Name":"Plain","Value":"v","Scope":{"Environment":["{Environments}"],"Machine":["{Machines}"]}},
        {"Name":"Secret","Value":"VAR-SECRET-5e5","IsSensitive":true,"Type":"Sensitive"},
        {"Name":"Cert","Type":"Certificate","Value":"{Certificates}"},
        {"Name":"Aws","Type":"AmazonWebServicesAccount","Value":"{Accounts}"}]})"},
    {"Releases", R"({"Version":"1.0.#","ProjectId":"{Projects}","ChannelId":"{Channels}"})"},
    {"Deployments",
     R"({"ReleaseId":"{Releases}","EnvironmentId":"{Environments}","ProjectId":"{Projects}",
                        "TaskId":"{ServerTasks}","Name":"Deploy #"})"},
};

const std::string spaced = "/api/Spaces-1/";

// Builds documents with their dependencies through the API and remembers one id per collection.
class builder {
 public:
  builder(server_fixture& f) : f_(f) {}

  // A fresh document of the collection (its dependencies are created once and shared).
  json::object create(const mig::collection_schema& c) {
    auto body = fill(c.name);
    auto r = f_.client().post(spaced + c.route, f_.user_key, body);
    INFO("POST " << c.route << " " << body << " -> " << r.body);
    REQUIRE(r.status == 201);
    return r.object();
  }

  // The id of some document of the collection, created on first use.
  std::string id(const std::string& collection) {
    if (auto it = ids_.find(collection); it != ids_.end()) return it->second;
    auto* c = mig::find_collection(collection);
    REQUIRE(c);
    std::string id;
    if (!c->stored) {
      // Tasks are run, not POSTed. The task holds maintenance mode while it runs, which would
      // refuse the next write: wait until it is done and has let go.
      id = f_.queue_task("Instant", "a deployment's task").id;
      f_.wait_for_state(id, {"Success"});
      f_.wait_for_maintenance(false);
    } else if (c->one_per_owner) {
      id = mig::id_for_owner(*c, this->id(c->owner_collections.front()));
    } else {
      id = str(create(*c), "Id");
    }
    ids_[collection] = id;
    return id;
  }

  // The sample with every placeholder replaced and '#' numbered so names never collide.
  std::string fill(const std::string& collection) {
    auto it = samples.find(collection);
    REQUIRE(it != samples.end());
    std::string text = it->second;
    for (std::size_t pos; (pos = text.find('#')) != std::string::npos;)
      text.replace(pos, 1, std::to_string(++counter_));
    // Replace one placeholder at a time: creating a dependency may take a while, but the text is
    // rescanned from the start, so JSON braces around placeholders never confuse the search.
    for (bool again = true; again;) {
      again = false;
      for (auto pos = text.find('{'); pos != std::string::npos; pos = text.find('{', pos + 1)) {
        auto end = text.find('}', pos);
        if (end == std::string::npos) break;
        auto name = text.substr(pos + 1, end - pos - 1);
        if (!mig::find_collection(name)) continue;
        text.replace(pos, end - pos + 1, id(name));
        again = true;
        break;
      }
    }
    return text;
  }

 private:
  server_fixture& f_;
  std::map<std::string, std::string> ids_;
  int counter_ = 0;
};

http_reply del(server_fixture& f, const std::string& target, const std::string& key) {
  return f.client().send({"DELETE", target, {key_header(key)}, std::nullopt});
}

std::vector<std::string> errors_of(const http_reply& r) {
  std::vector<std::string> out;
  auto o = r.object();
  for (const auto& e : o.at("Errors").as_array()) out.push_back(std::string(e.as_string()));
  return out;
}

bool mentions(const std::vector<std::string>& errors, const std::string& text) {
  for (const auto& e : errors)
    if (e.find(text) != std::string::npos) return true;
  return false;
}

void check_no_secret_leaked(server_fixture& f) {
  for (const auto& body : f.client().bodies_seen())
    for (const auto& s : secrets) CHECK(body.find(s) == std::string::npos);
  std::string log;
  auto st = f.store().scan_raw([&](std::string_view, std::string_view v) { log.append(v); });
  REQUIRE(st.ok());
  auto disk = octomig::testing::all_file_bytes(f.data_dir());
  for (const auto& s : secrets) {
    INFO(s);
    CHECK(log.find(s) == std::string::npos);
    CHECK(disk.find(s) == std::string::npos);
  }
}

}  // namespace

TEST_CASE("every collection of the schema table has a sample here", "[resources]") {
  for (const auto& c : mig::collections())
    if (c.rest && c.stored) CHECK(samples.count(c.name) == 1);
}

TEST_CASE("every collection can be created, read, listed, modified and deleted", "[resources]") {
  server_fixture f;
  builder b(f);
  for (const auto& c : mig::collections()) {
    if (!c.rest || !c.stored || c.one_per_owner) continue;
    INFO(c.name);
    auto created = b.create(c);
    auto id = str(created, "Id");
    CHECK(mig::id_has_shape(c, id));
    CHECK(str(created, "SpaceId") == "Spaces-1");
    // Sensitive properties come back in Octopus's shape: whether there is a value, never which.
    auto sent = json::parse(samples.at(c.name)).as_object();
    for (const auto& rule : c.sensitive) {
      if (rule.style != mig::sensitive_style::property) continue;
      auto field = rule.pointer.substr(1);
      if (!created.contains(field)) continue;
      INFO(field);
      CHECK(created.at(field) ==
            json::value(json::object{{"HasValue", sent.contains(field)}, {"NewValue", nullptr}}));
    }

    // Links.Self resolves, in both the space-scoped and the unscoped form.
    auto self = str(created.at("Links").as_object(), "Self");
    CHECK(self == spaced + c.route + "/" + id);
    auto got = f.client().get(self, f.user_key);
    REQUIRE(got.status == 200);
    CHECK(str(got.object(), "Id") == id);
    CHECK(f.client().get("/api/" + c.route + "/" + id, f.user_key).status == 200);

    // Listed by partial name (or by id for unnamed collections), in the collection shape.
    std::string query = "?ids=" + id;
    if (!c.name_field.empty()) {
      auto name = str(created, c.name_field.c_str());
      query = "?partialName=" + name.substr(name.size() > 2 ? 1 : 0);
      for (auto& ch : query)
        if (ch == ' ') ch = '+';
    }
    auto listed = f.client().get(spaced + c.route + query, f.user_key);
    REQUIRE(listed.status == 200);
    auto lo = listed.object();
    CHECK(str(lo, "ItemType") == c.item_type);
    REQUIRE(integer(lo, "TotalResults") >= 1);
    bool found = false;
    for (const auto& item : lo.at("Items").as_array())
      found = found || item.at("Id").as_string() == id;
    CHECK(found);
    auto all = f.client().get("/api/" + c.route + "/all", f.user_key);
    REQUIRE(all.status == 200);
    CHECK(all.json().is_array());

    // Modified with a real PUT, then with Octopus.Client's POST + override.
    auto changed = got.object();
    changed["Description"] = "changed by PUT";
    auto put = f.client().put(self, f.user_key, json::serialize(changed));
    INFO(put.body);
    REQUIRE(put.status == 200);
    CHECK(str(put.object(), "Description") == "changed by PUT");
    // The PUT sent {"HasValue":true,"NewValue":null} back: the stored secrets are kept.
    for (const auto& rule : c.sensitive)
      if (rule.style == mig::sensitive_style::property && sent.contains(rule.pointer.substr(1)))
        CHECK(put.object().at(rule.pointer.substr(1)).at("HasValue") == json::value(true));
    changed["Description"] = "changed by override";
    auto over = f.client().post(self, f.user_key, json::serialize(changed),
                                {"X-HTTP-Method-Override: PUT"});
    REQUIRE(over.status == 200);
    CHECK(str(f.client().get(self, f.user_key).object(), "Description") == "changed by override");

    // Deleted (with the override form for every other collection), then gone.
    static int n = 0;
    auto gone = (++n % 2) ? del(f, self, f.user_key)
                          : f.client().post(self, f.user_key, std::nullopt,
                                            {"X-HTTP-Method-Override: DELETE"});
    INFO(gone.body);
    REQUIRE(gone.status == 200);
    CHECK(f.client().get(self, f.user_key).status == 404);
  }
  check_no_secret_leaked(f);
}

TEST_CASE("a project's variables and process are read and modified under the project",
          "[resources]") {
  server_fixture f;
  builder b(f);
  auto project = b.id("Projects");
  for (const char* name : {"VariableSets", "DeploymentProcesses"}) {
    const auto* c = mig::find_collection(name);
    INFO(name);
    auto under = spaced + "projects/" + project + "/" + c->owner_route;
    auto got = f.client().get(under, f.user_key);
    REQUIRE(got.status == 200);
    auto doc = got.object();
    CHECK(str(doc, "Id") == mig::id_for_owner(*c, project));
    auto body = json::parse(b.fill(name)).as_object();
    for (auto& kv : body) doc[kv.key()] = kv.value();
    auto put = f.client().put(under, f.user_key, json::serialize(doc));
    INFO(put.body);
    REQUIRE(put.status == 200);
    auto again = f.client().get(spaced + c->route + "/" + str(doc, "Id"), f.user_key);
    REQUIRE(again.status == 200);
    CHECK(again.object().at(c->name == "VariableSets" ? "Variables" : "Steps").as_array().size() >=
          1);
    // It goes with the project, never alone.
    auto refused = del(f, spaced + c->route + "/" + str(doc, "Id"), f.user_key);
    CHECK(refused.status == 400);
  }
  // The sensitive variable reads back as null, and a PUT that sends null keeps it.
  auto vars = f.client().get(spaced + "projects/" + project + "/variables", f.user_key).object();
  json::value* secret = nullptr;
  for (auto& v : vars.at("Variables").as_array())
    if (v.at("Name").as_string() == "Secret") secret = &v.as_object()["Value"];
  REQUIRE(secret);
  CHECK(secret->is_null());
  REQUIRE(f.client()
              .put(spaced + "projects/" + project + "/variables", f.user_key, json::serialize(vars))
              .status == 200);
  // Still referenced: the certificate named by a variable cannot be deleted.
  auto cert = del(f, spaced + "certificates/" + b.id("Certificates"), f.user_key);
  CHECK(cert.status == 400);
  CHECK(mentions(errors_of(cert), "variableset-" + project));
  check_no_secret_leaked(f);
}

TEST_CASE("creating a project creates its variable set, process and default channel",
          "[resources]") {
  server_fixture f;
  builder b(f);
  auto pg = b.id("ProjectGroups");
  auto lc = b.id("Lifecycles");
  auto r = f.client().post(spaced + "projects", f.user_key,
                           R"({"Name":"Sample Project","ProjectGroupId":")" + pg +
                               R"(","LifecycleId":")" + lc + R"("})");
  REQUIRE(r.status == 201);
  auto p = r.object();
  auto id = str(p, "Id");
  CHECK(str(p, "VariableSetId") == "variableset-" + id);
  CHECK(str(p, "DeploymentProcessId") == "deploymentprocess-" + id);
  CHECK(str(p, "Slug") == "sample-project");
  auto links = p.at("Links").as_object();
  CHECK(str(links, "Variables") == spaced + "projects/" + id + "/variables");
  CHECK(str(links, "DeploymentProcess") == spaced + "projects/" + id + "/deploymentprocesses");
  CHECK(str(links, "Channels").rfind(spaced + "projects/" + id + "/channels{", 0) == 0);
  CHECK(f.client().get(str(links, "Variables"), f.user_key).status == 200);
  CHECK(f.client().get(str(links, "DeploymentProcess"), f.user_key).status == 200);
  auto channels = f.client().get(spaced + "projects/" + id + "/channels", f.user_key);
  REQUIRE(channels.status == 200);
  auto items = channels.object().at("Items").as_array();
  REQUIRE(items.size() == 1);
  CHECK(items[0].at("Name") == "Default");
  // By slug, scoped and unscoped.
  CHECK(str(f.client().get(spaced + "projects/sample-project", f.user_key).object(), "Id") == id);
  CHECK(str(f.client().get("/api/projects/sample-project", f.user_key).object(), "Id") == id);
  // A channel created under the project belongs to it whatever the body says.
  auto ch = f.client().post(spaced + "projects/sample-project/channels", f.user_key,
                            R"({"Name":"Hotfix","ProjectId":"Projects-999"})");
  REQUIRE(ch.status == 201);
  CHECK(str(ch.object(), "ProjectId") == id);
}

TEST_CASE("missing required fields are 400s that name every field", "[resources]") {
  server_fixture f;
  for (const auto& c : mig::collections()) {
    if (!c.rest || !c.stored || c.one_per_owner) continue;
    INFO(c.name);
    auto r = f.client().post(spaced + c.route, f.user_key, std::string("{}"));
    REQUIRE(r.status == 400);
    CHECK(error_message(r) == "There was a problem with your request.");
    auto errors = errors_of(r);
    for (const auto& field : c.fields)
      if (field.required)
        CHECK(mentions(errors, "The " + field.pointer.substr(1) + " field is required."));
  }
  auto none = f.client().post(spaced + "environments", f.user_key, std::string(""));
  CHECK(none.status == 400);
  CHECK(error_message(none) == "No request body was supplied.");
  CHECK(f.client().post(spaced + "environments", f.user_key, std::string("[1]")).status == 400);
}

TEST_CASE("names are unique within their scope", "[resources]") {
  server_fixture f;
  REQUIRE(f.client()
              .post(spaced + "environments", f.user_key, std::string(R"({"Name":"Dev"})"))
              .status == 201);
  auto dup = f.client().post("/api/environments", f.user_key, std::string(R"({"Name":"DEV"})"));
  REQUIRE(dup.status == 400);
  CHECK(mentions(errors_of(dup), "An Environment with the name 'DEV' already exists"));
}

TEST_CASE("every reference must exist and a referenced document cannot be deleted", "[resources]") {
  server_fixture f;
  builder b(f);
  auto lc = b.id("Lifecycles");
  auto bad = f.client().post(
      spaced + "projects", f.user_key,
      R"({"Name":"P","ProjectGroupId":"ProjectGroups-404","LifecycleId":")" + lc + R"("})");
  REQUIRE(bad.status == 400);
  CHECK(mentions(errors_of(bad), "ProjectGroups-404"));
  auto project = b.id("Projects");
  auto still = del(f, spaced + "lifecycles/" + lc, f.user_key);
  REQUIRE(still.status == 400);
  CHECK(mentions(errors_of(still), project));
  // Once the project is gone (with its side documents), the lifecycle can go too.
  REQUIRE(del(f, spaced + "projects/" + project, f.user_key).status == 200);
  CHECK(f.client().get(spaced + "variables/variableset-" + project, f.user_key).status == 404);
  auto env = b.id("Environments");
  CHECK(del(f, spaced + "environments/" + env, f.user_key).status == 400);  // the lifecycle's phase
  CHECK(del(f, spaced + "lifecycles/" + lc, f.user_key).status == 200);
}

TEST_CASE("a deployment naming a task that does not exist is a 400", "[resources]") {
  server_fixture f;
  builder b(f);
  auto body = json::parse(b.fill("Deployments")).as_object();
  body["TaskId"] = "ServerTasks-404";
  auto r = f.client().post(spaced + "deployments", f.user_key, json::serialize(body));
  REQUIRE(r.status == 400);
  CHECK(mentions(errors_of(r), "ServerTasks-404"));
  CHECK(mentions(errors_of(r), "does not exist"));
  body["TaskId"] = b.id("ServerTasks");
  CHECK(f.client().post(spaced + "deployments", f.user_key, json::serialize(body)).status == 201);
}

TEST_CASE("lists page with skip and take and filter by ids, name and partialName", "[resources]") {
  server_fixture f;
  for (int i = 1; i <= 5; ++i)
    REQUIRE(f.client()
                .post(spaced + "environments", f.user_key,
                      R"({"Name":"Env )" + std::to_string(i) + R"("})")
                .status == 201);
  auto page = f.client().get(spaced + "environments?skip=1&take=2", f.user_key).object();
  CHECK(integer(page, "TotalResults") == 5);
  CHECK(page.at("Items").as_array().size() == 2);
  CHECK(page.at("Items").as_array()[0].at("Id") == "Environments-2");
  CHECK(page.at("Links").as_object().contains("Page.Next"));
  auto by_ids =
      f.client().get("/api/environments?ids=Environments-1,Environments-4", f.user_key).object();
  CHECK(integer(by_ids, "TotalResults") == 2);
  auto by_name = f.client().get(spaced + "environments?name=env+3", f.user_key).object();
  CHECK(integer(by_name, "TotalResults") == 1);
  auto huge = f.client().get(spaced + "environments?take=2147483647", f.user_key).object();
  CHECK(huge.at("Items").as_array().size() == 5);
  CHECK(f.client().get("/api/Spaces-2/environments", f.user_key).status == 404);
  CHECK(f.client().get(spaced + "environments/Environments-99", f.user_key).status == 404);
}

TEST_CASE("the root document and the space root link every collection", "[resources]") {
  server_fixture f;
  auto root = f.client().get("/api").object().at("Links").as_object();
  auto space = f.client().get("/api/Spaces-1", f.user_key).object().at("Links").as_object();
  for (const auto& c : mig::collections()) {
    if (!c.rest) continue;
    auto name = c.link_name.empty() ? c.name : c.link_name;
    INFO(name);
    CHECK(str(root, name.c_str()).rfind(spaced + c.route + "{/id}", 0) == 0);
    CHECK(str(space, name.c_str()).rfind(spaced + c.route + "{/id}", 0) == 0);
  }
}

TEST_CASE("maintenance mode refuses a user's resource changes with 503", "[resources]") {
  server_fixture f;
  REQUIRE(f.client()
              .put("/api/maintenanceconfiguration", f.admin_key, R"({"IsInMaintenanceMode":true})")
              .status == 200);
  auto user =
      f.client().post(spaced + "environments", f.user_key, std::string(R"({"Name":"Dev"})"));
  CHECK(user.status == 503);
  CHECK(f.client().get(spaced + "environments", f.user_key).status == 200);
  CHECK(f.client()
            .post(spaced + "environments", f.admin_key, std::string(R"({"Name":"Dev"})"))
            .status == 201);
  CHECK(del(f, spaced + "environments/Environments-1", f.user_key).status == 503);
  REQUIRE(f.client()
              .put("/api/maintenanceconfiguration", f.admin_key, R"({"IsInMaintenanceMode":false})")
              .status == 200);
  CHECK(del(f, spaced + "environments/Environments-1", f.user_key).status == 200);
}

}  // namespace octomig::http_test
