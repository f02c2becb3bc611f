// Tests of migration/import_plan: matching, create / overwrite / skip, id allocation from the
// counters, reference rewriting of every kind the schema table names, LeftOut resolution, task
// numbering and the problems a plan reports. The destination is a map held by the test.
#include "migration/import_plan.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <tuple>

namespace mig = octomig::migration;
namespace json = boost::json;
using octomig::errc;
using octomig::result;

namespace {

const std::string source_space = "Spaces-1";
const std::string space = "Spaces-7";  // where the tests import to

json::object obj(const char* text) {
  return json::parse(text).as_object();
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The destination as maps: documents by id, names (case-insensitive, as the store indexes them)
// by scope, counters, the provenance of earlier imports and the recorded tasks.
class memory_destination final : public mig::destination_view {
 public:
  // A document of the destination; named ones are found by name within their scope (owner
  // empty for space-unique names).
  void add(const std::string& collection, const std::string& id, const std::string& name = "",
           const std::string& owner = "", const std::string& in_space = space) {
    docs_.insert({in_space, collection, id});
    if (!name.empty()) names_[{in_space, collection, owner, lower(name)}] = id;
  }
  void set_counter(const std::string& collection, std::uint64_t n) { counters_[collection] = n; }
  void record_import(const std::string& source_id, const std::string& id) {
    provenance_[source_id] = id;
  }
  void add_task(const std::string& id) { tasks_.insert(id); }

  std::uint64_t next_task_number = 1;
  // The count of every first_task_number call.
  mutable std::vector<std::uint64_t> task_number_requests;

  result<std::optional<std::string>> id_by_name(const std::string& in_space,
                                                const std::string& collection,
                                                const std::string& owner_id,
                                                const std::string& name) const override {
    auto it = names_.find({in_space, collection, owner_id, lower(name)});
    if (it == names_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  result<bool> exists(const std::string& in_space, const std::string& collection,
                      const std::string& id) const override {
    return docs_.count({in_space, collection, id}) > 0;
  }
  result<std::uint64_t> counter(const std::string& collection) const override {
    auto it = counters_.find(collection);
    return it == counters_.end() ? std::uint64_t{0} : it->second;
  }
  result<std::optional<std::string>> imported_as(const std::string& source_id) const override {
    auto it = provenance_.find(source_id);
    if (it == provenance_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  result<bool> task_exists(const std::string& id) const override { return tasks_.count(id) > 0; }
  result<std::uint64_t> first_task_number(std::uint64_t count) const override {
    task_number_requests.push_back(count);
    return next_task_number;
  }

 private:
  std::set<std::tuple<std::string, std::string, std::string>> docs_;
  std::map<std::tuple<std::string, std::string, std::string, std::string>, std::string> names_;
  std::map<std::string, std::uint64_t> counters_;
  std::map<std::string, std::string> provenance_;
  std::set<std::string> tasks_;
};

mig::package_document doc(const std::string& collection, const char* body) {
  auto o = obj(body);
  return {collection, std::string(o.at("Id").as_string()), std::move(o)};
}

// The package of the tests, in the schema table's order (owners before what they own): two
// environments, a project group, a lifecycle whose phases name the environments, a library
// variable set, a project including it, a tenant connected to the project, a certificate, the
// project's channels, process and variables (scoped, and one naming the certificate), releases
// and deployments with their tasks.
std::vector<mig::package_document> package() {
  return {
      doc("Environments", R"({"Id":"Environments-1","SpaceId":"Spaces-1","Name":"Dev",
          "Links":{"Self":"/api/Spaces-1/environments/Environments-1"}})"),
      doc("Environments", R"({"Id":"Environments-2","SpaceId":"Spaces-1","Name":"Prod"})"),
      doc("ProjectGroups", R"({"Id":"ProjectGroups-1","SpaceId":"Spaces-1","Name":"Web group",
          "EnvironmentIds":["Environments-2"]})"),
      doc("Lifecycles", R"({"Id":"Lifecycles-1","SpaceId":"Spaces-1","Name":"Standard","Phases":[
          {"Id":"phase-a","Name":"Testing","AutomaticDeploymentTargets":[],
           "OptionalDeploymentTargets":["Environments-1"]},
          {"Id":"phase-b","Name":"Production","AutomaticDeploymentTargets":["Environments-2"],
           "OptionalDeploymentTargets":["Environments-1","Environments-2"]}]})"),
      doc("LibraryVariableSets", R"({"Id":"LibraryVariableSets-1","SpaceId":"Spaces-1",
          "Name":"Shared","VariableSetId":"variableset-LibraryVariableSets-1"})"),
      doc("Projects", R"({"Id":"Projects-1","SpaceId":"Spaces-1","Name":"Web",
          "ProjectGroupId":"ProjectGroups-1","LifecycleId":"Lifecycles-1",
          "IncludedLibraryVariableSetIds":["LibraryVariableSets-1"],
          "VariableSetId":"variableset-Projects-1",
          "DeploymentProcessId":"deploymentprocess-Projects-1","ClonedFromProjectId":null,
          "Links":{"Self":"/api/Spaces-1/projects/Projects-1",
                   "Variables":"/api/Spaces-1/variables/variableset-Projects-1"}})"),
      doc("Tenants", R"({"Id":"Tenants-1","SpaceId":"Spaces-1","Name":"Acme",
          "ProjectEnvironments":{"Projects-1":["Environments-1","Environments-2"]}})"),
      doc("Certificates", R"({"Id":"Certificates-1","SpaceId":"Spaces-1","Name":"Site cert",
          "CertificateData":"MIIC-source-bytes","EnvironmentIds":["Environments-2"]})"),
      doc("Channels", R"({"Id":"Channels-1","SpaceId":"Spaces-1","Name":"Default",
          "ProjectId":"Projects-1","LifecycleId":null,"IsDefault":true})"),
      doc("Channels", R"({"Id":"Channels-2","SpaceId":"Spaces-1","Name":"Hotfix",
          "ProjectId":"Projects-1","LifecycleId":"Lifecycles-1"})"),
      doc("DeploymentProcesses", R"({"Id":"deploymentprocess-Projects-1","SpaceId":"Spaces-1",
          "ProjectId":"Projects-1","Steps":[{"Id":"step-1","Name":"Deploy","Actions":[
          {"Id":"action-1","Name":"Run","Environments":["Environments-2"],
           "ExcludedEnvironments":["Environments-1"],"Channels":["Channels-2"],
           "Properties":{}}]}]})"),
      doc("VariableSets", R"({"Id":"variableset-LibraryVariableSets-1","SpaceId":"Spaces-1",
          "OwnerId":"LibraryVariableSets-1","Variables":[
          {"Id":"v-shared","Name":"Shared.Url","Value":"https://shared",
           "Scope":{"Environment":["Environments-1"]}}]})"),
      doc("VariableSets", R"({"Id":"variableset-Projects-1","SpaceId":"Spaces-1",
          "OwnerId":"Projects-1","Variables":[
          {"Id":"v-url","Name":"Url","Type":"String","Value":"https://dev",
           "Scope":{"Environment":["Environments-1"]}},
          {"Id":"v-url-prod","Name":"Url","Type":"String","Value":"https://prod",
           "Scope":{"Environment":["Environments-2"],"Channel":["Channels-2"]}},
          {"Id":"v-cert","Name":"SiteCert","Type":"Certificate","Value":"Certificates-1"},
          {"Id":"v-literal","Name":"Note","Type":"String","Value":"Certificates-1"}]})"),
      doc("Releases", R"({"Id":"Releases-1","SpaceId":"Spaces-1","Version":"1.0.0",
          "ProjectId":"Projects-1","ChannelId":"Channels-1"})"),
      doc("Releases", R"({"Id":"Releases-2","SpaceId":"Spaces-1","Version":"1.1.0",
          "ProjectId":"Projects-1","ChannelId":"Channels-2"})"),
      doc("Deployments", R"({"Id":"Deployments-1","SpaceId":"Spaces-1","ReleaseId":"Releases-1",
          "ProjectId":"Projects-1","EnvironmentId":"Environments-1","ChannelId":"Channels-1",
          "TaskId":"ServerTasks-10"})"),
      doc("Deployments", R"({"Id":"Deployments-2","SpaceId":"Spaces-1","ReleaseId":"Releases-2",
          "ProjectId":"Projects-1","EnvironmentId":"Environments-2","ChannelId":"Channels-2",
          "TenantId":"Tenants-1","TaskId":"ServerTasks-11"})"),
  };
}

