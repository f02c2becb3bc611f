// Tests of the export closure (migration/closure) against real storage: documents seeded through
// storage::documents in RocksDB in a temporary directory, the closure read from its snapshot.
#include "migration/closure.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "storage/documents.hpp"
#include "tests/support/must.hpp"
#include "tests/support/store_helpers.hpp"
#include "tests/support/temp_dir.hpp"

namespace json = boost::json;
using octomig::errc;
using octomig::migration::collect_closure;
using octomig::migration::document_ref;
using octomig::migration::export_closure;
using octomig::migration::ignore_flags;
using octomig::storage::documents;
using octomig::testing::must;

namespace {

const std::string space = "Spaces-1";
const std::string master(32, '\x42');

json::object obj(const char* text) {
  return json::parse(text).as_object();
}

// A document as "Collection/Id", so that a failed comparison prints what differs.
std::string key(const document_ref& r) {
  return r.collection + "/" + r.id;
}
std::string key(const std::string& collection, const std::string& id) {
  return collection + "/" + id;
}

std::set<std::string> set_of(const export_closure& c) {
  std::set<std::string> out;
  for (const auto& d : c.documents) out.insert(key(d));
  return out;
}

std::vector<std::string> list_of(const export_closure& c) {
  std::vector<std::string> out;
  for (const auto& d : c.documents) out.push_back(key(d));
  return out;
}

// Each left-out reference as one line: what, its name, the flag, and who refers to it.
std::vector<std::string> left_out_of(const export_closure& c) {
  std::vector<std::string> out;
  for (const auto& l : c.left_out)
    out.push_back(key(l.collection, l.id) + " '" + l.name + "' " + l.flag + " from " +
                  key(l.referenced_by));
  return out;
}

struct store_fixture {
  octomig::testing::temp_dir dir{"octomig-closure"};
  std::unique_ptr<octomig::storage::store> st = octomig::testing::open_store(dir / "db");
  documents docs{*st, master};

  // Creates a document and returns its id.
  std::string create(const std::string& collection, json::object body) {
    auto d = must(docs.create(space, collection, std::move(body)));
    return std::string(d.at("Id").as_string());
  }
  // Sets one field of a stored document (a side document's Steps or Variables).
  void set_field(const std::string& collection, const std::string& id, const char* field,
                 json::value v) {
    auto d = must(docs.get(space, collection, id));
    d[field] = std::move(v);
    must(docs.replace(space, collection, id, std::move(d)));
  }
  std::string field(const std::string& collection, const std::string& id, const char* f) {
    return std::string(must(docs.get(space, collection, id)).at(f).as_string());
  }
  std::string default_channel(const std::string& project) {
    auto c = must(docs.find_by_name(space, "Channels", project, "Default"));
    return std::string(c.at("Id").as_string());
  }
  // A finished history task of the space, as seed and import record them: a deployment's
  // TaskId must name one.
  void record_task(const std::string& id) {
    octomig::events::task_recorded fact;
    fact.name = "Deploy";
    fact.description = "a recorded deployment";
    fact.space_id = space;
    fact.arguments_json = "{}";
    fact.final_state = octomig::events::task_status::success;
    fact.queue_time = 1;
    fact.start_time = 2;
    fact.completed_time = 3;
    fact.has_warnings_or_errors = false;
    octomig::testing::append_ok(*st, octomig::testing::request(id, 0, {fact}));
  }
  export_closure closure(const std::vector<std::string>& projects,
                         const ignore_flags& ignored = {}) {
    auto snap = docs.snapshot();
    return must(collect_closure(*snap, space, projects, ignored));
  }
};

// One project with a document of every collection around it, each connected the way that
// collection is pulled in, and a decoy project beside it that shares nothing with it.
struct world : store_fixture {
  std::string dev, prod, group, lifecycle, hotfix_lifecycle, library, library_variables, feed, pool,
      variable_pool, worker, idle_pool, idle_worker, action_template, certificate, account, machine,
      project, project_variables, process, default_channel_id, hotfix_channel, tenant, release,
      deployment;
  std::string sandbox, other_group, other_lifecycle, other_project, sandbox_machine;
  const std::string task = "ServerTasks-1";

