// Tests of an import's write (storage/documents stage_import and check_import, staged by
// store::append) against RocksDB in a temporary directory: the documents, their indexes, the
// counters, the provenance and the history tasks land in the append's one batch, or nothing does.
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "base/hex.hpp"
#include "events/codec.hpp"
#include "migration/schema.hpp"
#include "storage/documents.hpp"
#include "tests/support/must.hpp"
#include "tests/support/store_helpers.hpp"
#include "tests/support/temp_dir.hpp"

namespace json = boost::json;
namespace mig = octomig::migration;
using octomig::errc;
using octomig::events::task_status;
using octomig::storage::documents;
using octomig::storage::import_change;
using octomig::storage::import_document;
using octomig::testing::append_ok;
using octomig::testing::must;
using octomig::testing::request;

namespace {

const std::string space = "Spaces-1";
const std::string master(32, '\x5a');
const std::string installation = "3f8e1c62-source-installation";
const std::string import_task = "ServerTasks-3";   // the running MigrationImport
const std::string history_task = "ServerTasks-4";  // the deployment's task the import records

// Secrets as the import hands them over: in plaintext.
const std::string certificate_secret = "certificate-data-plaintext-91c2";
const std::string password_secret = "certificate-password-plaintext-5d7e";
const std::string variable_secret = "sensitive-variable-plaintext-a04b";

json::object obj(const char* text) {
  return json::parse(text).as_object();
}

json::object ok(octomig::result<json::object> r) {
  if (!r) FAIL(r.err().message);
  return std::move(r.value());
}

std::string str(const json::object& o, const char* f) {
  auto* v = o.if_contains(f);
  return v && v->is_string() ? std::string(v->get_string()) : "<absent>";
}

bool has_line(const std::vector<std::string>& lines, const std::string& needle) {
  for (const auto& l : lines)
    if (l.find(needle) != std::string::npos) return true;
  return false;
}

octomig::events::task_recorded recorded_deployment() {
  octomig::events::task_recorded r;
  r.name = "Deploy";
  r.description = "Deploy Web release 1.0.0 to Prod";
  r.space_id = space;
  r.arguments_json = R"({"DeploymentId":"Deployments-1"})";
  r.final_state = task_status::success;
  r.queue_time = 1000;
  r.start_time = 2000;
  r.completed_time = 3000;
  r.has_warnings_or_errors = false;
  r.log = {{"Info", 2100, "Deploying Web 1.0.0"}, {"Highlight", 2900, "Deployed"}};
  return r;
}

// A destination with an environment, a project group and a lifecycle written through the REST
// path, and the import's own task running.
struct fixture {
  octomig::testing::temp_dir dir{"octomig-import-commit"};
  std::unique_ptr<octomig::storage::store> st = octomig::testing::open_store(dir / "db");
  documents docs{*st, master};

  fixture() {
    ok(docs.create(space, "Environments", obj(R"({"Name":"Dev"})")));
    ok(docs.create(space, "ProjectGroups",
                   obj(R"({"Name":"Web group","EnvironmentIds":["Environments-1"]})")));
    ok(docs.create(space, "Lifecycles", obj(R"({"Name":"Standard"})")));
    octomig::events::task_queued queued{"MigrationImport", "Import", space, "{}", 0};
    append_ok(*st, request(import_task, 0, {queued, octomig::events::task_started{"node-1"}}));
  }

