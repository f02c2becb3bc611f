// Tests of storage/documents against RocksDB in a temporary directory: ids and counters, the name
// index, references and deletion rules, side documents, and sealed sensitive values.
#include "storage/documents.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "tests/support/must.hpp"
#include "tests/support/store_helpers.hpp"
#include "tests/support/temp_dir.hpp"

namespace json = boost::json;
using octomig::errc;
using octomig::storage::documents;

namespace {

const std::string space = "Spaces-1";
const std::string master(32, '\x42');

json::object obj(const char* text) {
  return json::parse(text).as_object();
}

json::object ok(octomig::result<json::object> r) {
  if (!r) FAIL(r.err().message);
  return std::move(r.value());
}

std::string str(const json::object& o, const char* f) {
  return std::string(o.at(f).as_string());
}

struct fixture {
  octomig::testing::temp_dir dir{"octomig-documents"};
  std::unique_ptr<octomig::storage::store> st = octomig::testing::open_store(dir / "db");
  documents docs{*st, master};

  std::string project_group() {
    return str(ok(docs.create(space, "ProjectGroups", obj(R"({"Name":"PG"})"))), "Id");
  }
  std::string lifecycle() {
    return str(ok(docs.create(space, "Lifecycles", obj(R"({"Name":"LC"})"))), "Id");
  }
  json::object project(const std::string& name) {
    json::object b{{"Name", name}, {"ProjectGroupId", pg}, {"LifecycleId", lc}};
    return ok(docs.create(space, "Projects", b));
  }
  // A finished history task of a space, recorded as seed and import record them.
  void record_task(const std::string& id, const std::string& space_id) {
    octomig::events::task_recorded fact;
    fact.name = "Deploy";
    fact.description = "a recorded deployment";
    fact.space_id = space_id;
    fact.arguments_json = "{}";
    fact.final_state = octomig::events::task_status::success;
    fact.queue_time = 1;
    fact.start_time = 2;
    fact.completed_time = 3;
    fact.has_warnings_or_errors = false;
    octomig::testing::append_ok(*st, octomig::testing::request(id, 0, {fact}));
  }

  std::string pg = project_group();
  std::string lc = lifecycle();
};

}  // namespace

TEST_CASE("created documents get consecutive ids from their collection's counter", "[documents]") {
  fixture f;
  auto a = ok(f.docs.create(space, "Environments", obj(R"({"Name":"Dev"})")));
  auto b =
      ok(f.docs.create(space, "Environments", obj(R"({"Name":"Test","Id":"Environments-99"})")));
  CHECK(str(a, "Id") == "Environments-1");
  CHECK(str(b, "Id") == "Environments-2");
  CHECK(str(a, "SpaceId") == "Spaces-1");
  CHECK(a.at("UseGuidedFailure").as_bool() == false);
  CHECK(str(a, "Slug") == "dev");
  CHECK(octomig::testing::must(f.st->meta("counter/Environments")).has_value());
}

TEST_CASE("names are unique within their scope, case-insensitively", "[documents]") {
  fixture f;
  ok(f.docs.create(space, "Environments", obj(R"({"Name":"Dev"})")));
  auto dup = f.docs.create(space, "Environments", obj(R"({"Name":"dev"})"));
  REQUIRE_FALSE(dup);
  CHECK(dup.err().code == errc::invalid_argument);
  CHECK(dup.err().message.find("already exists") != std::string::npos);
  // A refused write allocates nothing.
  CHECK(str(ok(f.docs.create(space, "Environments", obj(R"({"Name":"Prod"})"))), "Id") ==
        "Environments-2");
  // The same name in another space is another document.
  CHECK(f.docs.create("Spaces-2", "Environments", obj(R"({"Name":"Dev"})")));
}

TEST_CASE("a renamed document frees its old name and takes the new one", "[documents]") {
  fixture f;
  auto e = ok(f.docs.create(space, "Environments", obj(R"({"Name":"Dev"})")));
  e["Name"] = "Development";
  ok(f.docs.replace(space, "Environments", "Environments-1", e));
  CHECK(f.docs.find_by_name(space, "Environments", "", "development"));
  CHECK_FALSE(f.docs.find_by_name(space, "Environments", "", "Dev"));
  CHECK(f.docs.create(space, "Environments", obj(R"({"Name":"Dev"})")));
}