const std::vector<std::string> package_tasks = {"ServerTasks-10", "ServerTasks-11"};

mig::import_options into(const std::string& to, bool overwrite = false) {
  mig::import_options o;
  o.space_id = to;
  o.overwrite = overwrite;
  return o;
}

mig::import_plan plan_ok(std::vector<mig::package_document> docs,
                         const std::vector<std::string>& tasks,
                         const std::vector<mig::left_out_entry>& left_out,
                         const mig::destination_view& dest, const mig::import_options& o) {
  auto r = mig::plan_import(std::move(docs), tasks, left_out, dest, o);
  if (!r) FAIL(r.err().message);
  return std::move(r.value());
}

std::string all_problems(const mig::import_plan& p) {
  std::string out;
  for (const auto& s : p.problems) out += "  " + s + "\n";
  return out;
}

const mig::planned_document& planned(const mig::import_plan& p, const std::string& collection,
                                     const std::string& source_id) {
  auto it = std::find_if(p.documents.begin(), p.documents.end(), [&](const auto& d) {
    return d.collection == collection && d.source_id == source_id;
  });
  INFO("planned " << collection << " " << source_id);
  REQUIRE(it != p.documents.end());
  return *it;
}

// The value at a JSON pointer of a body (null when absent).
json::value at(const json::object& body, const char* pointer) {
  json::value whole(body);
  const json::value* v = mig::find_pointer(whole, pointer);
  return v ? *v : json::value(nullptr);
}

// The string at a JSON pointer, or a marker that no expected id equals.
std::string text(const json::object& body, const char* pointer) {
  auto v = at(body, pointer);
  return v.is_string() ? std::string(v.get_string()) : "<not a string: " + json::serialize(v) + ">";
}

json::value ids(std::initializer_list<const char*> list) {
  json::array a;
  for (const char* s : list) a.emplace_back(s);
  return a;
}

// Every string value and every object key in a body, with the pointer where it is.
void strings_of(const json::value& v, const std::string& pointer,
                std::vector<std::pair<std::string, std::string>>& out) {
  if (v.is_string()) {
    out.emplace_back(pointer, std::string(v.get_string()));
  } else if (v.is_array()) {
    for (std::size_t i = 0; i < v.get_array().size(); ++i)
      strings_of(v.get_array()[i], pointer + "/" + std::to_string(i), out);
  } else if (v.is_object()) {
    for (const auto& kv : v.get_object()) {
      std::string child = pointer + "/" + std::string(kv.key());
      out.emplace_back(child + " (key)", std::string(kv.key()));
      strings_of(kv.value(), child, out);
    }
  }
}

}  // namespace