  world() {
    dev = create("Environments", obj(R"({"Name":"Dev"})"));
    prod = create("Environments", obj(R"({"Name":"Prod"})"));
    group = create("ProjectGroups", obj(R"({"Name":"Web group"})"));
    lifecycle = create(
        "Lifecycles",
        json::object{
            {"Name", "Dev to Prod"},
            {"Phases",
             json::array{
                 json::object{{"Name", "Dev"}, {"AutomaticDeploymentTargets", json::array{dev}}},
                 json::object{{"Name", "Prod"},
                              {"OptionalDeploymentTargets", json::array{prod}}}}}});
    hotfix_lifecycle = create(
        "Lifecycles",
        json::object{
            {"Name", "Hotfix"},
            {"Phases", json::array{json::object{
                           {"Name", "Prod"}, {"OptionalDeploymentTargets", json::array{prod}}}}}});
    library = create("LibraryVariableSets", obj(R"({"Name":"Shared"})"));
    library_variables = field("LibraryVariableSets", library, "VariableSetId");
    set_field("VariableSets", library_variables, "Variables",
              json::array{json::object{{"Name", "Region"}, {"Value", "eu-west-1"}}});
    feed = create("Feeds", obj(R"({"Name":"Custom","FeedType":"NuGet",
                                   "FeedUri":"https://feed.example/"})"));
    pool = create("WorkerPools", obj(R"({"Name":"Build pool"})"));
    variable_pool = create("WorkerPools", obj(R"({"Name":"Deploy pool"})"));
    worker =
        create("Workers", json::object{{"Name", "worker-1"}, {"WorkerPoolIds", json::array{pool}}});
    idle_pool = create("WorkerPools", obj(R"({"Name":"Idle pool"})"));
    idle_worker = create("Workers", json::object{{"Name", "worker-idle"},
                                                 {"WorkerPoolIds", json::array{idle_pool}}});
    action_template =
        create("ActionTemplates", obj(R"({"Name":"Smoke test","ActionType":"Octopus.Script"})"));
    certificate = create("Certificates", obj(R"({"Name":"Tls","CertificateData":"MIIBase64"})"));
    account = create("Accounts", obj(R"({"Name":"Aws","AccountType":"AmazonWebServicesAccount"})"));
    machine = create("Machines", json::object{{"Name", "web-01"},
                                              {"EnvironmentIds", json::array{dev}},
                                              {"Roles", json::array{"web"}}});

    project =
        create("Projects", json::object{{"Name", "Web"},
                                        {"ProjectGroupId", group},
                                        {"LifecycleId", lifecycle},
                                        {"IncludedLibraryVariableSetIds", json::array{library}}});
    default_channel_id = default_channel(project);
    hotfix_channel = create("Channels", json::object{{"Name", "Hotfix"},
                                                     {"ProjectId", project},
                                                     {"LifecycleId", hotfix_lifecycle}});
    process = field("Projects", project, "DeploymentProcessId");
    set_field(
        "DeploymentProcesses", process, "Steps",
        json::array{json::object{
            {"Name", "Deploy"},
            {"Actions",
             json::array{
                 json::object{{"Name", "Deploy package"},
                              {"ActionType", "Octopus.TentaclePackage"},
                              {"Packages",
                               json::array{json::object{{"PackageId", "Web"}, {"FeedId", feed}}}}},
                 // The built-in feed is no document: it exists in every space.
                 json::object{{"Name", "Deploy tools"},
                              {"ActionType", "Octopus.TentaclePackage"},
                              {"Packages", json::array{json::object{{"PackageId", "Tools"},
                                                                    {"FeedId", "feeds-builtin"}}}}},
                 json::object{
                     {"Name", "Migrate"}, {"ActionType", "Octopus.Script"}, {"WorkerPoolId", pool}},
                 json::object{{"Name", "Smoke test"},
                              {"ActionType", "Octopus.Script"},
                              {"Properties",
                               json::object{{"Octopus.Action.Template.Id", action_template}}}}}}}});
    project_variables = field("Projects", project, "VariableSetId");
    set_field(
        "VariableSets", project_variables, "Variables",
        json::array{
            json::object{{"Name", "Tls"}, {"Type", "Certificate"}, {"Value", certificate}},
            json::object{{"Name", "Aws"}, {"Type", "AmazonWebServicesAccount"}, {"Value", account}},
            json::object{{"Name", "Pool"}, {"Type", "WorkerPool"}, {"Value", variable_pool}},
            json::object{{"Name", "Url"},
                         {"Value", "https://web-01"},
                         {"Scope", json::object{{"Machine", json::array{machine}}}}}});
    tenant =
        create("Tenants",
               json::object{{"Name", "Acme"},
                            {"ProjectEnvironments", json::object{{project, json::array{dev}}}}});
    release = create("Releases", json::object{{"Version", "1.0.0"},
                                              {"ProjectId", project},
                                              {"ChannelId", default_channel_id}});
    record_task(task);
    deployment = create("Deployments", json::object{{"ReleaseId", release},
                                                    {"EnvironmentId", dev},
                                                    {"ProjectId", project},
                                                    {"ChannelId", default_channel_id},
                                                    {"TaskId", task}});

    // The decoy: a project of its own group and lifecycle, deploying to an environment with a
    // machine in it.
    sandbox = create("Environments", obj(R"({"Name":"Sandbox"})"));
    other_group = create("ProjectGroups", obj(R"({"Name":"Other group"})"));
    other_lifecycle = create(
        "Lifecycles",
        json::object{{"Name", "Sandbox only"},
                     {"Phases", json::array{json::object{
                                    {"Name", "Sandbox"},
                                    {"AutomaticDeploymentTargets", json::array{sandbox}}}}}});
    other_project = create("Projects", json::object{{"Name", "Other"},
                                                    {"ProjectGroupId", other_group},
                                                    {"LifecycleId", other_lifecycle}});
    sandbox_machine = create("Machines", json::object{{"Name", "sandbox-01"},
                                                      {"EnvironmentIds", json::array{sandbox}},
                                                      {"Roles", json::array{"web"}}});
  }