TEST_CASE("channel names are unique per project, not per space", "[documents]") {
  fixture f;
  auto p1 = f.project("One");
  auto p2 = f.project("Two");
  // Both projects already have a channel named Default.
  json::object c{{"Name", "Default"}, {"ProjectId", str(p1, "Id")}};
  CHECK_FALSE(f.docs.create(space, "Channels", c));
  c["Name"] = "Hotfix";
  CHECK(f.docs.create(space, "Channels", c));
  c["ProjectId"] = str(p2, "Id");
  CHECK(f.docs.create(space, "Channels", c));
}

TEST_CASE("creating a project creates its variable set, process and default channel",
          "[documents]") {
  fixture f;
  auto p = f.project("Web");
  CHECK(str(p, "Id") == "Projects-1");
  CHECK(str(p, "VariableSetId") == "variableset-Projects-1");
  CHECK(str(p, "DeploymentProcessId") == "deploymentprocess-Projects-1");
  CHECK(str(p, "Slug") == "web");
  auto vs = ok(f.docs.get(space, "VariableSets", "variableset-Projects-1"));
  CHECK(str(vs, "OwnerId") == "Projects-1");
  auto dp = ok(f.docs.get(space, "DeploymentProcesses", "deploymentprocess-Projects-1"));
  CHECK(str(dp, "ProjectId") == "Projects-1");
  octomig::storage::document_query q;
  q.owner_id = "Projects-1";
  auto channels = f.docs.list(space, "Channels", q);
  REQUIRE(channels);
  REQUIRE(channels->size() == 1);
  CHECK(str((*channels)[0], "Name") == "Default");
  CHECK((*channels)[0].at("IsDefault").as_bool());
  CHECK(str(ok(f.docs.find_by_slug(space, "Projects", "web")), "Id") == "Projects-1");
}

TEST_CASE("a project is found by its slug, made from its name or set by hand", "[documents]") {
  fixture f;
  f.project("Web Portal");  // Projects-1, slug web-portal
  ok(f.docs.create(space, "Projects",
                   json::object{{"Name", "Web"},
                                {"Slug", "portal"},
                                {"ProjectGroupId", f.pg},
                                {"LifecycleId", f.lc}}));  // Projects-2
  ok(f.docs.create(space, "Projects",
                   json::object{{"Name", "Api"},
                                {"Slug", "web"},
                                {"ProjectGroupId", f.pg},
                                {"LifecycleId", f.lc}}));  // Projects-3
  CHECK(str(ok(f.docs.find_by_slug(space, "Projects", "web-portal")), "Id") == "Projects-1");
  CHECK(str(ok(f.docs.find_by_slug(space, "Projects", "portal")), "Id") == "Projects-2");
  // "web" is what Projects-2's name would give, but Projects-3 holds it.
  CHECK(str(ok(f.docs.find_by_slug(space, "Projects", "web")), "Id") == "Projects-3");
  CHECK(f.docs.find_by_slug(space, "Projects", "api").err().code == octomig::errc::not_found);
}

TEST_CASE("every reference must exist", "[documents]") {
  fixture f;
  json::object b{{"Name", "P"}, {"ProjectGroupId", "ProjectGroups-77"}, {"LifecycleId", f.lc}};
  auto r = f.docs.create(space, "Projects", b);
  REQUIRE_FALSE(r);
  CHECK(r.err().message.find("ProjectGroups-77") != std::string::npos);
  CHECK_FALSE(f.docs.get(space, "Projects", "Projects-1"));
  // The project's side documents were not written either.
  CHECK_FALSE(f.docs.get(space, "VariableSets", "variableset-Projects-1"));
  auto lc = f.docs.create(
      space, "Lifecycles",
      obj(R"({"Name":"L2","Phases":[{"Name":"p","OptionalDeploymentTargets":["Environments-4"]}]})"));
  REQUIRE_FALSE(lc);
  CHECK(lc.err().message.find("/Phases/0/OptionalDeploymentTargets/0") != std::string::npos);
}