TEST_CASE("a package imported into an empty destination gets new ids and every reference follows",
          "[import_plan]") {
  memory_destination dest;
  const std::map<std::string, std::uint64_t> counters = {
      {"Environments", 10},        {"ProjectGroups", 20}, {"Lifecycles", 30},
      {"LibraryVariableSets", 40}, {"Projects", 50},      {"Tenants", 60},
      {"Certificates", 70},        {"Channels", 80},      {"Releases", 90},
      {"Deployments", 100}};
  for (const auto& [c, n] : counters) dest.set_counter(c, n);
  dest.next_task_number = 500;
  // A document of that name in another space is no match for an import into this one.
  dest.add("Environments", "Environments-3", "Dev", "", source_space);

  auto p = plan_ok(package(), package_tasks, {}, dest, into(space));
  INFO(all_problems(p));
  REQUIRE(p.problems.empty());
  CHECK(p.left_out_resolved == 0);

  const std::vector<std::pair<std::string, std::string>> expected_ids = {
      {"Environments-1", "Environments-11"},
      {"Environments-2", "Environments-12"},
      {"ProjectGroups-1", "ProjectGroups-21"},
      {"Lifecycles-1", "Lifecycles-31"},
      {"LibraryVariableSets-1", "LibraryVariableSets-41"},
      {"Projects-1", "Projects-51"},
      {"Tenants-1", "Tenants-61"},
      {"Certificates-1", "Certificates-71"},
      {"Channels-1", "Channels-81"},
      {"Channels-2", "Channels-82"},
      {"deploymentprocess-Projects-1", "deploymentprocess-Projects-51"},
      {"variableset-LibraryVariableSets-1", "variableset-LibraryVariableSets-41"},
      {"variableset-Projects-1", "variableset-Projects-51"},
      {"Releases-1", "Releases-91"},
      {"Releases-2", "Releases-92"},
      {"Deployments-1", "Deployments-101"},
      {"Deployments-2", "Deployments-102"}};
  // In package order, every one created under its new id, with Id and SpaceId set and no Links.
  REQUIRE(p.documents.size() == expected_ids.size());
  for (std::size_t i = 0; i < expected_ids.size(); ++i) {
    const auto& d = p.documents[i];
    INFO(d.collection << " " << d.source_id);
    CHECK(d.source_id == expected_ids[i].first);
    CHECK(d.id == expected_ids[i].second);
    CHECK(d.action == mig::import_action::create);
    CHECK(d.reason == "new");
    CHECK(text(d.body, "/Id") == d.id);
    CHECK(text(d.body, "/SpaceId") == space);
    CHECK_FALSE(d.body.contains("Links"));
  }
  CHECK(planned(p, "Projects", "Projects-1").name == "Web");
  CHECK(planned(p, "Releases", "Releases-2").name == "1.1.0");

  // Plain references.
  const auto& project = planned(p, "Projects", "Projects-1").body;
  CHECK(text(project, "/ProjectGroupId") == "ProjectGroups-21");
  CHECK(text(project, "/LifecycleId") == "Lifecycles-31");
  CHECK(at(project, "/ClonedFromProjectId").is_null());
  CHECK(text(planned(p, "Channels", "Channels-2").body, "/LifecycleId") == "Lifecycles-31");
  CHECK(at(planned(p, "Channels", "Channels-1").body, "/LifecycleId").is_null());
  CHECK(text(planned(p, "Releases", "Releases-2").body, "/ChannelId") == "Channels-82");
  const auto& deployment = planned(p, "Deployments", "Deployments-2").body;
  CHECK(text(deployment, "/ProjectId") == "Projects-51");
  CHECK(text(deployment, "/EnvironmentId") == "Environments-12");
  CHECK(text(deployment, "/ChannelId") == "Channels-82");
  CHECK(text(deployment, "/TenantId") == "Tenants-61");
  CHECK(text(deployment, "/TaskId") == "ServerTasks-501");
  CHECK(text(planned(p, "Deployments", "Deployments-1").body, "/TaskId") == "ServerTasks-500");
  // Owners.
  CHECK(text(planned(p, "Channels", "Channels-1").body, "/ProjectId") == "Projects-51");
  CHECK(text(planned(p, "Releases", "Releases-1").body, "/ProjectId") == "Projects-51");
  CHECK(text(planned(p, "Deployments", "Deployments-1").body, "/ReleaseId") == "Releases-91");
  CHECK(text(planned(p, "Deployments", "Deployments-2").body, "/ReleaseId") == "Releases-92");
  CHECK(text(planned(p, "VariableSets", "variableset-Projects-1").body, "/OwnerId") ==
        "Projects-51");
  CHECK(text(planned(p, "VariableSets", "variableset-LibraryVariableSets-1").body, "/OwnerId") ==
        "LibraryVariableSets-41");
  CHECK(text(planned(p, "DeploymentProcesses", "deploymentprocess-Projects-1").body,
             "/ProjectId") == "Projects-51");

  // Array elements.
  CHECK(at(project, "/IncludedLibraryVariableSetIds") == ids({"LibraryVariableSets-41"}));
  CHECK(at(planned(p, "ProjectGroups", "ProjectGroups-1").body, "/EnvironmentIds") ==
        ids({"Environments-12"}));
  CHECK(at(planned(p, "Certificates", "Certificates-1").body, "/EnvironmentIds") ==
        ids({"Environments-12"}));

  // Nested arrays.
  const auto& lifecycle = planned(p, "Lifecycles", "Lifecycles-1").body;
  CHECK(at(lifecycle, "/Phases/0/OptionalDeploymentTargets") == ids({"Environments-11"}));
  CHECK(at(lifecycle, "/Phases/0/AutomaticDeploymentTargets") == json::value(json::array()));
  CHECK(at(lifecycle, "/Phases/1/OptionalDeploymentTargets") ==
        ids({"Environments-11", "Environments-12"}));
  CHECK(at(lifecycle, "/Phases/1/AutomaticDeploymentTargets") == ids({"Environments-12"}));
  CHECK(text(lifecycle, "/Phases/1/Id") == "phase-b");  // element ids are not documents' ids
  const auto& process = planned(p, "DeploymentProcesses", "deploymentprocess-Projects-1").body;
  CHECK(at(process, "/Steps/0/Actions/0/Environments") == ids({"Environments-12"}));
  CHECK(at(process, "/Steps/0/Actions/0/ExcludedEnvironments") == ids({"Environments-11"}));
  CHECK(at(process, "/Steps/0/Actions/0/Channels") == ids({"Channels-82"}));
  const auto& variables = planned(p, "VariableSets", "variableset-Projects-1").body;
  CHECK(at(variables, "/Variables/0/Scope/Environment") == ids({"Environments-11"}));
  CHECK(at(variables, "/Variables/1/Scope/Environment") == ids({"Environments-12"}));
  CHECK(at(variables, "/Variables/1/Scope/Channel") == ids({"Channels-82"}));
  CHECK(at(planned(p, "VariableSets", "variableset-LibraryVariableSets-1").body,
           "/Variables/0/Scope/Environment") == ids({"Environments-11"}));

  // Conditional: a Certificate variable's value is a reference, a String's is only text.
  CHECK(text(variables, "/Variables/2/Value") == "Certificates-71");
  CHECK(text(variables, "/Variables/3/Value") == "Certificates-1");
  CHECK(text(variables, "/Variables/0/Value") == "https://dev");

  // Object keys, and the ids in the values under them.
  CHECK(at(planned(p, "Tenants", "Tenants-1").body, "/ProjectEnvironments") ==
        json::value(json::object{{"Projects-51", ids({"Environments-11", "Environments-12"})}}));

  // The links to the documents an owner is born with follow the owner's new id.
  CHECK(text(project, "/VariableSetId") == "variableset-Projects-51");
  CHECK(text(project, "/DeploymentProcessId") == "deploymentprocess-Projects-51");
  CHECK(text(planned(p, "LibraryVariableSets", "LibraryVariableSets-1").body, "/VariableSetId") ==
        "variableset-LibraryVariableSets-41");

  // No source id (or the source space) is left anywhere, as a value or as a key, but for the
  // String variable whose text merely looks like one.
  std::set<std::string> source_ids{source_space, "ServerTasks-10", "ServerTasks-11"};
  for (const auto& [from, to] : expected_ids) source_ids.insert(from);
  for (const auto& d : p.documents) {
    std::vector<std::pair<std::string, std::string>> found;
    strings_of(json::value(d.body), "", found);
    for (const auto& [pointer, value] : found) {
      if (d.source_id == "variableset-Projects-1" && pointer == "/Variables/3/Value") continue;
      INFO(d.collection << " " << d.source_id << " at " << pointer);
      CHECK(source_ids.count(value) == 0);
    }
  }

  // Tasks: numbered from the first of the numbers set aside for the two.
  CHECK(dest.task_number_requests == std::vector<std::uint64_t>{2});
  REQUIRE(p.tasks.size() == 2);
  CHECK(p.tasks[0].source_id == "ServerTasks-10");
  CHECK(p.tasks[0].id == "ServerTasks-500");
  CHECK(p.tasks[0].action == mig::import_action::create);
  CHECK(p.tasks[0].reason == "recorded as ServerTasks-500");
  CHECK(p.tasks[1].source_id == "ServerTasks-11");
  CHECK(p.tasks[1].id == "ServerTasks-501");

  // Counters: the one read and the highest handed out, for these collections only (variable sets
  // and processes are named after their owner).
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> expected_counters = {
      {"Environments", {10, 12}},        {"ProjectGroups", {20, 21}}, {"Lifecycles", {30, 31}},
      {"LibraryVariableSets", {40, 41}}, {"Projects", {50, 51}},      {"Tenants", {60, 61}},
      {"Certificates", {70, 71}},        {"Channels", {80, 82}},      {"Releases", {90, 92}},
      {"Deployments", {100, 102}}};
  CHECK(p.counters == expected_counters);
}

