// End to end: a row of each RocksDB column family, damaged while octomigd is stopped, is reported
// as corruption by the REST API (HTTP 500 in the Octopus error shape, with the cause logged under
// the request id), by octomig-admin, and by `octomig-admin projections verify`; and a damaged
// maintenance row makes maintenance mode fail closed.
//
// One sample instance is built once (octomig-admin seed, a user key "robot", a package pushed
// through a running octomigd, maintenance mode switched on and off so that the maintenance row
// exists), then every section works on its own copy of it: it overwrites the value of one real
// row with garbage, directly in RocksDB, starts octomigd again and probes.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <curl/curl.h>

#include "storage/store_impl.hpp"
#include "tests/server/process.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace octomig::server_test;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// ---- HTTP ----

struct reply {
  long status = 0;
  std::string body;
  std::string request_id;  // the X-Request-Id header
};

std::size_t collect_request_id(char* data, std::size_t size, std::size_t n, void* out) {
  std::string line(data, size * n);
  const std::string name = "x-request-id:";
  if (line.size() > name.size()) {
    std::string head = line.substr(0, name.size());
    for (auto& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (head == name) {
      std::string v = line.substr(name.size());
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.erase(v.begin());
      while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) v.pop_back();
      *static_cast<std::string*>(out) = v;
    }
  }
  return size * n;
}

// One request on loopback. mime, when given, is the body (multipart/form-data).
reply request(int port, const std::string& method, const std::string& path, const std::string& key,
              const std::string& body = "", curl_mime* mime = nullptr) {
  CURL* c = curl_easy_init();
  REQUIRE(c != nullptr);
  reply r;
  std::string url = "http://127.0.0.1:" + std::to_string(port) + path;
  curl_slist* headers = nullptr;
  if (!key.empty()) headers = curl_slist_append(headers, ("X-Octopus-ApiKey: " + key).c_str());
  headers = curl_slist_append(headers, "Accept: application/json");
  if (!body.empty()) headers = curl_slist_append(headers, "Content-Type: application/json");
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect_request_id);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.request_id);
  if (mime) {
    curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
  } else if (method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
    if (!body.empty()) {
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    }
  }
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  return r;
}

// A 500 that reports the damage: the Octopus error shape with Details.RequestId, an ErrorMessage
// naming each of `names`, and octomigd's log line "request <id> ... answered 500: <cause>".
void check_reported(server_process& d, const reply& r, const std::vector<std::string>& names) {
  INFO("response body: " << r.body);
  CHECK(r.status == 500);
  json::error_code ec;
  auto v = json::parse(r.body, ec);
  CHECK_FALSE(ec);
  CHECK(v.is_object());
  if (ec || !v.is_object()) return;
  const auto& o = v.as_object();
  const auto* message = o.if_contains("ErrorMessage");
  const auto* errors = o.if_contains("Errors");
  const auto* details = o.if_contains("Details");
  CHECK((message && message->is_string()));
  CHECK((errors && errors->is_array()));
  CHECK((details && details->is_object()));
  const json::value* id =
      details && details->is_object() ? details->as_object().if_contains("RequestId") : nullptr;
  CHECK((id && id->is_string() && !id->as_string().empty()));
  if (!message || !message->is_string() || !id || !id->is_string()) return;
  std::string text(message->as_string());
  if (errors && errors->is_array())
    for (const auto& e : errors->as_array())
      if (e.is_string()) text += " " + std::string(e.as_string());
  for (const auto& n : names) {
    INFO("the error should name: " << n);
    CHECK(contains(text, n));
  }
  std::string request_id(id->as_string());
  CHECK(r.request_id == request_id);
  // The line is logged before the answer is sent; the pipe may deliver it a little later.
  bool logged = d.wait_for_log("request " + request_id + " ", std::chrono::seconds(5));
  INFO("octomigd's log:\n" << d.log);
  CHECK(logged);
  if (!logged) return;
  auto line = d.line_with("request " + request_id + " ");
  INFO("log line: " << line);
  CHECK(contains(line, "answered 500"));
  CHECK(contains(line, std::string(message->as_string())));
}

// ---- RocksDB ----

// The column families in the store's own fixed order (storage/store_impl.hpp).
using cf_index = octomig::storage::cf_id;
using octomig::storage::cf_api_keys;
using octomig::storage::cf_documents;
using octomig::storage::cf_events;
using octomig::storage::cf_meta;
using octomig::storage::cf_names;
using octomig::storage::cf_names_list;
using octomig::storage::cf_packages;
using octomig::storage::cf_references;
using octomig::storage::cf_streams;
using octomig::storage::cf_task_logs;
using octomig::storage::cf_tasks;

const std::string garbage("\x07garbage\xff", 9);