TEST_CASE("a referenced document cannot be deleted and the error names the referrer",
          "[documents]") {
  fixture f;
  f.project("Web");
  auto r = f.docs.remove(space, "Lifecycles", f.lc);
  REQUIRE_FALSE(r);
  CHECK(r.err().code == errc::invalid_argument);
  CHECK(r.err().message.find("Project 'Web' (Projects-1)") != std::string::npos);
  CHECK(f.docs.get(space, "Lifecycles", f.lc));
}

TEST_CASE("deleting a project deletes what it owns", "[documents]") {
  fixture f;
  f.project("Web");
  ok(f.docs.create(space, "Releases", obj(R"({"Version":"1.0.0","ProjectId":"Projects-1"})")));
  ok(f.docs.remove(space, "Projects", "Projects-1"));
  CHECK_FALSE(f.docs.get(space, "VariableSets", "variableset-Projects-1"));
  CHECK_FALSE(f.docs.get(space, "DeploymentProcesses", "deploymentprocess-Projects-1"));
  CHECK(f.docs.list(space, "Channels", {})->empty());
  CHECK(f.docs.list(space, "Releases", {})->empty());
  // Its name is free again, and the lifecycle is no longer used.
  CHECK(f.docs.create(
      space, "Projects",
      json::object{{"Name", "Web"}, {"ProjectGroupId", f.pg}, {"LifecycleId", f.lc}}));
  CHECK(str(ok(f.docs.get(space, "Projects", "Projects-2")), "Name") == "Web");
}

TEST_CASE("a side document is deleted only with its owner", "[documents]") {
  fixture f;
  f.project("Web");
  auto r = f.docs.remove(space, "VariableSets", "variableset-Projects-1");
  REQUIRE_FALSE(r);
  CHECK(r.err().message.find("deleted with it") != std::string::npos);
}

TEST_CASE("lists filter by ids, partial name and name, in id order", "[documents]") {
  fixture f;
  for (int i = 1; i <= 11; ++i)
    ok(f.docs.create(space, "Environments", json::object{{"Name", "Env " + std::to_string(i)}}));
  auto all = f.docs.list(space, "Environments", {});
  REQUIRE(all->size() == 11);
  CHECK(str((*all)[1], "Id") == "Environments-2");
  CHECK(str((*all)[10], "Id") == "Environments-11");
  octomig::storage::document_query q;
  q.partial_name = "ENV 1";
  CHECK(f.docs.list(space, "Environments", q)->size() == 3);  // 1, 10, 11
  q = {};
  q.name = "env 1";
  CHECK(f.docs.list(space, "Environments", q)->size() == 1);
  q = {};
  q.ids = {"Environments-3", "Environments-5"};
  CHECK(f.docs.list(space, "Environments", q)->size() == 2);
}

TEST_CASE("a page holds the documents at skip..skip+take in id order and counts every match",
          "[documents]") {
  fixture f;
  for (int i = 1; i <= 12; ++i)
    ok(f.docs.create(space, "Environments", json::object{{"Name", "Env " + std::to_string(i)}}));
  auto ids = [](const octomig::storage::document_page& p) {
    std::vector<std::string> out;
    for (const auto& d : p.items) out.push_back(str(d, "Id"));
    return out;
  };
  auto page = f.docs.page(space, "Environments", {}, 8, 3);
  REQUIRE(page);
  CHECK(page->total == 12);
  CHECK(ids(*page) ==
        std::vector<std::string>{"Environments-9", "Environments-10", "Environments-11"});
  CHECK(page->items[0].at("Name").as_string() == "Env 9");
  octomig::storage::document_query q;
  q.ids = {"Environments-12", "Environments-2", "Environments-40"};
  page = f.docs.page(space, "Environments", q, 1, 5);
  REQUIRE(page);
  CHECK(page->total == 2);
  CHECK(ids(*page) == std::vector<std::string>{"Environments-12"});
  q = {};
  q.partial_name = "env 1";  // 1, 10, 11, 12
  page = f.docs.page(space, "Environments", q, 1, 2);
  REQUIRE(page);
  CHECK(page->total == 4);
  CHECK(ids(*page) == std::vector<std::string>{"Environments-10", "Environments-11"});
  CHECK(f.docs.page(space, "Environments", {}, 20, 5)->items.empty());
}