namespace {

// A destination that has every named document of the package under other ids (and decoys that
// must not match: the same names under another owner), and neither the Hotfix channel, the 1.1.0
// release nor the deployments.
memory_destination destination_with_decoys() {
  memory_destination dest;
  dest.add("Environments", "Environments-7", "dev");  // names match case-insensitively
  dest.add("Environments", "Environments-3", "Prod");
  dest.add("Environments", "Environments-8", "Staging");
  dest.add("ProjectGroups", "ProjectGroups-4", "Web group");
  dest.add("Lifecycles", "Lifecycles-2", "Standard");
  dest.add("LibraryVariableSets", "LibraryVariableSets-5", "Shared");
  dest.add("VariableSets", "variableset-LibraryVariableSets-5");
  dest.add("Projects", "Projects-8", "Web");
  dest.add("VariableSets", "variableset-Projects-8");
  dest.add("DeploymentProcesses", "deploymentprocess-Projects-8");
  dest.add("Projects", "Projects-9", "Api");
  dest.add("Tenants", "Tenants-3", "Acme");
  dest.add("Certificates", "Certificates-6", "Site cert");
  dest.add("Channels", "Channels-15", "Default", "Projects-8");
  dest.add("Channels", "Channels-16", "Hotfix", "Projects-9");
  dest.add("Releases", "Releases-20", "1.0.0", "Projects-8");
  dest.add("Releases", "Releases-21", "1.1.0", "Projects-9");
  for (auto [c, n] : std::vector<std::pair<const char*, std::uint64_t>>{{"Environments", 9},
                                                                        {"ProjectGroups", 4},
                                                                        {"Lifecycles", 2},
                                                                        {"LibraryVariableSets", 5},
                                                                        {"Projects", 9},
                                                                        {"Tenants", 3},
                                                                        {"Certificates", 6},
                                                                        {"Channels", 30},
                                                                        {"Releases", 40},
                                                                        {"Deployments", 50}})
    dest.set_counter(c, n);
  dest.next_task_number = 70;
  return dest;
}

// Where each document of the package lands in destination_with_decoys(), and whether it was
// found there.
struct landing {
  std::string collection, source_id, id;
  bool matched;
};
const std::vector<landing> decoy_landings = {
    {"Environments", "Environments-1", "Environments-7", true},
    {"Environments", "Environments-2", "Environments-3", true},
    {"ProjectGroups", "ProjectGroups-1", "ProjectGroups-4", true},
    {"Lifecycles", "Lifecycles-1", "Lifecycles-2", true},
    {"LibraryVariableSets", "LibraryVariableSets-1", "LibraryVariableSets-5", true},
    {"Projects", "Projects-1", "Projects-8", true},
    {"Tenants", "Tenants-1", "Tenants-3", true},
    {"Certificates", "Certificates-1", "Certificates-6", true},
    {"Channels", "Channels-1", "Channels-15", true},
    {"Channels", "Channels-2", "Channels-31", false},
    {"DeploymentProcesses", "deploymentprocess-Projects-1", "deploymentprocess-Projects-8", true},
    {"VariableSets", "variableset-LibraryVariableSets-1", "variableset-LibraryVariableSets-5",
     true},
    {"VariableSets", "variableset-Projects-1", "variableset-Projects-8", true},
    {"Releases", "Releases-1", "Releases-20", true},
    {"Releases", "Releases-2", "Releases-41", false},
    {"Deployments", "Deployments-1", "Deployments-51", false},
    {"Deployments", "Deployments-2", "Deployments-52", false}};

}  // namespace