  // What a plan makes of a package with a new environment, a certificate, a project with its
  // channel, process and variables, a release and a deployment with its task.
  import_change change() const {
    import_change c;
    c.space_id = space;
    c.source_installation = installation;
    c.documents = {
        {"Environments", "Environments-2", false, obj(R"({"Name":"Prod"})")},
        {"Certificates", "Certificates-1", false,
         json::object{{"Name", "Site"},
                      {"CertificateData", certificate_secret},
                      {"Password", password_secret},
                      {"EnvironmentIds", json::array{"Environments-2"}}}},
        {"Projects", "Projects-1", false, obj(R"({"Name":"Web","ProjectGroupId":"ProjectGroups-1",
            "LifecycleId":"Lifecycles-1","VariableSetId":"variableset-Projects-1",
            "DeploymentProcessId":"deploymentprocess-Projects-1"})")},
        {"Channels", "Channels-1", false,
         obj(R"({"Name":"Default","ProjectId":"Projects-1","IsDefault":true})")},
        {"DeploymentProcesses", "deploymentprocess-Projects-1", false,
         obj(R"({"ProjectId":"Projects-1","Steps":[]})")},
        {"VariableSets", "variableset-Projects-1", false,
         json::object{
             {"OwnerId", "Projects-1"},
             {"Variables", json::array{obj(R"({"Id":"v-url","Name":"Url","Value":"https://prod",
                      "Scope":{"Environment":["Environments-2"]}})"),
                                       json::object{{"Id", "v-key"},
                                                    {"Name", "ApiKey"},
                                                    {"Type", "Sensitive"},
                                                    {"IsSensitive", true},
                                                    {"Value", variable_secret}},
                                       obj(R"({"Id":"v-cert","Name":"Cert","Type":"Certificate",
                      "Value":"Certificates-1"})")}}}},
        {"Releases", "Releases-1", false,
         obj(R"({"Version":"1.0.0","ProjectId":"Projects-1","ChannelId":"Channels-1"})")},
        {"Deployments", "Deployments-1", false,
         obj(R"({"ReleaseId":"Releases-1","ProjectId":"Projects-1",
             "EnvironmentId":"Environments-2","ChannelId":"Channels-1",
             "TaskId":"ServerTasks-4"})")},
    };
    c.counters = {{"Environments", {1, 2}}, {"Certificates", {0, 1}}, {"Projects", {0, 1}},
                  {"Channels", {0, 1}},     {"Releases", {0, 1}},     {"Deployments", {0, 1}}};
    c.provenance = {{"Deployments-7", "Deployments-1"}, {"ServerTasks-70", history_task}};
    c.tasks = {request(history_task, 0, {recorded_deployment()})};
    return c;
  }

  // The import task's append that carries the change, as the supervisor writes a step's end.
  octomig::storage::append_request commit(import_change c) {
    auto r = request(import_task, 2, {octomig::events::import_committed{8, 0, 0, 1}});
    r.attached = docs.stage_import(std::move(c));
    return r;
  }

  // Everything an import could write, as text: every document (secrets opened), the counters,
  // the provenance rows of change(), the end of the log, the stream versions, every task row and
  // the history task's log, and what the index check finds.
  std::string observe() const {
    std::string out;
    for (const auto& c : mig::collections()) {
      if (!c.stored) continue;
      for (const auto& d : must(docs.list(space, c.name, {}))) {
        auto id = str(d, "Id");
        out += c.name + " " + id + " " + json::serialize(ok(docs.get_revealed(space, c.name, id))) +
               "\n";
      }
      if (c.ids == mig::id_style::counter)
        out += "counter " + c.name + " " + std::to_string(must(docs.counter(c.name))) + "\n";
    }
    for (const auto& [source, dest] : change().provenance) {
      auto found = must(docs.imported_as(installation, source));
      out += "provenance " + source + " " + found.value_or("<none>") + "\n";
    }
    out += "last position " + std::to_string(st->last_position()) + "\n";
    out += "highest task " + std::to_string(must(st->highest_task_number())) + "\n";
    for (const auto& stream : {import_task, history_task})
      out += "stream " + stream + " " + std::to_string(must(st->stream_version(stream))) + "\n";
    for (const auto& t : must(st->tasks({}))) {
      auto bytes = octomig::events::encode(t);
      out += "task " + t.id + " " +
             octomig::base::to_hex(reinterpret_cast<const unsigned char*>(bytes.data()),
                                   bytes.size()) +
             "\n";
    }
    auto history = st->task(history_task);
    out += "task " + history_task + (history ? " found" : " " + history.err().message) + "\n";
    for (const auto& l : must(st->task_log(history_task))) out += "log line " + l.text + "\n";
    auto indexes = must(octomig::storage::verify_document_indexes(*st));
    out += "indexed documents " + std::to_string(indexes.documents) + "\n";
    for (const auto& d : indexes.differences) out += "index difference " + d + "\n";
    return out;
  }

  void check_no_differences() const {
    auto indexes = must(octomig::storage::verify_document_indexes(*st));
    INFO("index differences:\n" << octomig::testing::lines(indexes.differences));
    CHECK(indexes.differences.empty());
    auto projections = must(st->verify_projections());
    INFO("projection differences:\n" << octomig::testing::lines(projections.differences));
    CHECK(projections.differences.empty());
  }
};

}  // namespace

TEST_CASE(
    "an import attached to an append writes documents, indexes, counters, provenance and "
    "tasks with it",
    "[import_commit]") {
  fixture f;
  CHECK(must(f.docs.check_import(f.change())).empty());
  const auto before = f.st->last_position();

  auto a = f.st->append(f.commit(f.change()));
  if (!a) FAIL(a.err().message);
  // The recorded task's event, then the carrying one: one batch, consecutive positions.
  CHECK(a->first_position == before + 2);
  CHECK(a->last_position == before + 2);
  CHECK(a->last_version == 3);
  CHECK(f.st->last_position() == before + 2);

  // The documents, under the ids the plan chose, as the API shows them.
  auto project = ok(f.docs.get(space, "Projects", "Projects-1"));
  CHECK(str(project, "Name") == "Web");
  CHECK(str(project, "SpaceId") == space);
  CHECK(str(project, "Slug") == "web");
  CHECK(str(project, "ProjectGroupId") == "ProjectGroups-1");
  CHECK(str(project, "VariableSetId") == "variableset-Projects-1");
  CHECK(str(ok(f.docs.get(space, "Deployments", "Deployments-1")), "TaskId") == history_task);
  CHECK(str(ok(f.docs.get(space, "Releases", "Releases-1")), "ChannelId") == "Channels-1");
  CHECK(str(ok(f.docs.get(space, "DeploymentProcesses", "deploymentprocess-Projects-1")),
            "ProjectId") == "Projects-1");
  CHECK(ok(f.docs.get(space, "VariableSets", "variableset-Projects-1"))
            .at("Variables")
            .as_array()
            .size() == 3);

  // The name index, space-wide and per owner.
  CHECK(str(ok(f.docs.find_by_name(space, "Environments", "", "PROD")), "Id") == "Environments-2");
  CHECK(str(ok(f.docs.find_by_name(space, "Channels", "Projects-1", "default")), "Id") ==
        "Channels-1");
  CHECK(str(ok(f.docs.find_by_name(space, "Releases", "Projects-1", "1.0.0")), "Id") ==
        "Releases-1");
  // The reference index: what the import's documents use cannot be deleted.
  auto in_use = f.docs.remove(space, "Environments", "Environments-2");
  REQUIRE_FALSE(in_use);
  CHECK(in_use.err().message.find("variableset-Projects-1") != std::string::npos);
  CHECK(in_use.err().message.find("Deployment") != std::string::npos);
  // Owned documents go with their owner.
  octomig::storage::document_query owned;
  owned.owner_id = "Projects-1";
  CHECK(must(f.docs.page(space, "Channels", owned, 0, 10)).total == 1);
  CHECK(must(f.docs.page(space, "Releases", owned, 0, 10)).total == 1);

  // The counters: the next REST create continues after the import's ids.
  CHECK(must(f.docs.counter("Environments")) == 2);
  CHECK(must(f.docs.counter("Projects")) == 1);
  CHECK(must(f.docs.counter("Deployments")) == 1);
  CHECK(must(f.docs.counter("ProjectGroups")) == 1);  // untouched
  CHECK(str(ok(f.docs.create(space, "Environments", obj(R"({"Name":"Staging"})"))), "Id") ==
        "Environments-3");
  CHECK(must(f.docs.next_id("Releases")) == "Releases-2");

  // The provenance, per source installation.
  CHECK(must(f.docs.imported_as(installation, "Deployments-7")) ==
        std::optional<std::string>("Deployments-1"));
  CHECK(must(f.docs.imported_as(installation, "ServerTasks-70")) ==
        std::optional<std::string>(history_task));
  CHECK_FALSE(must(f.docs.imported_as("another-installation", "Deployments-7")).has_value());
  CHECK_FALSE(must(f.docs.imported_as(installation, "Deployments-8")).has_value());

  // The history task, in the task projection and its log, like any task.
  auto t = must(f.st->task(history_task));
  CHECK(t.name == "Deploy");
  CHECK(t.space_id == space);
  CHECK(t.state == task_status::success);
  CHECK(t.queue_time == 1000);
  CHECK(t.completed_time == 3000);
  CHECK(t.version == 1);
  CHECK(t.log_line_count == 2);
  auto log = must(f.st->task_log(history_task));
  REQUIRE(log.size() == 2);
  CHECK(log[0].text == "Deploying Web 1.0.0");
  CHECK(log[1].category == "Highlight");
  CHECK(log[1].occurred_at == 2900);
  CHECK(must(f.st->highest_task_number()) == 4);
  // The import task got its fact and its log line.
  CHECK(must(f.st->task(import_task)).version == 3);
  auto import_log = must(f.st->task_log(import_task));
  REQUIRE_FALSE(import_log.empty());
  CHECK(import_log.back().text.find("Import committed: 8 created") == 0);

  // One more created after the import, and everything derived still matches what is stored.
  CHECK(must(octomig::storage::verify_document_indexes(*f.st)).documents == 12);
  f.check_no_differences();
}

TEST_CASE("sensitive values an import hands over in plaintext are stored sealed",
          "[import_commit]") {
  fixture f;
  auto a = f.st->append(f.commit(f.change()));
  if (!a) FAIL(a.err().message);

  const json::value hidden = json::object{{"HasValue", true}, {"NewValue", nullptr}};
  auto cert = ok(f.docs.get(space, "Certificates", "Certificates-1"));
  CHECK(cert.at("CertificateData") == hidden);
  CHECK(cert.at("Password") == hidden);
  auto vars = ok(f.docs.get(space, "VariableSets", "variableset-Projects-1"));
  CHECK(vars.at("Variables").at(1).at("Value").is_null());
  CHECK(vars.at("Variables").at(0).at("Value") == json::value("https://prod"));
  for (const auto* shown : {&cert, &vars}) {
    auto text = json::serialize(*shown);
    CHECK(text.find(certificate_secret) == std::string::npos);
    CHECK(text.find(password_secret) == std::string::npos);
    CHECK(text.find(variable_secret) == std::string::npos);
  }

  auto open_cert = ok(f.docs.get_revealed(space, "Certificates", "Certificates-1"));
  CHECK(open_cert.at("CertificateData").at("NewValue") == json::value(certificate_secret));
  CHECK(open_cert.at("Password").at("NewValue") == json::value(password_secret));
  auto open_vars = ok(f.docs.get_revealed(space, "VariableSets", "variableset-Projects-1"));
  CHECK(open_vars.at("Variables").at(1).at("Value") == json::value(variable_secret));

  // No file of the store holds a plaintext.
  f.st.reset();
  auto bytes = octomig::testing::all_file_bytes(f.dir.path());
  CHECK(bytes.find(certificate_secret) == std::string::npos);
  CHECK(bytes.find(password_secret) == std::string::npos);
  CHECK(bytes.find(variable_secret) == std::string::npos);
}

TEST_CASE("check_import names what stops an import, and the append then writes nothing",
          "[import_commit]") {
  fixture f;
  auto c = f.change();
  std::string expected;
  auto document = [&c](const std::string& id) -> import_document& {
    auto it = std::find_if(c.documents.begin(), c.documents.end(),
                           [&](const import_document& d) { return d.id == id; });
    INFO("document " << id);
    REQUIRE(it != c.documents.end());
    return *it;
  };

  SECTION("a name the destination has taken") {
    document("Environments-2").body["Name"] = "DEV";
    expected = "An Environment with the name 'DEV' already exists. Please choose a different name.";
  }
  SECTION("a reference to a document that does not exist") {
    document("Projects-1").body["LifecycleId"] = "Lifecycles-9";
    expected = "The Lifecycle Lifecycles-9 referenced at /LifecycleId does not exist.";
  }
  SECTION("a reference inside an array to a document that does not exist") {
    document("variableset-Projects-1").body["Variables"].as_array()[0].as_object()["Scope"] =
        obj(R"({"Environment":["Environments-2","Environments-40"]})");
    expected =
        "The Environment Environments-40 referenced at /Variables/0/Scope/Environment/1 does not "
        "exist.";
  }
  SECTION("an owner that does not exist") {
    document("Channels-1").body["ProjectId"] = "Projects-9";
    expected = "The ProjectId Projects-9 does not exist.";
  }
  SECTION("a deployment task neither recorded before nor recorded with the import") {
    document("Deployments-1").body["TaskId"] = "ServerTasks-99";
    expected =
        "The Task ServerTasks-99 referenced at /TaskId does not exist. Record the task first.";
  }
  SECTION("a counter that moved since the plan read it") {
    CHECK(must(f.docs.check_import(c)).empty());
    // Another writer creates an environment meanwhile: Environments-2 is taken by it.
    ok(f.docs.create(space, "Environments", obj(R"({"Name":"Staging"})")));
    expected =
        "The destination changed while the import was planned: Environments handed out ids up to "
        "2 instead of 1. Run the import again.";
    CHECK(has_line(must(f.docs.check_import(c)),
                   "Environment Environments-2 was to be created, but the destination has it "
                   "already."));
  }
  SECTION("a create of an id the destination has") {
    c.documents.push_back({"Environments", "Environments-1", false, obj(R"({"Name":"Other"})")});
    expected = "Environment Environments-1 was to be created, but the destination has it already.";
  }
  SECTION("an overwrite of an id the destination does not have") {
    c.documents.push_back({"Environments", "Environments-5", true, obj(R"({"Name":"Gone"})")});
    expected = "Environment Environments-5 was to be overwritten, but it no longer exists.";
  }
  SECTION("a document that does not validate") {
    document("Projects-1").body.erase("Name");
    expected = "The Name field is required.";
  }
  SECTION("a collection that is not one of documents") {
    c.documents.push_back({"ServerTasks", "ServerTasks-8", false, obj(R"({"Name":"x"})")});
    expected = "There is no collection ServerTasks to import into.";
  }

  const auto before = f.observe();
  auto problems = must(f.docs.check_import(c));
  INFO("problems:\n" << octomig::testing::lines(problems));
  CHECK(has_line(problems, expected));
  // Checking writes nothing.
  CHECK(f.observe() == before);

  auto refused = f.st->append(f.commit(c));
  REQUIRE_FALSE(refused);
  CHECK(refused.err().code == errc::invalid_argument);
  CHECK(refused.err().message.find(expected) != std::string::npos);
  // Nothing of the import, nor of the append that carried it, nor of its task.
  CHECK(f.observe() == before);
  CHECK(must(f.st->task(import_task)).version == 2);
  auto history = f.st->task(history_task);
  REQUIRE_FALSE(history);
  CHECK(history.err().code == errc::not_found);
  f.check_no_differences();

  // The refusal left nothing behind that stops the import as it should have been.
  if (expected.find("changed while") == std::string::npos) {
    auto written = f.st->append(f.commit(f.change()));
    if (!written) FAIL(written.err().message);
    CHECK(must(f.st->task(history_task)).state == task_status::success);
    f.check_no_differences();
  }
}

TEST_CASE("a history task whose stream exists refuses the whole import with a conflict",
          "[import_commit]") {
  fixture f;
  append_ok(*f.st, request(history_task, 0, {recorded_deployment()}));
  const auto before = f.observe();
  // The documents themselves are fine (the deployment's task exists now), but the check says the
  // task to be recorded is there already, as the append will.
  auto problems = must(f.docs.check_import(f.change()));
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].find(history_task + " to be recorded exists already") != std::string::npos);