TEST_CASE("owner and name filters of a page are answered from the indexes", "[documents]") {
  fixture f;
  f.project("Web");  // Projects-1, with its default channel Channels-1
  f.project("Api");  // Projects-2, Channels-2
  for (int i = 0; i < 11; ++i)
    ok(f.docs.create(space, "Channels",
                     json::object{{"Name", "Hotfix " + std::to_string(i)},
                                  {"ProjectId", i % 2 ? "Projects-2" : "Projects-1"}}));
  auto ids = [](const octomig::storage::document_page& p) {
    std::vector<std::string> out;
    for (const auto& d : p.items) out.push_back(str(d, "Id"));
    return out;
  };
  octomig::storage::document_query q;
  SECTION("an owner's documents, in id order (Channels-11 after Channels-3)") {
    q.owner_id = "Projects-1";
    auto page = f.docs.page(space, "Channels", q, 1, 4);
    REQUIRE(page);
    CHECK(page->total == 7);  // the default channel and hotfixes 0, 2, 4, 6, 8, 10
    CHECK(ids(*page) ==
          std::vector<std::string>{"Channels-3", "Channels-5", "Channels-7", "Channels-9"});
    SECTION("with a name filter too") {
      q.partial_name = "HOTFIX 1";  // hotfix 10 is Projects-1's, 1 is Projects-2's
      page = f.docs.page(space, "Channels", q, 0, 10);
      REQUIRE(page);
      CHECK(ids(*page) == std::vector<std::string>{"Channels-13"});
    }
  }
  SECTION("a name filter without an owner spans every owner (names unique per project)") {
    q.partial_name = "hotfix 1";  // 1 and 10
    auto page = f.docs.page(space, "Channels", q, 0, 10);
    REQUIRE(page);
    CHECK(ids(*page) == std::vector<std::string>{"Channels-4", "Channels-13"});
    q = {};
    q.name = "DEFAULT";
    CHECK(f.docs.page(space, "Channels", q, 0, 10)->total == 2);
  }
  SECTION("a removed document leaves every list") {
    ok(f.docs.remove(space, "Channels", "Channels-3"));
    q.owner_id = "Projects-1";
    CHECK(f.docs.page(space, "Channels", q, 0, 20)->total == 6);
    q = {};
    q.partial_name = "hotfix 0";
    CHECK(f.docs.page(space, "Channels", q, 0, 20)->total == 0);
  }
}