TEST_CASE("documents the destination has by name are skipped by default, with the reason",
          "[import_plan]") {
  auto dest = destination_with_decoys();
  auto p = plan_ok(package(), package_tasks, {}, dest, into(space));
  INFO(all_problems(p));
  REQUIRE(p.problems.empty());
  REQUIRE(p.documents.size() == decoy_landings.size());
  for (const auto& l : decoy_landings) {
    const auto& d = planned(p, l.collection, l.source_id);
    INFO(l.collection << " " << l.source_id << ": " << d.reason);
    CHECK(d.id == l.id);
    CHECK(d.action == (l.matched ? mig::import_action::skip : mig::import_action::create));
    if (l.matched) {
      CHECK(d.reason.find("(" + l.id + ")") != std::string::npos);
      CHECK(d.reason.find("it is kept") != std::string::npos);
    }
  }
  CHECK(planned(p, "Environments", "Environments-1").reason ==
        "the destination has one of that name (Environments-7); it is kept");
  CHECK(planned(p, "VariableSets", "variableset-Projects-1").reason ==
        "its owner Projects-8 has one (variableset-Projects-8); it is kept");

  // What is created lands under the destination's documents and names them.
  const auto& hotfix = planned(p, "Channels", "Channels-2").body;
  CHECK(text(hotfix, "/ProjectId") == "Projects-8");
  CHECK(text(hotfix, "/LifecycleId") == "Lifecycles-2");
  const auto& release = planned(p, "Releases", "Releases-2").body;
  CHECK(text(release, "/ProjectId") == "Projects-8");
  CHECK(text(release, "/ChannelId") == "Channels-31");
  const auto& first = planned(p, "Deployments", "Deployments-1").body;
  CHECK(text(first, "/ReleaseId") == "Releases-20");
  CHECK(text(first, "/EnvironmentId") == "Environments-7");
  CHECK(text(first, "/ChannelId") == "Channels-15");
  CHECK(text(first, "/TaskId") == "ServerTasks-70");
  const auto& second = planned(p, "Deployments", "Deployments-2").body;
  CHECK(text(second, "/ReleaseId") == "Releases-41");
  CHECK(text(second, "/ProjectId") == "Projects-8");
  CHECK(text(second, "/EnvironmentId") == "Environments-3");
  CHECK(text(second, "/ChannelId") == "Channels-31");
  CHECK(text(second, "/TenantId") == "Tenants-3");
  CHECK(text(second, "/TaskId") == "ServerTasks-71");

  // Only the collections something was created in had their counters read and advanced.
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> expected_counters = {
      {"Channels", {30, 31}}, {"Releases", {40, 41}}, {"Deployments", {50, 52}}};
  CHECK(p.counters == expected_counters);
}

TEST_CASE("OverwriteExisting replaces matched documents in place, keeping the destination's ids",
          "[import_plan]") {
  auto dest = destination_with_decoys();
  auto p = plan_ok(package(), package_tasks, {}, dest, into(space, true));
  INFO(all_problems(p));
  REQUIRE(p.problems.empty());
  for (const auto& l : decoy_landings) {
    const auto& d = planned(p, l.collection, l.source_id);
    INFO(l.collection << " " << l.source_id << ": " << d.reason);
    CHECK(d.id == l.id);
    CHECK(d.action == (l.matched ? mig::import_action::overwrite : mig::import_action::create));
    if (l.matched) CHECK(d.reason.find("OverwriteExisting") != std::string::npos);
    CHECK(text(d.body, "/Id") == l.id);
    CHECK(text(d.body, "/SpaceId") == space);
  }
  CHECK(planned(p, "Projects", "Projects-1").reason ==
        "the destination has one of that name (Projects-8); OverwriteExisting replaces it in "
        "place");

  // Every reference of an overwritten document names the destination's documents.
  const auto& project = planned(p, "Projects", "Projects-1").body;
  CHECK(text(project, "/Name") == "Web");
  CHECK(text(project, "/ProjectGroupId") == "ProjectGroups-4");
  CHECK(text(project, "/LifecycleId") == "Lifecycles-2");
  CHECK(at(project, "/IncludedLibraryVariableSetIds") == ids({"LibraryVariableSets-5"}));
  CHECK(text(project, "/VariableSetId") == "variableset-Projects-8");
  CHECK(text(project, "/DeploymentProcessId") == "deploymentprocess-Projects-8");
  CHECK_FALSE(project.contains("Links"));
  const auto& lifecycle = planned(p, "Lifecycles", "Lifecycles-1").body;
  CHECK(at(lifecycle, "/Phases/1/OptionalDeploymentTargets") ==
        ids({"Environments-7", "Environments-3"}));
  CHECK(at(lifecycle, "/Phases/1/AutomaticDeploymentTargets") == ids({"Environments-3"}));
  CHECK(at(planned(p, "Tenants", "Tenants-1").body, "/ProjectEnvironments") ==
        json::value(json::object{{"Projects-8", ids({"Environments-7", "Environments-3"})}}));
  const auto& variables = planned(p, "VariableSets", "variableset-Projects-1").body;
  CHECK(text(variables, "/OwnerId") == "Projects-8");
  CHECK(text(variables, "/Variables/2/Value") == "Certificates-6");
  CHECK(at(variables, "/Variables/1/Scope/Channel") == ids({"Channels-31"}));
  const auto& process = planned(p, "DeploymentProcesses", "deploymentprocess-Projects-1").body;
  CHECK(at(process, "/Steps/0/Actions/0/Channels") == ids({"Channels-31"}));
  CHECK(text(planned(p, "Channels", "Channels-1").body, "/ProjectId") == "Projects-8");
  CHECK(text(planned(p, "Releases", "Releases-1").body, "/ChannelId") == "Channels-15");
  CHECK(text(planned(p, "LibraryVariableSets", "LibraryVariableSets-1").body, "/VariableSetId") ==
        "variableset-LibraryVariableSets-5");

  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> expected_counters = {
      {"Channels", {30, 31}}, {"Releases", {40, 41}}, {"Deployments", {50, 52}}};
  CHECK(p.counters == expected_counters);
}