  auto refused = f.st->append(f.commit(f.change()));
  REQUIRE_FALSE(refused);
  CHECK(refused.err().code == errc::conflict);
  CHECK(refused.err().message.find(history_task) != std::string::npos);
  CHECK(f.observe() == before);
  CHECK(must(f.st->task(import_task)).version == 2);
  f.check_no_differences();

  SECTION("so does a carrying append at a stale version, before the import is staged") {
    auto c = f.change();
    c.tasks.clear();
    auto r = f.commit(c);
    r.expected_version = 1;
    auto stale = f.st->append(r);
    REQUIRE_FALSE(stale);
    CHECK(stale.err().code == errc::conflict);
    CHECK(f.observe() == before);
  }
}

namespace {

// An append in the same batch as the import that has nothing to do with it.
octomig::storage::append_request unrelated_task() {
  return request(
      "ServerTasks-9", 0,
      {octomig::events::task_queued{"MigrationPartialExport", "Export", space, "{}", 0}});
}

}  // namespace

TEST_CASE("a refused import keeps only itself out of a batch: the other appends are written",
          "[import_commit]") {
  fixture f;
  auto c = f.change();
  c.documents[0].body["Name"] = "Dev";  // taken: the import is refused
  const auto before = f.observe();
  const auto last = f.st->last_position();

  bool import_first = GENERATE(true, false);
  INFO((import_first ? "the import first" : "the import last"));
  std::vector<octomig::storage::append_request> batch;
  if (import_first) batch.push_back(f.commit(c));
  batch.push_back(unrelated_task());
  if (!import_first) batch.push_back(f.commit(c));
  auto results = f.st->append(batch);
  REQUIRE(results.size() == 2);
  const auto& refused = results[import_first ? 0 : 1];
  const auto& written = results[import_first ? 1 : 0];
  REQUIRE_FALSE(refused);
  CHECK(refused.err().code == errc::invalid_argument);
  if (!written) FAIL(written.err().message);
  CHECK(written->first_position == last + 1);
  CHECK(f.st->last_position() == last + 1);

  CHECK(must(f.st->task("ServerTasks-9")).state == task_status::queued);
  CHECK(must(f.st->task(import_task)).version == 2);
  // No document, counter or provenance row of the import.
  CHECK(must(f.docs.list(space, "Environments", {})).size() == 1);
  for (const auto* coll : {"Projects", "Certificates", "Channels", "Deployments"})
    CHECK(must(f.docs.list(space, coll, {})).empty());
  CHECK(must(f.docs.counter("Environments")) == 1);
  CHECK(must(f.docs.counter("Deployments")) == 0);
  CHECK_FALSE(must(f.docs.imported_as(installation, "Deployments-7")).has_value());
  CHECK(must(octomig::storage::verify_document_indexes(*f.st)).differences.empty());
  CHECK(f.observe() != before);  // the unrelated task is there
}