TEST_CASE("sensitive values are sealed at rest and never read back in plaintext", "[documents]") {
  fixture f;
  const std::string secret = "hunter2-plaintext-secret";
  json::object acc{{"Name", "Creds"},
                   {"AccountType", "UsernamePassword"},
                   {"Username", "u"},
                   {"Password", json::object{{"HasValue", true}, {"NewValue", secret}}}};
  auto a = ok(f.docs.create(space, "Accounts", acc));
  CHECK(json::serialize(a).find(secret) == std::string::npos);
  CHECK(a.at("Password") == json::value(json::object{{"HasValue", true}, {"NewValue", nullptr}}));
  CHECK(json::serialize(ok(f.docs.get(space, "Accounts", "Accounts-1"))).find(secret) ==
        std::string::npos);
  auto revealed = ok(f.docs.get_revealed(space, "Accounts", "Accounts-1"));
  CHECK(revealed.at("Password").at("NewValue").as_string() == secret);

  // PUT with HasValue:true and no NewValue keeps the secret; a NewValue replaces it.
  a["Username"] = "renamed";
  ok(f.docs.replace(space, "Accounts", "Accounts-1", a));
  CHECK(ok(f.docs.get_revealed(space, "Accounts", "Accounts-1"))
            .at("Password")
            .at("NewValue")
            .as_string() == secret);
  a["Password"] = json::object{{"HasValue", true}, {"NewValue", "second"}};
  ok(f.docs.replace(space, "Accounts", "Accounts-1", a));
  CHECK(ok(f.docs.get_revealed(space, "Accounts", "Accounts-1"))
            .at("Password")
            .at("NewValue")
            .as_string() == "second");

  // A sensitive variable reads back as null, and keeps its value when PUT with null, even when
  // the variables are reordered.
  auto p = f.project("Web");
  auto vs = ok(f.docs.get(space, "VariableSets", "variableset-Projects-1"));
  vs["Variables"] = json::array{
      json::object{{"Name", "Open"}, {"Value", "visible"}},
      json::object{
          {"Name", "Key"}, {"Value", secret}, {"IsSensitive", true}, {"Type", "Sensitive"}}};
  auto written = ok(f.docs.replace(space, "VariableSets", "variableset-Projects-1", vs));
  CHECK(written.at("Variables").at(1).at("Value").is_null());
  CHECK(written.at("Variables").at(0).at("Value").as_string() == "visible");
  auto vars = written.at("Variables").as_array();
  std::swap(vars[0], vars[1]);
  written["Variables"] = vars;
  ok(f.docs.replace(space, "VariableSets", "variableset-Projects-1", written));
  auto opened = ok(f.docs.get_revealed(space, "VariableSets", "variableset-Projects-1"));
  CHECK(opened.at("Variables").at(0).at("Value").as_string() == secret);

  // Nothing RocksDB wrote holds the plaintext.
  f.st.reset();
  CHECK(octomig::testing::all_file_bytes(f.dir.path()).find(secret) == std::string::npos);
}

TEST_CASE("a certificate needs its data", "[documents]") {
  fixture f;
  auto r =
      f.docs.create(space, "Certificates",
                    obj(R"({"Name":"C","CertificateData":{"HasValue":false,"NewValue":null}})"));
  REQUIRE_FALSE(r);
  CHECK(r.err().message.find("CertificateData") != std::string::npos);
  CHECK(f.docs.create(space, "Certificates", obj(R"({"Name":"C","CertificateData":"MIIBase64"})")));
}

TEST_CASE("a deployment's task must be a recorded history task of its space", "[documents]") {
  fixture f;
  f.project("Web");
  ok(f.docs.create(space, "Environments", obj(R"({"Name":"Dev"})")));
  ok(f.docs.create(space, "Releases", obj(R"({"Version":"1.0.0","ProjectId":"Projects-1"})")));
  json::object d{{"ReleaseId", "Releases-1"},
                 {"EnvironmentId", "Environments-1"},
                 {"ProjectId", "Projects-1"},
                 {"TaskId", "ServerTasks-40"}};
  auto missing = f.docs.create(space, "Deployments", d);
  REQUIRE_FALSE(missing);
  CHECK(missing.err().code == errc::invalid_argument);
  CHECK(missing.err().message.find("ServerTasks-40") != std::string::npos);
  CHECK(missing.err().message.find("does not exist") != std::string::npos);

  f.record_task("ServerTasks-40", space);
  f.record_task("ServerTasks-41", "Spaces-2");
  auto created = ok(f.docs.create(space, "Deployments", d));
  CHECK(str(created, "TaskId") == "ServerTasks-40");
  // A task of another space is not this space's history; a malformed id is no task at all.
  d["TaskId"] = "ServerTasks-41";
  CHECK_FALSE(f.docs.create(space, "Deployments", d));
  d["TaskId"] = "Tasks-40";
  CHECK_FALSE(f.docs.create(space, "Deployments", d));
  // A replace is checked the same way.
  created["TaskId"] = "ServerTasks-99";
  CHECK_FALSE(f.docs.replace(space, "Deployments", str(created, "Id"), created));
}