  // Everything the project's closure holds with no flag set.
  std::set<std::string> full() const {
    return {key("Environments", dev),
            key("Environments", prod),
            key("ProjectGroups", group),
            key("Lifecycles", lifecycle),
            key("Lifecycles", hotfix_lifecycle),
            key("LibraryVariableSets", library),
            key("Projects", project),
            key("Tenants", tenant),
            key("Certificates", certificate),
            key("Accounts", account),
            key("Feeds", feed),
            key("WorkerPools", pool),
            key("WorkerPools", variable_pool),
            key("Workers", worker),
            key("ActionTemplates", action_template),
            key("Machines", machine),
            key("Channels", default_channel_id),
            key("Channels", hotfix_channel),
            key("DeploymentProcesses", process),
            key("VariableSets", project_variables),
            key("VariableSets", library_variables),
            key("Releases", release),
            key("Deployments", deployment)};
  }
};

}  // namespace

TEST_CASE("a project's closure holds each collection it pulls in and nothing unconnected",
          "[closure]") {
  world w;
  auto c = w.closure({w.project});
  CHECK(set_of(c) == w.full());
  CHECK(c.task_ids == std::vector<std::string>{w.task});
  CHECK(left_out_of(c).empty());

  auto got = set_of(c);
  for (const auto& absent :
       {key("Projects", w.other_project), key("ProjectGroups", w.other_group),
        key("Lifecycles", w.other_lifecycle), key("Environments", w.sandbox),
        key("Machines", w.sandbox_machine), key("WorkerPools", w.idle_pool),
        key("Workers", w.idle_worker),
        key("VariableSets", w.field("Projects", w.other_project, "VariableSetId")),
        key("DeploymentProcesses", w.field("Projects", w.other_project, "DeploymentProcessId")),
        key("Channels", w.default_channel(w.other_project))}) {
    INFO(absent);
    CHECK(got.count(absent) == 0);
  }
}