// The refused import's history task must not reach the task projection either: its stream was
// checked (and its row loaded, empty) before the import was refused, and the batch that still
// carries another append must not write that row.
TEST_CASE("a refused import's history tasks leave no task row when the batch is written",
          "[import_commit]") {
  fixture f;
  auto c = f.change();
  c.documents[0].body["Name"] = "Dev";  // taken: the import is refused
  std::vector<octomig::storage::append_request> batch{f.commit(c), unrelated_task()};
  auto results = f.st->append(batch);
  REQUIRE(results.size() == 2);
  REQUIRE_FALSE(results[0]);
  REQUIRE(results[1]);

  auto history = f.st->task(history_task);
  INFO((history ? "found a row: id '" + history->id + "', state " +
                      octomig::events::to_string(history->state)
                : history.err().message));
  CHECK_FALSE(history);
  auto listed = must(f.st->tasks({}));
  CHECK(listed.size() == 2);  // the import's own task and the unrelated one
  auto projections = must(f.st->verify_projections());
  INFO("projection differences:\n" << octomig::testing::lines(projections.differences));
  CHECK(projections.differences.empty());
}

TEST_CASE("an overwrite keeps the document's id and replaces its body and its index rows",
          "[import_commit]") {
  fixture f;
  ok(f.docs.replace(space, "Environments", "Environments-1",
                    obj(R"({"Name":"Dev","Description":"old","SortOrder":5,
                        "UseGuidedFailure":true})")));
  ok(f.docs.create(space, "Environments", obj(R"({"Name":"Test"})")));  // Environments-2
  // The project group refers to Environments-1: it cannot be deleted yet.
  CHECK_FALSE(f.docs.remove(space, "Environments", "Environments-1"));

  import_change c;
  c.space_id = space;
  c.source_installation = installation;
  c.documents = {
      {"Environments", "Environments-1", true, obj(R"({"Name":"Dev","Description":"imported"})")},
      {"ProjectGroups", "ProjectGroups-1", true,
       obj(R"({"Name":"Web group","EnvironmentIds":["Environments-2"]})")}};
  CHECK(must(f.docs.check_import(c)).empty());
  auto r = request(import_task, 2, {octomig::events::import_committed{0, 2, 0, 0}});
  r.attached = f.docs.stage_import(c);
  auto a = f.st->append(r);
  if (!a) FAIL(a.err().message);

  auto env = ok(f.docs.get(space, "Environments", "Environments-1"));
  CHECK(str(env, "Id") == "Environments-1");
  CHECK(str(env, "Description") == "imported");
  CHECK(env.at("SortOrder") == json::value(0));  // not kept: the body is replaced
  CHECK(env.at("UseGuidedFailure") == json::value(false));
  CHECK(str(ok(f.docs.find_by_name(space, "Environments", "", "dev")), "Id") == "Environments-1");
  CHECK(must(f.docs.list(space, "Environments", {})).size() == 2);
  CHECK(must(f.docs.counter("Environments")) == 2);  // nothing allocated
  auto group = ok(f.docs.get(space, "ProjectGroups", "ProjectGroups-1"));
  CHECK(group.at("EnvironmentIds") == json::value(json::array{"Environments-2"}));
  f.check_no_differences();
  // The reference index follows the new body: Environments-1 is free, Environments-2 is used.
  CHECK_FALSE(f.docs.remove(space, "Environments", "Environments-2"));
  ok(f.docs.remove(space, "Environments", "Environments-1"));
  f.check_no_differences();
}