namespace {

// A project whose variables name a deployment target and a certificate that the export left out.
std::vector<mig::package_document> package_with_left_out() {
  return {
      doc("Environments", R"({"Id":"Environments-1","Name":"Dev"})"),
      doc("ProjectGroups", R"({"Id":"ProjectGroups-1","Name":"Web group"})"),
      doc("Lifecycles", R"({"Id":"Lifecycles-1","Name":"Standard","Phases":[]})"),
      doc("Projects", R"({"Id":"Projects-1","Name":"Web","ProjectGroupId":"ProjectGroups-1",
          "LifecycleId":"Lifecycles-1"})"),
      doc("VariableSets", R"({"Id":"variableset-Projects-1","OwnerId":"Projects-1","Variables":[
          {"Id":"v-host","Name":"Host","Value":"web","Scope":{"Machine":["Machines-3"],
           "Environment":["Environments-1"]}},
          {"Id":"v-cert","Name":"Cert","Type":"Certificate","Value":"Certificates-4"}]})"),
  };
}

const std::vector<mig::left_out_entry> left_out = {
    {"Machines", "Machines-3", "web-01", "IgnoreMachines"},
    {"Certificates", "Certificates-4", "Old cert", "IgnoreCertificates"}};

}  // namespace

TEST_CASE("references the export left out are found on the destination by name", "[import_plan]") {
  memory_destination dest;
  dest.add("Machines", "Machines-12", "WEB-01");
  dest.add("Certificates", "Certificates-2", "Other cert");
  // Only the destination space counts.
  dest.add("Certificates", "Certificates-5", "Old cert", "", source_space);

  SECTION("one the destination lacks is a problem naming the document, the id and the flag") {
    auto p = plan_ok(package_with_left_out(), {}, left_out, dest, into(space));
    REQUIRE(p.problems.size() == 1);
    const auto& problem = p.problems[0];
    INFO(problem);
    CHECK(problem.rfind("Error importing VariableSet variableset-Projects-1: missing dependency ",
                        0) == 0);
    CHECK(problem.find("Certificates-4") != std::string::npos);
    CHECK(problem.find("'Old cert'") != std::string::npos);
    CHECK(problem.find("/Variables/1/Value") != std::string::npos);
    CHECK(problem.find("IgnoreCertificates") != std::string::npos);
    // The machine was found all the same.
    CHECK(p.left_out_resolved == 1);
    CHECK(at(planned(p, "VariableSets", "variableset-Projects-1").body,
             "/Variables/0/Scope/Machine") == ids({"Machines-12"}));
  }
  SECTION("once the destination has both, both are rewritten to its ids") {
    dest.add("Certificates", "Certificates-9", "Old cert");
    auto p = plan_ok(package_with_left_out(), {}, left_out, dest, into(space));
    INFO(all_problems(p));
    CHECK(p.problems.empty());
    CHECK(p.left_out_resolved == 2);
    const auto& variables = planned(p, "VariableSets", "variableset-Projects-1").body;
    CHECK(at(variables, "/Variables/0/Scope/Machine") == ids({"Machines-12"}));
    CHECK(text(variables, "/Variables/1/Value") == "Certificates-9");
    // Nothing is allocated for what the destination already has.
    CHECK(p.counters.count("Machines") == 0);
    CHECK(p.counters.count("Certificates") == 0);
  }
}

TEST_CASE("a reference neither in the package nor left out is a missing dependency",
          "[import_plan]") {
  memory_destination dest;
  std::vector<mig::package_document> docs = {
      doc("Environments", R"({"Id":"Environments-1","Name":"Dev"})"),
      doc("ProjectGroups", R"({"Id":"ProjectGroups-1","Name":"Web group"})"),
      doc("Lifecycles", R"({"Id":"Lifecycles-1","Name":"Standard","Phases":[
          {"Id":"phase-a","OptionalDeploymentTargets":["Environments-1","Environments-42"]}]})"),
      doc("Projects", R"({"Id":"Projects-1","Name":"Web","ProjectGroupId":"ProjectGroups-1",
          "LifecycleId":"Lifecycles-99"})"),
      doc("Channels", R"({"Id":"Channels-5","Name":"Orphan","ProjectId":"Projects-77"})"),
      doc("Deployments", R"({"Id":"Deployments-3","ReleaseId":"Releases-8",
          "EnvironmentId":"Environments-1","ProjectId":"Projects-1"})"),
  };
  // A left-out entry for another id covers none of these.
  std::vector<mig::left_out_entry> lo = {{"Lifecycles", "Lifecycles-98", "Other", "NotExported"}};
  dest.add("Lifecycles", "Lifecycles-4", "Other");
  auto p = plan_ok(docs, {}, lo, dest, into(space));
  INFO(all_problems(p));
  auto has = [&](const std::string& start) {
    return std::any_of(p.problems.begin(), p.problems.end(),
                       [&](const std::string& s) { return s.rfind(start, 0) == 0; });
  };
  CHECK(
      has("Error importing Project 'Web' (Projects-1): missing dependency Lifecycles-99 (at "
          "/LifecycleId)"));
  CHECK(
      has("Error importing Lifecycle 'Standard' (Lifecycles-1): missing dependency "
          "Environments-42 (at /Phases/0/OptionalDeploymentTargets/1)"));
  // A document whose owner is nowhere is a problem too (and is not placed).
  CHECK(
      has("Error importing Channel 'Orphan' (Channels-5): missing dependency Projects-77 (its "
          "owner, at /ProjectId)"));
  CHECK(
      has("Error importing Deployment Deployments-3: missing dependency Releases-8 (its owner, "
          "at /ReleaseId)"));
  CHECK(p.problems.size() == 4);
  CHECK(std::none_of(p.documents.begin(), p.documents.end(),
                     [](const auto& d) { return d.collection == "Channels"; }));
}