TEST_CASE("a document is deletable once its referrer drops the reference or is deleted",
          "[documents]") {
  fixture f;
  auto dev = str(ok(f.docs.create(space, "Environments", obj(R"({"Name":"Dev"})"))), "Id");
  json::object lc{
      {"Name", "Dev only"},
      {"Phases", json::array{json::object{{"Name", "Dev"},
                                          {"OptionalDeploymentTargets", json::array{dev}}}}}};
  auto written = ok(f.docs.create(space, "Lifecycles", lc));
  auto lc_id = str(written, "Id");
  json::object group{{"Name", "Dev group"}, {"EnvironmentIds", json::array{dev}}};
  auto group_id = str(ok(f.docs.create(space, "ProjectGroups", group)), "Id");

  auto refused = f.docs.remove(space, "Environments", dev);
  REQUIRE_FALSE(refused);
  CHECK(refused.err().code == errc::invalid_argument);
  CHECK(refused.err().message.find("Lifecycle 'Dev only' (" + lc_id + ")") != std::string::npos);
  CHECK(refused.err().message.find("/Phases/0/OptionalDeploymentTargets/0") != std::string::npos);
  CHECK(refused.err().message.find("ProjectGroup 'Dev group' (" + group_id + ")") !=
        std::string::npos);

  // The lifecycle drops the environment: only the project group still holds it.
  written["Phases"] = json::array{};
  ok(f.docs.replace(space, "Lifecycles", lc_id, written));
  refused = f.docs.remove(space, "Environments", dev);
  REQUIRE_FALSE(refused);
  CHECK(refused.err().message.find(lc_id) == std::string::npos);
  CHECK(refused.err().message.find(group_id) != std::string::npos);

  // The project group goes: nothing holds the environment any more.
  ok(f.docs.remove(space, "ProjectGroups", group_id));
  ok(f.docs.remove(space, "Environments", dev));
  CHECK_FALSE(f.docs.get(space, "Environments", dev));
}

TEST_CASE("a variable's value names a certificate or an account only when its type says so",
          "[documents]") {
  fixture f;
  f.project("Web");
  auto cert = str(ok(f.docs.create(space, "Certificates",
                                   obj(R"({"Name":"C","CertificateData":"MIIBase64"})"))),
                  "Id");
  auto acct =
      str(ok(f.docs.create(space, "Accounts",
                           obj(R"({"Name":"A","AccountType":"AmazonWebServicesAccount"})"))),
          "Id");
  const std::string vs_id = "variableset-Projects-1";
  auto vs = ok(f.docs.get(space, "VariableSets", vs_id));
  vs["Variables"] = json::array{
      json::object{{"Name", "Tls"}, {"Type", "Certificate"}, {"Value", cert}},
      json::object{{"Name", "Aws"}, {"Type", "AmazonWebServicesAccount"}, {"Value", acct}}};
  vs = ok(f.docs.replace(space, "VariableSets", vs_id, vs));

  auto cert_refused = f.docs.remove(space, "Certificates", cert);
  REQUIRE_FALSE(cert_refused);
  CHECK(cert_refused.err().message.find("VariableSet " + vs_id) != std::string::npos);
  CHECK(cert_refused.err().message.find("/Variables/0/Value") != std::string::npos);
  auto acct_refused = f.docs.remove(space, "Accounts", acct);
  REQUIRE_FALSE(acct_refused);
  CHECK(acct_refused.err().message.find("/Variables/1/Value") != std::string::npos);

  // The same text in a plain String variable names nothing.
  vs["Variables"].as_array()[0].as_object()["Type"] = "String";
  ok(f.docs.replace(space, "VariableSets", vs_id, vs));
  ok(f.docs.remove(space, "Certificates", cert));
  CHECK_FALSE(f.docs.remove(space, "Accounts", acct));
  // Deleting the project deletes its variable set, and with it the last use of the account.
  ok(f.docs.remove(space, "Projects", "Projects-1"));
  ok(f.docs.remove(space, "Accounts", acct));
}