struct row {
  std::string key;
  std::string value;  // before the damage
};

// Opens D/db (octomigd stopped), finds the first row of cf that pick accepts, overwrites its value
// with garbage, flushes and closes. The row as it was, or nullopt when no row matched.
std::optional<row> damage(const fs::path& data, cf_index cf,
                          const std::function<bool(const row&)>& pick) {
  rocksdb::DBOptions opts;
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (auto* name : cf_names_list) descs.emplace_back(name, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(opts, (data / "db").string(), descs, &handles, &raw);
  INFO("opening " << (data / "db").string() << ": " << s.ToString());
  REQUIRE(s.ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  std::optional<row> found;
  {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[cf]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      row r{it->key().ToString(), it->value().ToString()};
      if (pick(r)) {
        found = std::move(r);
        break;
      }
    }
    CHECK(it->status().ok());
  }
  if (found) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    CHECK(db->Put(wo, handles[cf], found->key, garbage).ok());
    CHECK(db->Flush(rocksdb::FlushOptions(), handles[cf]).ok());
  }
  for (auto* h : handles) CHECK(db->DestroyColumnFamilyHandle(h).ok());
  CHECK(db->Close().ok());
  return found;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

std::string key0(std::initializer_list<std::string> parts) {
  std::string k;
  for (const auto& p : parts) k += p + std::string(1, '\0');
  return k;
}

// A key shown as verify shows it: NUL separators as '/'.
std::string slashed(std::string k) {
  for (auto& c : k)
    if (c == '\0') c = '/';
  return k;
}

// ---- the sample instance ----

struct sample {
  temp_dir dir{"octomig-corruption"};
  fs::path data;
  std::string admin_key;
  std::string robot_key;  // a user-role key; held in memory only, never printed
};

void build(sample& s) {
  s.data = s.dir.path / "data";
  auto seeded = run_tool(s.data, {"seed", "--projects", "1", "--releases", "1", "--deployments",
                                  "1", "--log-lines", "3"});
  INFO("seed: " << seeded.all());
  REQUIRE(seeded.code == 0);
  auto created = run_tool(s.data, {"apikeys", "create", "--name", "robot"});
  INFO("apikeys create (stderr): " << created.err);
  REQUIRE(created.code == 0);
  s.robot_key = created.out;
  while (!s.robot_key.empty() && (s.robot_key.back() == '\n' || s.robot_key.back() == '\r'))
    s.robot_key.pop_back();
  REQUIRE(starts_with(s.robot_key, "API-"));
  s.admin_key = read_file(s.data / "admin-api-key");
  REQUIRE(starts_with(s.admin_key, "API-"));

  server_process d(s.data);
  INFO("octomigd's log:\n" << d.log);
  REQUIRE(d.started);
  // A package, so that the packages column family has a row.
  curl_mime* mime = curl_mime_init(nullptr);
  curl_mimepart* part = curl_mime_addpart(mime);
  curl_mime_name(part, "file");
  curl_mime_filename(part, "Corruption.Probe.1.0.0.zip");
  const std::string content = "not really a zip, but the feed stores bytes";
  curl_mime_data(part, content.data(), content.size());
  auto pushed = request(d.port, "POST", "/api/Spaces-1/packages/raw", s.robot_key, "", mime);
  curl_mime_free(mime);
  INFO("push: " << pushed.body);
  REQUIRE(pushed.status == 201);
  // Maintenance mode on and off again: the meta column family gets its maintenance row.
  for (const char* on : {"true", "false"}) {
    auto m = request(d.port, "PUT", "/api/maintenanceconfiguration", s.admin_key,
                     std::string("{\"IsInMaintenanceMode\":") + on + "}");
    INFO("maintenance " << on << ": " << m.body);
    REQUIRE(m.status == 200);
  }
  REQUIRE(d.stop() == 0);
  // The undamaged instance verifies clean, so every difference below comes from the damage.
  auto verified = run_tool(s.data, {"projections", "verify"});
  INFO("verify of the undamaged instance: " << verified.all());
  REQUIRE(verified.code == 0);
}

const sample& prepared() {
  static std::unique_ptr<sample> s;
  if (!s) {
    auto fresh = std::make_unique<sample>();
    build(*fresh);
    s = std::move(fresh);
  }
  return *s;
}

// A copy of the sample's data directory, for one section to damage.
struct damaged_copy {
  temp_dir dir{"octomig-corruption"};
  fs::path data;
  explicit damaged_copy(const sample& s) : data(dir.path / "data") {
    std::error_code ec;
    fs::copy(s.data, data, fs::copy_options::recursive, ec);
    INFO("copying the sample: " << ec.message());
    REQUIRE_FALSE(ec);
  }
};

// `projections verify` on the damaged copy: a non-zero exit and each of `names` in its output.
void check_verify(const fs::path& data, const std::vector<std::string>& names) {
  auto r = run_tool(data, {"projections", "verify"});
  INFO("octomig-admin projections verify (exit " << r.code << "):\n" << r.all());
  CHECK(r.code != 0);
  for (const auto& n : names) {
    INFO("verify should name: " << n);
    CHECK(contains(r.all(), n));
  }
}

// An admin command on the damaged copy: a non-zero exit and each of `names` in its error output.
void check_admin_fails(const fs::path& data, const std::vector<std::string>& args,
                       const std::vector<std::string>& names) {
  std::string shown;
  for (const auto& a : args) shown += " " + a;
  auto r = run_tool(data, args);
  INFO("octomig-admin" << shown << " (exit " << r.code << "):\n" << r.all());
  CHECK(r.code != 0);
  for (const auto& n : names) {
    INFO("the error should name: " << n);
    CHECK(contains(r.err, n));
  }
}

// octomigd on the damaged copy must start and serve, so that the API can report the damage.
bool check_started(server_process& d) {
  INFO("octomigd did not start on the damaged data directory (exit "
       << (d.exit_code ? std::to_string(*d.exit_code) : std::string("none")) << "); its log:\n"
       << d.log);
  CHECK(d.started);
  return d.started;
}

void check_stops(server_process& d) {
  if (!d.started) return;
  d.stop();  // any exit code; stop() fails the test when it does not exit within 20 s
  CHECK(d.pid < 0);
}

}  // namespace