TEST_CASE(
    "IgnoreCertificates leaves certificates out of the closure and records references to them",
    "[closure]") {
  world w;
  auto c = w.closure({w.project}, {"IgnoreCertificates"});
  auto expected = w.full();
  expected.erase(key("Certificates", w.certificate));
  CHECK(set_of(c) == expected);
  CHECK(c.task_ids == std::vector<std::string>{w.task});
  REQUIRE(c.left_out.size() == 1);
  const auto& l = c.left_out[0];
  CHECK(l.collection == "Certificates");
  CHECK(l.id == w.certificate);
  CHECK(l.name == "Tls");
  CHECK(l.flag == "IgnoreCertificates");
  CHECK(key(l.referenced_by) == key("VariableSets", w.project_variables));
}

TEST_CASE(
    "IgnoreMachines leaves machines and workers out of the closure and records a machine scope",
    "[closure]") {
  world w;
  auto c = w.closure({w.project}, {"IgnoreMachines"});
  auto expected = w.full();
  expected.erase(key("Machines", w.machine));
  expected.erase(key("Workers", w.worker));
  CHECK(set_of(c) == expected);
  CHECK(left_out_of(c) ==
        std::vector<std::string>{key("Machines", w.machine) + " 'web-01' IgnoreMachines from " +
                                 key("VariableSets", w.project_variables)});
}

TEST_CASE("IgnoreDeployments leaves deployments and tasks out of the closure but keeps releases",
          "[closure]") {
  world w;
  auto c = w.closure({w.project}, {"IgnoreDeployments"});
  auto expected = w.full();
  expected.erase(key("Deployments", w.deployment));
  CHECK(set_of(c) == expected);
  CHECK(set_of(c).count(key("Releases", w.release)) == 1);
  CHECK(c.task_ids.empty());
  CHECK(left_out_of(c).empty());
}

TEST_CASE("IgnoreTenants leaves the project's tenants out of the closure", "[closure]") {
  world w;
  auto c = w.closure({w.project}, {"IgnoreTenants"});
  auto expected = w.full();
  expected.erase(key("Tenants", w.tenant));
  CHECK(set_of(c) == expected);
  CHECK(c.task_ids == std::vector<std::string>{w.task});
  CHECK(left_out_of(c).empty());
}

TEST_CASE("the closure of projects sharing dependencies holds each once, in table then id order",
          "[closure]") {
  store_fixture f;
  // Ten environments, so that id order (Environments-2 before Environments-10) differs from
  // the order of the strings.
  for (int i = 1; i <= 10; ++i)
    f.create("Environments", json::object{{"Name", "Env " + std::to_string(i)}});
  f.create("ProjectGroups", obj(R"({"Name":"Shared group"})"));
  f.create("Lifecycles", obj(R"({"Name":"Shared","Phases":[
      {"Name":"Ten","AutomaticDeploymentTargets":["Environments-10"]},
      {"Name":"Two","OptionalDeploymentTargets":["Environments-2"]}]})"));
  f.create("LibraryVariableSets", obj(R"({"Name":"Shared variables"})"));
  f.create("Machines", obj(R"({"Name":"m","EnvironmentIds":["Environments-10"],"Roles":["r"]})"));
  for (const char* name : {"Web", "Api"}) {
    auto p = f.create("Projects", json::object{{"Name", name},
                                               {"ProjectGroupId", "ProjectGroups-1"},
                                               {"LifecycleId", "Lifecycles-1"},
                                               {"IncludedLibraryVariableSetIds",
                                                json::array{"LibraryVariableSets-1"}}});
    f.set_field("VariableSets", "variableset-" + p, "Variables",
                json::array{json::object{
                    {"Name", "Url"},
                    {"Value", "x"},
                    {"Scope", json::object{{"Environment", json::array{"Environments-10"}}}}}});
  }

  auto c = f.closure({"Projects-2", "Projects-1"});
  CHECK(list_of(c) == std::vector<std::string>{
                          "Environments/Environments-2",
                          "Environments/Environments-10",
                          "ProjectGroups/ProjectGroups-1",
                          "Lifecycles/Lifecycles-1",
                          "LibraryVariableSets/LibraryVariableSets-1",
                          "Projects/Projects-1",
                          "Projects/Projects-2",
                          "Machines/Machines-1",
                          "Channels/Channels-1",
                          "Channels/Channels-2",
                          "DeploymentProcesses/deploymentprocess-Projects-1",
                          "DeploymentProcesses/deploymentprocess-Projects-2",
                          "VariableSets/variableset-LibraryVariableSets-1",
                          "VariableSets/variableset-Projects-1",
                          "VariableSets/variableset-Projects-2",
                      });
  CHECK(c.task_ids.empty());
  CHECK(c.left_out.empty());
}