TEST_CASE("history tasks get new consecutive numbers; those an earlier import recorded are skipped",
          "[import_plan]") {
  memory_destination dest;
  dest.next_task_number = 40;
  // ServerTasks-10 was recorded as ServerTasks-3 by an earlier import; ServerTasks-11 too, as
  // ServerTasks-4, which is gone now.
  dest.record_import("ServerTasks-10", "ServerTasks-3");
  dest.add_task("ServerTasks-3");
  dest.record_import("ServerTasks-11", "ServerTasks-4");

  std::vector<mig::package_document> docs = {
      doc("Environments", R"({"Id":"Environments-1","Name":"Dev"})"),
      doc("Projects", R"({"Id":"Projects-1","Name":"Web"})"),
      doc("Releases", R"({"Id":"Releases-1","Version":"1.0.0","ProjectId":"Projects-1"})"),
      doc("Deployments", R"({"Id":"Deployments-1","ReleaseId":"Releases-1",
          "EnvironmentId":"Environments-1","ProjectId":"Projects-1","TaskId":"ServerTasks-10"})"),
      doc("Deployments", R"({"Id":"Deployments-2","ReleaseId":"Releases-1",
          "EnvironmentId":"Environments-1","ProjectId":"Projects-1","TaskId":"ServerTasks-11"})"),
      doc("Deployments", R"({"Id":"Deployments-3","ReleaseId":"Releases-1",
          "EnvironmentId":"Environments-1","ProjectId":"Projects-1","TaskId":"ServerTasks-12"})"),
  };
  auto p =
      plan_ok(docs, {"ServerTasks-10", "ServerTasks-11", "ServerTasks-12"}, {}, dest, into(space));
  INFO(all_problems(p));
  REQUIRE(p.problems.empty());
  // Numbers are asked for once, for the tasks to record only.
  CHECK(dest.task_number_requests == std::vector<std::uint64_t>{2});
  REQUIRE(p.tasks.size() == 3);
  CHECK(p.tasks[0].source_id == "ServerTasks-10");
  CHECK(p.tasks[0].id == "ServerTasks-3");
  CHECK(p.tasks[0].action == mig::import_action::skip);
  CHECK(p.tasks[0].reason.find("ServerTasks-3") != std::string::npos);
  CHECK(p.tasks[1].id == "ServerTasks-40");
  CHECK(p.tasks[1].action == mig::import_action::create);
  CHECK(p.tasks[2].id == "ServerTasks-41");
  CHECK(p.tasks[2].action == mig::import_action::create);
  CHECK(text(planned(p, "Deployments", "Deployments-1").body, "/TaskId") == "ServerTasks-3");
  CHECK(text(planned(p, "Deployments", "Deployments-2").body, "/TaskId") == "ServerTasks-40");
  CHECK(text(planned(p, "Deployments", "Deployments-3").body, "/TaskId") == "ServerTasks-41");
  CHECK(p.counters.count("ServerTasks") == 0);

  SECTION("when every task was recorded before, no numbers are set aside") {
    dest.task_number_requests.clear();
    auto again = plan_ok({}, {"ServerTasks-10"}, {}, dest, into(space));
    CHECK(dest.task_number_requests.empty());
    REQUIRE(again.tasks.size() == 1);
    CHECK(again.tasks[0].action == mig::import_action::skip);
  }
}

TEST_CASE("a deployment an earlier import made is matched by its provenance", "[import_plan]") {
  memory_destination dest;
  dest.add("Environments", "Environments-2", "Dev");
  dest.add("Projects", "Projects-4", "Web");
  dest.add("Releases", "Releases-6", "1.0.0", "Projects-4");
  dest.add("Deployments", "Deployments-9");
  dest.record_import("Deployments-1", "Deployments-9");
  // An earlier import made Deployments-2 into Deployments-10, since deleted: created again.
  dest.record_import("Deployments-2", "Deployments-10");
  dest.set_counter("Deployments", 12);
  std::vector<mig::package_document> docs = {
      doc("Environments", R"({"Id":"Environments-1","Name":"Dev"})"),
      doc("Projects", R"({"Id":"Projects-1","Name":"Web"})"),
      doc("Releases", R"({"Id":"Releases-1","Version":"1.0.0","ProjectId":"Projects-1"})"),
      doc("Deployments", R"({"Id":"Deployments-1","ReleaseId":"Releases-1",
          "EnvironmentId":"Environments-1","ProjectId":"Projects-1"})"),
      doc("Deployments", R"({"Id":"Deployments-2","ReleaseId":"Releases-1",
          "EnvironmentId":"Environments-1","ProjectId":"Projects-1"})"),
  };
  auto p = plan_ok(docs, {}, {}, dest, into(space));
  INFO(all_problems(p));
  REQUIRE(p.problems.empty());
  const auto& kept = planned(p, "Deployments", "Deployments-1");
  CHECK(kept.id == "Deployments-9");
  CHECK(kept.action == mig::import_action::skip);
  CHECK(kept.reason == "an earlier import of this source made it (Deployments-9); it is kept");
  const auto& made = planned(p, "Deployments", "Deployments-2");
  CHECK(made.id == "Deployments-13");
  CHECK(made.action == mig::import_action::create);
  CHECK(text(made.body, "/ReleaseId") == "Releases-6");
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> expected_counters = {
      {"Deployments", {12, 13}}};
  CHECK(p.counters == expected_counters);
}

TEST_CASE("a plan that allocates nothing names no counter", "[import_plan]") {
  auto dest = destination_with_decoys();
  dest.add("Channels", "Channels-17", "Hotfix", "Projects-8");
  auto docs = package();
  // Only what the destination has by name or by owner.
  docs.erase(std::remove_if(docs.begin(), docs.end(),
                            [](const auto& d) {
                              return d.id == "Releases-2" || d.collection == "Deployments";
                            }),
             docs.end());
  auto p = plan_ok(docs, {}, {}, dest, into(space, true));
  INFO(all_problems(p));
  CHECK(p.problems.empty());
  CHECK(p.counters.empty());
  CHECK(dest.task_number_requests.empty());
  CHECK(std::all_of(p.documents.begin(), p.documents.end(),
                    [](const auto& d) { return d.action == mig::import_action::overwrite; }));
}

TEST_CASE("a plan stops between documents when asked to", "[import_plan]") {
  memory_destination dest;
  int asked = 0;
  auto stop_at_third = [&asked] { return ++asked >= 3; };
  auto r = mig::plan_import(package(), package_tasks, {}, dest, into(space), stop_at_third);
  REQUIRE_FALSE(r);
  CHECK(r.err().code == errc::unavailable);
  CHECK(r.err().message == "stopped");
  CHECK(asked == 3);

  auto never = [] { return false; };
  CHECK(mig::plan_import(package(), package_tasks, {}, dest, into(space), never));
}