TEST_CASE("deleting a project deletes its releases and their deployments", "[documents]") {
  fixture f;
  f.project("Web");
  f.project("Api");
  ok(f.docs.create(space, "Environments", obj(R"({"Name":"Dev"})")));
  for (const char* project : {"Projects-1", "Projects-2"})
    ok(f.docs.create(space, "Releases",
                     json::object{{"Version", "1.0.0"}, {"ProjectId", project}}));
  f.record_task("ServerTasks-1", space);
  f.record_task("ServerTasks-2", space);
  for (const char* r : {"Releases-1", "Releases-2"})
    ok(f.docs.create(
        space, "Deployments",
        json::object{
            {"ReleaseId", r},
            {"EnvironmentId", "Environments-1"},
            {"ProjectId", std::string(r) == "Releases-1" ? "Projects-1" : "Projects-2"},
            {"TaskId", std::string(r) == "Releases-1" ? "ServerTasks-1" : "ServerTasks-2"}}));
  // The environment is used by both deployments.
  CHECK_FALSE(f.docs.remove(space, "Environments", "Environments-1"));

  ok(f.docs.remove(space, "Projects", "Projects-1"));
  CHECK_FALSE(f.docs.get(space, "Releases", "Releases-1"));
  CHECK_FALSE(f.docs.get(space, "Deployments", "Deployments-1"));
  CHECK_FALSE(f.docs.get(space, "VariableSets", "variableset-Projects-1"));
  // The other project keeps everything it owns.
  CHECK(f.docs.get(space, "Releases", "Releases-2"));
  CHECK(f.docs.get(space, "Deployments", "Deployments-2"));
  CHECK(f.docs.get(space, "DeploymentProcesses", "deploymentprocess-Projects-2"));
  CHECK(f.docs.list(space, "Channels", {})->size() == 1);

  ok(f.docs.remove(space, "Projects", "Projects-2"));
  ok(f.docs.remove(space, "Environments", "Environments-1"));
  CHECK(f.docs.list(space, "Deployments", {})->empty());
}

TEST_CASE("the reference index follows every write and a rebuild reproduces it", "[documents]") {
  fixture f;
  auto check = [&] {
    auto rep = octomig::storage::verify_document_indexes(*f.st);
    REQUIRE(rep);
    INFO(octomig::testing::lines(rep->differences));
    CHECK(rep->differences.empty());
    return rep->documents;
  };
  check();
  auto p = f.project("Web");
  f.project("Api");
  auto dev = str(ok(f.docs.create(space, "Environments", obj(R"({"Name":"Dev"})"))), "Id");
  auto vs = ok(f.docs.get(space, "VariableSets", "variableset-Projects-1"));
  vs["Variables"] = json::array{json::object{
      {"Name", "Url"}, {"Value", "x"}, {"Scope", json::object{{"Environment", json::array{dev}}}}}};
  vs = ok(f.docs.replace(space, "VariableSets", "variableset-Projects-1", vs));
  p["ClonedFromProjectId"] = "Projects-2";
  ok(f.docs.replace(space, "Projects", "Projects-1", p));
  check();
  vs["Variables"] = json::array{};
  ok(f.docs.replace(space, "VariableSets", "variableset-Projects-1", vs));
  ok(f.docs.remove(space, "Projects", "Projects-1"));
  auto documents = check();
  CHECK(documents == 7);  // the group, the lifecycle, the environment, Api and its 3 side documents
  auto rebuilt = octomig::storage::rebuild_document_indexes(*f.st);
  REQUIRE(rebuilt);
  CHECK(*rebuilt == documents);
  check();
}

TEST_CASE("next_id names the id the next create hands out", "[documents]") {
  fixture f;
  CHECK(*f.docs.next_id("Deployments") == "Deployments-1");
  CHECK(*f.docs.next_id("Projects") == "Projects-1");
  f.project("Web");
  CHECK(*f.docs.next_id("Projects") == "Projects-2");
  CHECK(*f.docs.next_id("Channels") == "Channels-2");
  CHECK_FALSE(f.docs.next_id("VariableSets"));  // named after their owner
  CHECK_FALSE(f.docs.next_id("ServerTasks"));
}