TEST_CASE("a closure holds a project's library variable set and its variables' accounts",
          "[closure]") {
  store_fixture f;
  auto group = f.create("ProjectGroups", obj(R"({"Name":"G"})"));
  auto lifecycle = f.create("Lifecycles", obj(R"({"Name":"L"})"));
  auto login = f.create("Accounts", obj(R"({"Name":"Login","AccountType":"UsernamePassword"})"));
  auto aws =
      f.create("Accounts", obj(R"({"Name":"Aws","AccountType":"AmazonWebServicesAccount"})"));
  f.create("Accounts", obj(R"({"Name":"Unused","AccountType":"AmazonWebServicesAccount"})"));
  auto library = f.create("LibraryVariableSets", obj(R"({"Name":"Cloud"})"));
  auto library_variables = f.field("LibraryVariableSets", library, "VariableSetId");
  // The library's variable names an account too: it travels with the library.
  f.set_field("VariableSets", library_variables, "Variables",
              json::array{json::object{
                  {"Name", "Cloud"}, {"Type", "AmazonWebServicesAccount"}, {"Value", aws}}});
  auto project =
      f.create("Projects", json::object{{"Name", "Web"},
                                        {"ProjectGroupId", group},
                                        {"LifecycleId", lifecycle},
                                        {"IncludedLibraryVariableSetIds", json::array{library}}});
  auto project_variables = f.field("Projects", project, "VariableSetId");
  f.set_field("VariableSets", project_variables, "Variables",
              json::array{json::object{
                  {"Name", "Login"}, {"Type", "UsernamePasswordAccount"}, {"Value", login}}});

  auto c = f.closure({project});
  CHECK(set_of(c) ==
        std::set<std::string>{
            key("ProjectGroups", group), key("Lifecycles", lifecycle),
            key("LibraryVariableSets", library), key("Projects", project), key("Accounts", login),
            key("Accounts", aws), key("Channels", f.default_channel(project)),
            key("DeploymentProcesses", f.field("Projects", project, "DeploymentProcessId")),
            key("VariableSets", library_variables), key("VariableSets", project_variables)});
  CHECK(c.left_out.empty());
}