TEST_CASE("a damaged row in any column family is reported as corruption, never served as data",
          "[octomigd][corruption]") {
  const sample& s = prepared();
  damaged_copy c(s);

  SECTION("tasks") {
    auto r = damage(c.data, cf_tasks, [](const row&) { return true; });
    REQUIRE(r);
    const std::string id = r->key;  // tasks: the task id
    check_admin_fails(c.data, {"task", id}, {id, "damaged"});
    check_verify(c.data, {"tasks: row " + id});
    server_process d(c.data);
    if (check_started(d)) {
      check_reported(d, request(d.port, "GET", "/api/tasks/" + id, s.admin_key), {id, "damaged"});
      check_stops(d);
    }
  }

  SECTION("task_logs") {
    auto r = damage(c.data, cf_task_logs, [](const row&) { return true; });
    REQUIRE(r);
    const std::string id = r->key.substr(0, r->key.find('\0'));  // task id \0 line number
    check_verify(c.data, {"task_logs: row " + id + "/"});
    server_process d(c.data);
    if (check_started(d)) {
      check_reported(d, request(d.port, "GET", "/api/tasks/" + id + "/details", s.admin_key),
                     {"log of " + id, "damaged"});
      check_stops(d);
    }
  }

  SECTION("events") {
    // The second event of the log (the first is the admin key's creation).
    int seen = 0;
    auto r = damage(c.data, cf_events, [&](const row&) { return ++seen == 2; });
    REQUIRE(r);
    REQUIRE(r->key.size() == 8);
    std::uint64_t position = 0;
    for (unsigned char ch : r->key) position = (position << 8) | ch;
    const std::string at = "event at position " + std::to_string(position);
    check_admin_fails(c.data, {"events"}, {at});
    check_verify(c.data, {at});
    // No request reads the event log (the API answers from the read models), so there is no
    // request to probe; octomigd must still start and stop.
    server_process d(c.data);
    if (check_started(d)) {
      CHECK(request(d.port, "GET", "/api", "").status == 200);
      check_stops(d);
    }
  }

  SECTION("streams") {
    auto r = damage(c.data, cf_streams,
                    [](const row& x) { return starts_with(x.key, std::string("ServerTasks-")); });
    REQUIRE(r);
    const std::string id = r->key.substr(0, r->key.find('\0'));  // stream \0 version
    check_admin_fails(c.data, {"task", id, "--history"}, {"stream index of " + id});
    check_verify(c.data, {"streams: row " + id + "/"});
    // No request reads a stream's rows (appends read only the keys, for the stream's version).
    server_process d(c.data);
    if (check_started(d)) check_stops(d);
  }

  SECTION("documents") {
    const std::string prefix = key0({"Spaces-1", "Projects"});
    auto r = damage(c.data, cf_documents, [&](const row& x) { return starts_with(x.key, prefix); });
    REQUIRE(r);
    const std::string id = r->key.substr(prefix.size());
    check_verify(c.data, {"the stored document " + slashed(r->key)});
    server_process d(c.data);
    if (check_started(d)) {
      check_reported(d, request(d.port, "GET", "/api/Spaces-1/projects/" + id, s.admin_key),
                     {id, "damaged"});
      check_reported(d, request(d.port, "GET", "/api/Spaces-1/projects", s.admin_key),
                     {id, "damaged"});
      check_stops(d);
    }
  }

  SECTION("names") {
    // names: space \0 collection \0 owner \0 lower-case name, the document's id as value.
    const std::string prefix = key0({"Spaces-1", "Projects"});
    auto r = damage(c.data, cf_names, [&](const row& x) { return starts_with(x.key, prefix); });
    REQUIRE(r);
    const std::string rest = r->key.substr(prefix.size());
    const std::string name = rest.substr(rest.find('\0') + 1);
    check_verify(c.data, {"names: row " + slashed(r->key)});
    server_process d(c.data);
    if (check_started(d)) {
      // The name filter is answered from the name index, read in one snapshot with the documents:
      // an index row naming no document is damage, reported as such (never a page without it).
      std::string query;
      for (char ch : name) query += ch == ' ' ? std::string("%20") : std::string(1, ch);
      auto found = request(d.port, "GET", "/api/Spaces-1/projects?name=" + query, s.admin_key);
      INFO("GET /api/Spaces-1/projects?name=" << query << " answered " << found.status << ": "
                                              << found.body);
      check_reported(d, found, {"name index"});
      check_stops(d);
    }
  }

  SECTION("packages") {
    auto r = damage(c.data, cf_packages, [](const row& x) {
      return starts_with(x.key, std::string("Spaces-1") + '\0');
    });
    REQUIRE(r);
    // verify covers the log's read models and the documents' indexes; the feed's index is a
    // column family of the same store and must be checked too.
    check_verify(c.data, {"package"});
    server_process d(c.data);
    if (check_started(d)) {
      check_reported(d, request(d.port, "GET", "/api/Spaces-1/packages", s.admin_key), {"package"});
      check_stops(d);
    }
  }

  SECTION("api_keys") {
    auto r = damage(c.data, cf_api_keys,
                    [](const row& x) { return contains(x.value, "\"Name\":\"robot\""); });
    REQUIRE(r);
    check_admin_fails(c.data, {"apikeys", "list"}, {"API key is damaged"});
    check_verify(c.data, {"api_keys: row"});
    server_process d(c.data);
    if (check_started(d)) {
      // The key's row is damaged, not missing: 500, never 401.
      check_reported(d, request(d.port, "GET", "/api/tasks", s.robot_key), {"damaged"});
      check_stops(d);
    }
  }

  SECTION("meta: the maintenance row") {
    auto r = damage(c.data, cf_meta, [](const row& x) { return x.key == "maintenance"; });
    REQUIRE(r);
    check_verify(c.data, {"meta: the stored maintenance mode is damaged"});
    server_process d(c.data);
    if (check_started(d)) {
      check_reported(d, request(d.port, "GET", "/api/maintenanceconfiguration", s.admin_key),
                     {"maintenance mode is damaged"});
      // Fails closed: a change by a non-admin key is refused when maintenance mode is unknown.
      auto change = request(d.port, "POST", "/api/Spaces-1/environments", s.robot_key,
                            "{\"Name\":\"Corruption probe\"}");
      INFO("POST /api/Spaces-1/environments with the user key answered " << change.status << ": "
                                                                         << change.body);
      check_reported(d, change, {"maintenance mode is damaged"});
      check_stops(d);
    }
  }

  SECTION("references") {
    // references: space \0 target collection \0 target id \0 kind \0 referrer collection \0 id,
    // with an empty value. A row of an environment that something refers to (kind r).
    const std::string prefix = key0({"Spaces-1", "Environments"});
    auto r = damage(c.data, cf_references, [&](const row& x) {
      return starts_with(x.key, prefix) && contains(x.key, key0({"", "r"}));
    });
    REQUIRE(r);
    const std::string rest = r->key.substr(prefix.size());
    const std::string environment = rest.substr(0, rest.find('\0'));
    check_verify(c.data, {"references: row " + slashed(r->key)});
    server_process d(c.data);
    if (check_started(d)) {
      // The API reads only the keys of this index (its values are empty by design), so the
      // damaged value cannot change an answer: the delete still sees the referrer and refuses.
      auto del =
          request(d.port, "DELETE", "/api/Spaces-1/environments/" + environment, s.admin_key);
      INFO("DELETE /api/Spaces-1/environments/" << environment << " answered " << del.status << ": "
                                                << del.body);
      CHECK((del.status < 200 || del.status >= 300));
      if (del.status == 500) check_reported(d, del, {});
      CHECK(
          request(d.port, "GET", "/api/Spaces-1/environments/" + environment, s.admin_key).status ==
          200);
      check_stops(d);
    }
  }
}