TEST_CASE("a document of a collection this server cannot import is a problem, not a crash",
          "[import_plan]") {
  memory_destination dest;
  std::vector<mig::package_document> docs = {
      doc("Environments", R"({"Id":"Environments-1","Name":"Dev"})"),
      doc("Teams", R"({"Id":"Teams-1","Name":"Ops","EnvironmentIds":["Environments-1"]})"),
      // Tasks travel as task history, never as documents.
      doc("ServerTasks", R"({"Id":"ServerTasks-3","Name":"Deploy"})"),
      doc("", R"({"Id":"Nothing-1"})"),
  };
  auto p = plan_ok(docs, {}, {}, dest, into(space));
  INFO(all_problems(p));
  REQUIRE(p.problems.size() == 3);
  CHECK(p.problems[0] == "The package holds Teams Teams-1, which this server cannot import.");
  CHECK(p.problems[1].find("ServerTasks-3") != std::string::npos);
  CHECK(p.problems[2].find("Nothing-1") != std::string::npos);
  REQUIRE(p.documents.size() == 1);
  CHECK(p.documents[0].id == "Environments-1");
}

// Two projects renumbered along a chain (Projects-1 -> Projects-2, Projects-2 -> Projects-3), as
// happens on the first import into a destination that has one project already: a tenant keyed by
// both must keep both connections under the new keys.
TEST_CASE("ids used as object keys are renamed without one rename overwriting another",
          "[import_plan]") {
  memory_destination dest;
  dest.set_counter("Environments", 2);
  dest.set_counter("Projects", 1);
  dest.set_counter("Tenants", 0);
  std::vector<mig::package_document> docs = {
      doc("Environments", R"({"Id":"Environments-1","Name":"Dev"})"),
      doc("Environments", R"({"Id":"Environments-2","Name":"Prod"})"),
      doc("Projects", R"({"Id":"Projects-1","Name":"Web"})"),
      doc("Projects", R"({"Id":"Projects-2","Name":"Api"})"),
      doc("Tenants", R"({"Id":"Tenants-1","Name":"Acme","ProjectEnvironments":{
          "Projects-1":["Environments-1"],"Projects-2":["Environments-2"]}})"),
  };
  auto p = plan_ok(docs, {}, {}, dest, into(space));
  INFO(all_problems(p));
  REQUIRE(p.problems.empty());
  CHECK(planned(p, "Projects", "Projects-1").id == "Projects-2");
  CHECK(planned(p, "Projects", "Projects-2").id == "Projects-3");
  const auto& tenant = planned(p, "Tenants", "Tenants-1").body;
  INFO(json::serialize(tenant));
  CHECK(at(tenant, "/ProjectEnvironments") ==
        json::value(json::object{{"Projects-2", ids({"Environments-3"})},
                                 {"Projects-3", ids({"Environments-4"})}}));
}

// The plan's contract (import_plan.hpp): a skipped document's body is empty. A skipped document is
// not rewritten, so a body left in place would be the package's, with source ids and any secret
// the package opened.
TEST_CASE("a skipped document carries no body in the plan", "[import_plan]") {
  auto dest = destination_with_decoys();
  auto p = plan_ok(package(), package_tasks, {}, dest, into(space));
  INFO(all_problems(p));
  REQUIRE(p.problems.empty());
  for (const auto& d : p.documents) {
    if (d.action != mig::import_action::skip) continue;
    INFO(d.collection << " " << d.source_id << ": " << json::serialize(d.body));
    CHECK(d.body.empty());
  }
}

TEST_CASE("a tenant's connection to a project the export did not include is dropped, not fatal",
          "[import_plan]") {
  memory_destination dest;
  dest.set_counter("Projects", 10);
  std::vector<mig::package_document> docs = {
      doc("Environments", R"({"Id":"Environments-1","Name":"Dev"})"),
      doc("Projects", R"({"Id":"Projects-1","Name":"Web","ClonedFromProjectId":null})"),
      doc("Tenants", R"({"Id":"Tenants-1","Name":"Acme","ProjectEnvironments":{
          "Projects-1":["Environments-1"],"Projects-5":["Environments-1"]}})"),
  };
  const std::vector<mig::left_out_entry> not_exported = {
      {"Projects", "Projects-5", "Other", "NotExported"}};

  SECTION("the destination lacks the project: the connection goes, and the plan says so") {
    auto p = plan_ok(docs, {}, not_exported, dest, into(space));
    INFO(all_problems(p));
    CHECK(p.problems.empty());
    CHECK(at(planned(p, "Tenants", "Tenants-1").body, "/ProjectEnvironments") ==
          json::value(json::object{{"Projects-11", ids({"Environments-1"})}}));
    REQUIRE(p.dropped.size() == 1);
    CHECK(p.dropped[0].find("Tenant 'Acme' (Tenants-1)") != std::string::npos);
    CHECK(p.dropped[0].find("'Other' (Projects-5)") != std::string::npos);
    CHECK(p.left_out_resolved == 0);
  }
  SECTION("the destination has the project by name: the connection is kept under its id") {
    dest.add("Projects", "Projects-30", "Other");
    auto p = plan_ok(docs, {}, not_exported, dest, into(space));
    INFO(all_problems(p));
    CHECK(p.problems.empty());
    CHECK(p.dropped.empty());
    CHECK(p.left_out_resolved == 1);
    CHECK(at(planned(p, "Tenants", "Tenants-1").body, "/ProjectEnvironments") ==
          json::value(json::object{{"Projects-11", ids({"Environments-1"})},
                                   {"Projects-30", ids({"Environments-1"})}}));
  }
  SECTION("the same project named by a value, not a key, is still a missing dependency") {
    docs[1].body["ClonedFromProjectId"] = "Projects-5";
    auto p = plan_ok(docs, {}, not_exported, dest, into(space));
    REQUIRE(p.problems.size() == 1);
    CHECK(p.problems[0].rfind("Error importing Project 'Web' (Projects-1): missing dependency "
                              "Project 'Other' (Projects-5, at /ClonedFromProjectId)",
                              0) == 0);
    CHECK(p.dropped.size() == 1);  // the tenant's connection still goes
  }
}