TEST_CASE("a closure leaves out a tenant's other project and records the reference", "[closure]") {
  store_fixture f;
  auto dev = f.create("Environments", obj(R"({"Name":"Dev"})"));
  auto group = f.create("ProjectGroups", obj(R"({"Name":"G"})"));
  auto lifecycle = f.create("Lifecycles", obj(R"({"Name":"L"})"));
  auto web = f.create(
      "Projects",
      json::object{{"Name", "Web"}, {"ProjectGroupId", group}, {"LifecycleId", lifecycle}});
  auto api = f.create(
      "Projects",
      json::object{{"Name", "Api"}, {"ProjectGroupId", group}, {"LifecycleId", lifecycle}});
  auto tenant = f.create(
      "Tenants", json::object{{"Name", "Acme"},
                              {"ProjectEnvironments",
                               json::object{{web, json::array{dev}}, {api, json::array{dev}}}}});

  auto c = f.closure({web});
  CHECK(set_of(c) ==
        std::set<std::string>{
            key("Environments", dev), key("ProjectGroups", group), key("Lifecycles", lifecycle),
            key("Projects", web), key("Tenants", tenant), key("Channels", f.default_channel(web)),
            key("DeploymentProcesses", f.field("Projects", web, "DeploymentProcessId")),
            key("VariableSets", f.field("Projects", web, "VariableSetId"))});
  CHECK(left_out_of(c) ==
        std::vector<std::string>{key("Projects", api) + " 'Api' NotExported from " +
                                 key("Tenants", tenant)});
}

TEST_CASE("a closure does not take another project's variable set whose scope names the project",
          "[closure]") {
  store_fixture f;
  auto group = f.create("ProjectGroups", obj(R"({"Name":"G"})"));
  auto lifecycle = f.create("Lifecycles", obj(R"({"Name":"L"})"));
  auto web = f.create(
      "Projects",
      json::object{{"Name", "Web"}, {"ProjectGroupId", group}, {"LifecycleId", lifecycle}});
  auto api = f.create(
      "Projects",
      json::object{{"Name", "Api"}, {"ProjectGroupId", group}, {"LifecycleId", lifecycle}});
  auto api_variables = f.field("Projects", api, "VariableSetId");
  f.set_field(
      "VariableSets", api_variables, "Variables",
      json::array{json::object{{"Name", "X"},
                               {"Value", "1"},
                               {"Scope", json::object{{"ProcessOwner", json::array{web}}}}}});

  auto c = f.closure({web});
  CHECK(set_of(c) ==
        std::set<std::string>{
            key("ProjectGroups", group), key("Lifecycles", lifecycle), key("Projects", web),
            key("Channels", f.default_channel(web)),
            key("DeploymentProcesses", f.field("Projects", web, "DeploymentProcessId")),
            key("VariableSets", f.field("Projects", web, "VariableSetId"))});
  CHECK(c.left_out.empty());
}

TEST_CASE("the closure stops with unavailable when the stop callback turns true", "[closure]") {
  world w;
  auto snap = w.docs.snapshot();
  auto stopped = collect_closure(*snap, space, {w.project}, {}, [] { return true; });
  REQUIRE_FALSE(stopped);
  CHECK(stopped.err().code == errc::unavailable);

  // Checked between documents: it stops on the check that first says so, partway through.
  int checks = 0;
  stopped = collect_closure(*snap, space, {w.project}, {}, [&] { return ++checks == 3; });
  REQUIRE_FALSE(stopped);
  CHECK(stopped.err().code == errc::unavailable);
  CHECK(checks == 3);

  // A callback that never says stop changes nothing.
  auto done = collect_closure(*snap, space, {w.project}, {}, [] { return false; });
  REQUIRE(done);
  CHECK(set_of(*done) == w.full());
}

TEST_CASE("a closure read from a snapshot does not see documents created after it", "[closure]") {
  world w;
  auto before = w.docs.snapshot();
  auto late_machine = w.create("Machines", json::object{{"Name", "web-02"},
                                                        {"EnvironmentIds", json::array{w.dev}},
                                                        {"Roles", json::array{"web"}}});
  auto late_release =
      w.create("Releases", json::object{{"Version", "1.0.1"}, {"ProjectId", w.project}});

  auto c = must(collect_closure(*before, space, {w.project}, {}));
  CHECK(set_of(c) == w.full());

  // A snapshot taken now sees them: they are part of the closure.
  auto expected = w.full();
  expected.insert(key("Machines", late_machine));
  expected.insert(key("Releases", late_release));
  CHECK(set_of(w.closure({w.project})) == expected);
}
