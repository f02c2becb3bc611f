// End to end: POST /api/migrations/import on a real octomigd, with packages that a seeded source
// pushed to it through a partial export, or that the test wrote itself with the package library
// (another octomig version, a missing dependency, tampered, hostile and zip-bomb files). Covered:
// the documented raw request and its dry run; a round trip compared document by document modulo
// ids (references, history tasks and their logs, sensitive values read back through both stores);
// name matching against a destination that has documents of its own; re-imports with and without
// OverwriteExisting; failures that write nothing and call back once; the route's 400s, 401 and
// 403; a crash in and after the commit; references the export left out; a write between the plan
// and the commit; and no secret in any log, event or task log.
#include <openssl/evp.h>
#include <sys/stat.h>
#include <zip.h>

#include <algorithm>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/hex.hpp"
#include "migration/schema.hpp"
#include "package/package.hpp"
#include "storage/data_dir.hpp"
#include "storage/documents.hpp"
#include "storage/store.hpp"
#include "tests/outbound/receiver.hpp"
#include "tests/server/instance.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;
namespace mig = octomig::migration;
using namespace octomig::server_test;
using namespace std::chrono_literals;
using octomig::outbound_test::answer;
using octomig::outbound_test::receiver;

namespace {

const std::string kPassword = "Squanchy-Import-Passw0rd-9";
const std::string kWrongPassword = "Not-The-Export-Passw0rd-4";
const std::string kImport = "/api/migrations/import";
const std::string kPackageId = "Demo.Migration";
// Projects-1 and Projects-3 of the seed: the destination gives them other ids than the source's.
const std::vector<std::string> kProjects{"Web Portal", "Inventory Service"};

// ---- requests ----

// The docs' raw import request (contract §1.6): IsDryRun as a string, a // comment and a trailing
// comma.
std::string documented_import_body(const std::string& version) {
  std::string body = "{\n";
  body += "  \"PackageId\": \"" + kPackageId + "\",\n";
  body += "  \"PackageVersion\": \"" + version + "\",\n";
  body += "  \"Password\": \"" + kPassword + "\",\n";
  body += "  \"IsEncryptedPackage\": true,\n";
  body += "  \"IsDryRun\": \"true\", // only log what would happen\n";
  return body + "}\n";
}

json::object import_request(const std::string& package_id, const std::string& version,
                            bool encrypted, const std::string& password = kPassword) {
  return json::object{{"PackageId", package_id},
                      {"PackageVersion", version},
                      {"Password", password},
                      {"IsEncryptedPackage", encrypted}};
}

// Posts an import request (never shown: it holds the password); its TaskId, once the answer is a
// 200 that echoes the request without the password.
std::string start_import(instance& destination, const std::string& body) {
  auto r = destination.call("POST", kImport, body);
  INFO("POST " << kImport << ": " << r.status << " " << r.body);
  REQUIRE(r.status == 200);
  auto echo = object_of(r);
  CHECK(echo.at("Password").is_null());
  const auto id = text_of(echo, "TaskId");
  REQUIRE(id.rfind("ServerTasks-", 0) == 0);
  return id;
}
std::string start_import(instance& destination, const json::object& body) {
  return start_import(destination, json::serialize(body));
}

// Exports projects from source into destination's feed as kPackageId version; the export's log,
// once it succeeded.
std::vector<std::string> export_to(instance& source, instance& destination,
                                   const std::string& version, bool encrypted,
                                   const std::vector<std::string>& projects = kProjects) {
  json::array names;
  for (const auto& p : projects) names.emplace_back(p);
  auto echo = source.start_export(json::object{{"PackageId", kPackageId},
                                               {"PackageVersion", version},
                                               {"Password", kPassword},
                                               {"Projects", std::move(names)},
                                               {"EncryptPackage", encrypted},
                                               {"IncludeTaskLogs", true},
                                               {"DestinationApiKey", destination.key()},
                                               {"DestinationPackageFeed", destination.base_url()}});
  const auto id = text_of(echo, "TaskId");
  auto task = source.wait_until_ended(id);
  auto log = source.log_of(id);
  INFO("export log:\n" << joined(log) << "ErrorMessage: " << text_of(task, "ErrorMessage"));
  REQUIRE(text_of(task, "State") == "Success");
  return log;
}

// The per-collection counts an export or import log lists ("     Project.......2"), by collection
// name; the history tasks under ServerTasks.
std::map<std::string, std::uint64_t> counts_in(const std::vector<std::string>& log) {
  static const std::regex line("^     ([A-Za-z]+)\\.{2,}([0-9]+)$");
  std::map<std::string, std::uint64_t> out;
  for (const auto& l : log) {
    std::smatch m;
    if (!std::regex_match(l, m, line)) continue;
    for (const auto& c : mig::collections())
      if (c.item_type == m[1].str()) out[c.name] = std::stoull(m[2].str());
  }
  return out;
}

std::uint64_t documents_in(const std::map<std::string, std::uint64_t>& counts) {
  std::uint64_t n = 0;
  for (const auto& [collection, count] : counts)
    if (collection != "ServerTasks") n += count;
  return n;
}

bool has_line(const std::vector<std::string>& log, const std::string& text) {
  return std::find(log.begin(), log.end(), text) != log.end();
}

// ---- what a destination holds ----

// Every document of every REST collection as GET /api/Spaces-1/<route> lists it, without Links:
// collection -> id -> document.
using document_map = std::map<std::string, std::map<std::string, json::object>>;

document_map documents_of(instance& server) {
  document_map out;
  for (const auto& c : mig::collections()) {
    if (!c.rest || !c.stored) continue;
    auto page = server.get("/api/Spaces-1/" + c.route + "?take=100000");
    auto& docs = out[c.name];
    for (const auto& item : page.at("Items").as_array()) {
      auto doc = item.as_object();
      doc.erase("Links");
      docs.emplace(text_of(doc, "Id"), std::move(doc));
    }
    INFO("GET /api/Spaces-1/" << c.route);
    CHECK(page.at("TotalResults").to_number<std::size_t>() == docs.size());
  }
  return out;
}

// The tasks of GET /api/tasks, by id.
std::map<std::string, json::object> tasks_of(instance& server) {
  std::map<std::string, json::object> out;
  const auto page = server.get("/api/tasks?take=100000");
  for (const auto& t : page.at("Items").as_array())
    out.emplace(text_of(t.as_object(), "Id"), t.as_object());
  return out;
}

// What differs between two states of the documents, one line per document (at most 20).
std::vector<std::string> differences(const document_map& before, const document_map& after) {
  std::vector<std::string> out;
  auto note = [&out](std::string line) {
    if (out.size() < 20) out.push_back(std::move(line));
  };
  std::set<std::string> collections;
  for (const auto& [c, docs] : before) collections.insert(c);
  for (const auto& [c, docs] : after) collections.insert(c);
  static const std::map<std::string, json::object> none;
  for (const auto& c : collections) {
    const auto& a = before.count(c) ? before.at(c) : none;
    const auto& b = after.count(c) ? after.at(c) : none;
    for (const auto& [id, doc] : a) {
      auto it = b.find(id);
      if (it == b.end())
        note("removed " + id);
      else if (it->second != doc)
        note("changed " + id + ":\n  " + json::serialize(doc) + "\n  " +
             json::serialize(it->second));
    }
    for (const auto& [id, doc] : b)
      if (!a.count(id)) note("added " + id + ": " + json::serialize(doc));
  }
  return out;
}

void check_same_documents(const document_map& before, const document_map& after) {
  auto diff = differences(before, after);
  INFO("differences:\n" << joined(diff));
  CHECK(diff.empty());
}

// The tasks are those of before, unchanged, and the one task added. LastUpdatedTime aside: a
// finished task's callback attempts, recorded in its stream, move it.
void check_same_tasks(std::map<std::string, json::object> before,
                      std::map<std::string, json::object> after, const std::string& added) {
  CHECK(after.erase(added) == 1);
  for (auto* tasks : {&before, &after})
    for (auto& [id, t] : *tasks) t.erase("LastUpdatedTime");
  std::vector<std::string> diff;
  for (const auto& [id, t] : before)
    if (!after.count(id))
      diff.push_back("removed " + id);
    else if (after.at(id) != t)
      diff.push_back("changed " + id + ":\n  " + json::serialize(t) + "\n  " +
                     json::serialize(after.at(id)));
  for (const auto& [id, t] : after)
    if (!before.count(id)) diff.push_back("added " + id + ": " + json::serialize(t));
  INFO("task differences:\n" << joined(diff));
  CHECK(diff.empty());
}

// ---- a source's documents in a destination ----

// Source id -> destination id, for every document and history task the import brought over.
using id_map = std::map<std::string, std::string>;

// v with every string, and every object key, that is a mapped source id replaced by its
// destination id: the source's document as the destination should hold it.
json::value mapped(const json::value& v, const id_map& ids) {
  switch (v.kind()) {
    case json::kind::string: {
      auto it = ids.find(std::string(v.get_string()));
      return it == ids.end() ? v : json::value(it->second);
    }
    case json::kind::array: {
      json::array out;
      for (const auto& e : v.get_array()) out.push_back(mapped(e, ids));
      return out;
    }
    case json::kind::object: {
      json::object out;
      for (const auto& [k, e] : v.get_object()) {
        auto it = ids.find(std::string(k));
        out[it == ids.end() ? std::string(k) : it->second] = mapped(e, ids);
      }
      return out;
    }
    default:
      return v;
  }
}

// History tasks match by what the import keeps of them: name, description and queue time.
id_map map_tasks(instance& source, instance& destination) {
  auto key = [](const json::object& t) {
    return text_of(t, "Name") + "\n" + text_of(t, "Description") + "\n" + text_of(t, "QueueTime");
  };
  std::map<std::string, std::string> by_key;
  for (const auto& [id, t] : tasks_of(source))
    if (text_of(t, "Name") == "Deploy") CHECK(by_key.emplace(key(t), id).second);
  id_map out;
  for (const auto& [id, t] : tasks_of(destination)) {
    if (text_of(t, "Name") != "Deploy") continue;
    auto it = by_key.find(key(t));
    INFO("destination task " << id << ": " << json::serialize(t));
    CHECK(it != by_key.end());
    if (it != by_key.end()) out[it->second] = id;
  }
  return out;
}

// Documents match by name within their owner, one-per-owner documents through their owner, and
// documents without a name (deployments) by their whole content once references are mapped. The
// table's order puts owners and referenced documents first.
void map_documents(const document_map& source, const document_map& destination, id_map& ids) {
  for (const auto& c : mig::collections()) {
    if (!c.rest || !c.stored) continue;
    const auto& theirs = destination.at(c.name);
    for (const auto& [sid, sdoc] : source.at(c.name)) {
      std::optional<std::string> found;
      std::string owner;
      if (!c.owner_field.empty()) {
        auto o = ids.find(mig::owner_of(c, sdoc));
        if (o == ids.end()) continue;  // its owner was not imported
        owner = o->second;
      }
      if (c.ids == mig::id_style::from_owner) {
        auto id = mig::id_for_owner(c, owner);
        if (theirs.count(id)) found = id;
      } else if (!c.name_field.empty()) {
        for (const auto& [did, ddoc] : theirs)
          if (mig::name_of(c, ddoc) == mig::name_of(c, sdoc) &&
              (c.owner_field.empty() || mig::owner_of(c, ddoc) == owner))
            found = did;
      } else {
        auto want = mapped(sdoc, ids).as_object();
        want.erase("Id");
        for (const auto& [did, ddoc] : theirs) {
          auto got = ddoc;
          got.erase("Id");
          if (got == want) found = did;
        }
      }
      if (found) ids[sid] = *found;
    }
  }
}

// What a destination should hold after importing a package.
struct expected_closure {
  std::map<std::string, std::uint64_t> exported;  // per collection (ServerTasks: history tasks)
  std::map<std::string, std::size_t> own;         // destination documents the import did not bring
  std::set<std::string> kept;  // destination ids skipped: their content is their own
};

// Checks that the destination holds exactly the source's closure: the exported number of
// documents per collection, each equal to the source's modulo ids (but those kept), every
// reference of every document resolving through the API, and every history task with its log.
// The id map.
id_map check_closure(instance& source, instance& destination, const expected_closure& want) {
  const auto src = documents_of(source);
  const auto dst = documents_of(destination);
  auto ids = map_tasks(source, destination);
  CHECK(ids.size() == want.exported.at("ServerTasks"));
  map_documents(src, dst, ids);

  std::vector<std::string> problems;
  for (const auto& c : mig::collections()) {
    if (!c.rest || !c.stored) continue;
    std::set<std::string> targets;
    std::size_t matched = 0;
    for (const auto& [sid, sdoc] : src.at(c.name)) {
      auto it = ids.find(sid);
      if (it == ids.end()) continue;
      ++matched;
      if (!targets.insert(it->second).second)
        problems.push_back("two source documents map to " + it->second);
      if (want.kept.count(it->second)) continue;
      auto expected = mapped(sdoc, ids);
      const auto& got = dst.at(c.name).at(it->second);
      if (expected != got)
        problems.push_back(c.item_type + " " + sid + " -> " + it->second + ":\n  expected " +
                           json::serialize(expected) + "\n  got      " + json::serialize(got));
    }
    auto exported = want.exported.count(c.name) ? want.exported.at(c.name) : 0;
    auto own = want.own.count(c.name) ? want.own.at(c.name) : 0;
    INFO("collection " << c.name);
    CHECK(matched == exported);
    CHECK(dst.at(c.name).size() == exported + own);
  }
  INFO("documents that differ from the source's:\n" << joined(problems));
  CHECK(problems.empty());

  // Every reference of every document, and every owner, fetched by id.
  std::set<std::pair<std::string, std::string>> referenced;  // collection, id
  for (const auto& c : mig::collections()) {
    if (!c.rest || !c.stored) continue;
    for (const auto& [id, doc] : dst.at(c.name)) {
      for (const auto& r : mig::references(c, json::value(doc))) {
        const auto* target = mig::find_collection(r.target);
        if (target && !mig::is_builtin_id(*target, r.id)) referenced.insert({r.target, r.id});
      }
      if (!c.owner_field.empty()) {
        const auto owner = mig::owner_of(c, doc);
        const auto* oc = mig::collection_of_id(owner);
        referenced.insert({oc ? oc->name : "?", owner});
      }
    }
  }
  std::vector<std::string> dangling;
  for (const auto& [collection, id] : referenced) {
    const auto* c = mig::find_collection(collection);
    const std::string path = !c                            ? "/api/Spaces-1/unknown/" + id
                             : collection == "ServerTasks" ? "/api/tasks/" + id
                                                           : "/api/Spaces-1/" + c->route + "/" + id;
    auto r = destination.call("GET", path);
    if (r.status != 200) dangling.push_back("GET " + path + ": " + std::to_string(r.status));
  }
  INFO("references that do not resolve:\n" << joined(dangling));
  CHECK(dangling.empty());
  CHECK(referenced.size() >= 30);

  // History: what the task says of itself, and its log line by line.
  auto src_tasks = tasks_of(source);
  auto dst_tasks = tasks_of(destination);
  std::vector<std::string> task_problems;
  for (const auto& [sid, did] : ids) {
    if (sid.rfind("ServerTasks-", 0) != 0) continue;
    const auto& a = src_tasks.at(sid);
    const auto& b = dst_tasks.at(did);
    for (const char* field : {"SpaceId", "Name", "Description", "State", "QueueTime", "StartTime",
                              "CompletedTime", "ErrorMessage", "HasWarningsOrErrors"})
      if (a.at(field) != b.at(field))
        task_problems.push_back(sid + " -> " + did + ": " + field + " " +
                                json::serialize(a.at(field)) + " became " +
                                json::serialize(b.at(field)));
    auto raw_a = source.call("GET", "/api/tasks/" + sid + "/raw");
    auto raw_b = destination.call("GET", "/api/tasks/" + did + "/raw");
    if (raw_a.status != 200 || raw_b.status != 200 || raw_a.body != raw_b.body ||
        raw_a.body.empty())
      task_problems.push_back(sid + " -> " + did + ": the log differs:\n" + raw_a.body +
                              "became\n" + raw_b.body);
  }
  INFO("history tasks that differ:\n" << joined(task_problems));
  CHECK(task_problems.empty());
  return ids;
}

// ---- the stores themselves ----

// A store opened read-only (a frozen view, while its octomigd runs) with its documents.
struct opened_store {
  std::unique_ptr<octomig::storage::store> store;
  std::unique_ptr<octomig::storage::documents> documents;

  explicit opened_store(const fs::path& data) {
    octomig::storage::options o;
    o.db_dir = data / "db";
    o.mode = octomig::storage::open_mode::read_only;
    auto st = octomig::storage::store::open(o);
    INFO("opening " << o.db_dir.string() << ": " << (st ? "" : st.err().message));
    REQUIRE(st);
    store = std::move(*st);
    auto key = octomig::storage::load_or_create_master_key(octomig::storage::data_dir{data});
    REQUIRE(key);
    documents = std::make_unique<octomig::storage::documents>(*store, *key);
  }
};

// Every sensitive value of every imported document opens, with the destination's master key, to
// what the source's opens to with its own. Only where they differ is shown, never a value.
void check_sensitive_values(instance& source, instance& destination, const id_map& ids) {
  opened_store src(source.data()), dst(destination.data());
  std::map<std::string, std::size_t> compared;  // collection -> values with a plaintext
  for (const auto& c : mig::collections()) {
    if (c.sensitive.empty() || !c.stored) continue;
    auto listed = src.documents->list("Spaces-1", c.name, {});
    REQUIRE(listed);
    for (const auto& doc : *listed) {
      const std::string sid(doc.at("Id").as_string());
      auto it = ids.find(sid);
      if (it == ids.end()) continue;
      auto a = src.documents->get_revealed("Spaces-1", c.name, sid);
      auto b = dst.documents->get_revealed("Spaces-1", c.name, it->second);
      REQUIRE(a);
      REQUIRE(b);
      const json::value av(std::move(*a)), bv(std::move(*b));
      std::map<std::string, const json::value*> theirs;
      for (const auto& p : mig::sensitive_paths(c, bv))
        theirs[p.stable_key] = mig::find_pointer(bv, p.pointer);
      for (const auto& p : mig::sensitive_paths(c, av)) {
        INFO(c.item_type << " " << sid << " -> " << it->second << ", at " << p.stable_key);
        const json::value* mine = mig::find_pointer(av, p.pointer);
        auto there = theirs.find(p.stable_key);
        REQUIRE(there != theirs.end());
        REQUIRE(mine != nullptr);
        REQUIRE(there->second != nullptr);
        const bool same = *mine == *there->second;
        CHECK(same);
        const json::value* plain = mine;
        if (mine->is_object())
          if (const auto* v = mine->as_object().if_contains("NewValue")) plain = v;
        if (plain->is_string() && !plain->get_string().empty()) ++compared[c.name];
      }
    }
  }
  // The seed gives every one of these secrets; the exported projects need some of each.
  for (const char* c : {"Certificates", "Accounts", "VariableSets"}) {
    INFO("sensitive values compared in " << c);
    CHECK(compared[c] > 0);
  }
}

// ---- packages the test writes ----

// A package as an octomig of producer_version would export documents (collection, document with
// its Id; sensitive values revealed), with cheap key derivation and the test's password.
fs::path write_package(const fs::path& dir, const std::string& id, const std::string& version,
                       const std::string& producer_version,
                       const std::vector<std::pair<std::string, json::object>>& documents,
                       bool encrypt = false) {
  octomig::package::writer_options o;
  o.file = dir / (id + "." + version + ".zip");
  o.package_id = id;
  o.package_version = version;
  o.producer_version = producer_version;
  o.source_installation_id = "2f0c7a4e-5b1d-4c1e-9a53-7d7f6c0e9b21";
  o.encrypt = encrypt;
  o.kdf = octomig::package::min_kdf_limits;
  auto w = octomig::package::writer::create(o, kPassword);
  INFO("writing " << o.file.filename().string() << ": " << (w ? "" : w.err().message));
  REQUIRE(w);
  for (const auto& [collection, doc] : documents) {
    auto added = (*w)->add_document(*mig::find_collection(collection), text_of(doc, "Id"), doc);
    INFO("adding " << collection << ": " << (added ? "" : added.err().message));
    REQUIRE(added);
  }
  auto done = (*w)->finish();
  INFO("finishing: " << (done ? "" : done.err().message));
  REQUIRE(done);
  return o.file;
}

std::string sha256_hex(const std::string& bytes) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  REQUIRE(EVP_Digest(bytes.data(), bytes.size(), d, &n, EVP_sha256(), nullptr) == 1);
  return octomig::base::to_hex(d, n);
}

std::string file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
  REQUIRE(out.good());
}

// The uncompressed bytes of one entry of a zip.
std::string zip_entry(const fs::path& file, const std::string& name) {
  int code = 0;
  zip_t* z = zip_open(file.c_str(), ZIP_RDONLY, &code);
  REQUIRE(z != nullptr);
  zip_stat_t st;
  REQUIRE(zip_stat(z, name.c_str(), 0, &st) == 0);
  std::string bytes(st.size, '\0');
  zip_file_t* f = zip_fopen(z, name.c_str(), 0);
  REQUIRE(f != nullptr);
  REQUIRE(zip_fread(f, bytes.data(), bytes.size()) == static_cast<zip_int64_t>(st.size));
  zip_fclose(f);
  zip_discard(z);
  return bytes;
}

// Replaces one entry's bytes, libzip rewriting a valid zip (the CRC matches the new bytes).
void rewrite_entry(const fs::path& file, const std::string& name, const std::string& bytes) {
  int code = 0;
  zip_t* z = zip_open(file.c_str(), 0, &code);
  REQUIRE(z != nullptr);
  auto index = zip_name_locate(z, name.c_str(), 0);
  REQUIRE(index >= 0);
  zip_source_t* src = zip_source_buffer(z, bytes.data(), bytes.size(), 0);
  REQUIRE(src != nullptr);
  REQUIRE(zip_file_replace(z, static_cast<zip_uint64_t>(index), src, 0) == 0);
  REQUIRE(zip_close(z) == 0);
}

// Flips bytes in the middle of an entry's stored (deflated) data, past its local header.
void flip_entry_bytes(const fs::path& file, const std::string& name) {
  auto bytes = file_bytes(file);
  auto at = bytes.find(name);
  REQUIRE(at != std::string::npos);
  REQUIRE(at >= 30);
  const auto header = at - 30;
  REQUIRE(bytes.compare(header, 4, "PK\x03\x04") == 0);
  auto u16 = [&](std::size_t p) {
    return static_cast<std::size_t>(static_cast<unsigned char>(bytes[p])) |
           static_cast<std::size_t>(static_cast<unsigned char>(bytes[p + 1])) << 8;
  };
  const auto data = header + 30 + u16(header + 26) + u16(header + 28);
  REQUIRE(data + 8 < bytes.size());
  for (std::size_t i = 2; i < 6; ++i) bytes[data + i] = static_cast<char>(bytes[data + i] ^ 0x5a);
  write_bytes(file, bytes);
}

// A zip of the entries (name, bytes), deflated at level 1 by libzip; tweak may change an entry
// after it was added.
void build_zip(const fs::path& file,
               const std::vector<std::pair<std::string, const std::string*>>& entries,
               const std::function<void(zip_t*, zip_uint64_t, const std::string&)>& tweak = {}) {
  int code = 0;
  zip_t* z = zip_open(file.c_str(), ZIP_CREATE | ZIP_EXCL, &code);
  REQUIRE(z != nullptr);
  for (const auto& [name, bytes] : entries) {
    zip_source_t* src = zip_source_buffer(z, bytes->data(), bytes->size(), 0);
    REQUIRE(src != nullptr);
    auto index = zip_file_add(z, name.c_str(), src, 0);
    REQUIRE(index >= 0);
    REQUIRE(zip_set_file_compression(z, static_cast<zip_uint64_t>(index), ZIP_CM_DEFLATE, 1) == 0);
    if (tweak) tweak(z, static_cast<zip_uint64_t>(index), name);
  }
  REQUIRE(zip_close(z) == 0);
}

json::object environment(const std::string& id, const std::string& name) {
  return json::object{
      {"Id", id}, {"SpaceId", "Spaces-1"}, {"Name", name}, {"Description", "Written by the test"}};
}

// ---- what every import leaves ----

void check_left_clean(instance& destination) {
  CHECK_FALSE(destination.in_maintenance());
  INFO("the destination's work folder: " << (destination.data() / "work").string());
  CHECK(destination.work_entries() == 0);
}

// The secrets appear nowhere: not in either server's log, not in any task log, not in the events
// octomig-admin prints. Stops the servers.
void check_no_secret_anywhere(const std::vector<std::pair<const char*, instance*>>& servers,
                              const std::vector<std::pair<const char*, std::string>>& secrets,
                              const char* event_expected) {
  std::vector<std::pair<std::string, std::string>> places;
  for (const auto& [name, server] : servers) {
    std::string task_logs;
    for (const auto& [id, task] : tasks_of(*server)) {
      auto raw = server->call("GET", "/api/tasks/" + id + "/raw");
      CHECK(raw.status == 200);
      task_logs += raw.body;
    }
    server->stop();
    auto events = run_tool(server->data(), {"events", "--json"});
    REQUIRE(events.code == 0);
    places.emplace_back(std::string("the task logs of ") + name, task_logs);
    places.emplace_back(std::string("the log of ") + name, server->log());
    places.emplace_back(std::string("the events of ") + name, events.all());
    if (std::string(name) == "the destination") CHECK(contains(events.out, event_expected));
  }
  for (const auto& [where, text] : places)
    for (const auto& [what, secret] : secrets) {
      INFO("searched " << where << " for " << what);
      REQUIRE(secret.size() > 8);
      CHECK_FALSE(contains(text, secret));
    }
}

// A seeded source and an empty destination, both started, and the documented export of kProjects
// (encrypted, with task logs) pushed into the destination's feed as kPackageId 1.0.0.
struct exported_pair {
  instance source{"octomig-import-src", true};
  instance destination{"octomig-import-dst", false};
  std::vector<std::string> export_log;
  std::map<std::string, std::uint64_t> counts;

  exported_pair() {
    source.start();
    destination.start();
    export_log = export_to(source, destination, "1.0.0", true);
    counts = counts_in(export_log);
    INFO("export log:\n" << joined(export_log));
    REQUIRE(counts.size() > 10);
    REQUIRE(counts.at("ServerTasks") > 0);
  }
};

// The password and both admin keys appear in neither server's log, events or task logs.
void check_no_secret_in_either(instance& source, instance& destination) {
  check_no_secret_anywhere({{"the source", &source}, {"the destination", &destination}},
                           {{"the password", kPassword},
                            {"the source's admin key", source.key()},
                            {"the destination's admin key", destination.key()}},
                           "import_committed");
}

}  // namespace

TEST_CASE(
    "a round trip: the documented dry run writes nothing, and the import makes the destination "
    "hold exactly the source's projects, history, logs and secrets",
    "[import]") {
  exported_pair run;
  auto& source = run.source;
  auto& destination = run.destination;
  receiver hook({answer(200)});
  const auto empty = documents_of(destination);
  for (const auto& [collection, docs] : empty) CHECK(docs.empty());

  // The docs' raw request: "IsDryRun": "true" with a // comment and a trailing comma.
  const auto tasks_before = tasks_of(destination);
  const auto dry = start_import(destination, documented_import_body("1.0.0"));
  auto dry_task = destination.wait_until_ended(dry);
  auto dry_log = destination.log_of(dry);
  {
    INFO("dry run log:\n"
         << joined(dry_log) << "ErrorMessage: " << text_of(dry_task, "ErrorMessage"));
    REQUIRE(text_of(dry_task, "State") == "Success");
    CHECK(text_of(dry_task, "Name") == "MigrationImport");
    CHECK(dry_task.at("Arguments").at("IsDryRun") == json::value(true));
    CHECK(has_line(dry_log, "Totals: create " + std::to_string(documents_in(run.counts)) +
                                ", overwrite 0, skip 0, tasks " +
                                std::to_string(run.counts.at("ServerTasks")) +
                                " (dry run: nothing was written)"));
    CHECK(has_line(dry_log, "Create Project 'Web Portal' (Projects-1 -> Projects-1)"));
    CHECK(has_line(dry_log, "Create Project 'Inventory Service' (Projects-3 -> Projects-2)"));
  }
  check_same_documents(empty, documents_of(destination));
  check_same_tasks(tasks_before, tasks_of(destination), dry);
  check_left_clean(destination);

  // DeletePackageOnCompletion only deletes after a real import.
  auto dry_delete = import_request(kPackageId, "1.0.0", true);
  dry_delete["IsDryRun"] = true;
  dry_delete["DeletePackageOnCompletion"] = true;
  const auto second_dry = start_import(destination, dry_delete);
  CHECK(text_of(destination.wait_until_ended(second_dry), "State") == "Success");
  CHECK(destination.packages().size() == 1);
  check_same_documents(empty, documents_of(destination));

  // The real import, which deletes the package and calls back.
  auto request = import_request(kPackageId, "1.0.0", true);
  request["DeletePackageOnCompletion"] = true;
  request["SuccessCallbackUri"] = hook.base_url() + "/hooks/success?token=s3cr";
  request["FailureCallbackUri"] = hook.base_url() + "/hooks/failure?token=f41l";
  const auto id = start_import(destination, request);
  auto task = destination.wait_until_ended(id);
  auto log = destination.log_of(id);
  INFO("import log:\n" << joined(log) << "ErrorMessage: " << text_of(task, "ErrorMessage"));
  REQUIRE(text_of(task, "State") == "Success");
  CHECK(has_line(log, "Totals: created " + std::to_string(documents_in(run.counts)) +
                          ", overwritten 0, skipped 0, tasks " +
                          std::to_string(run.counts.at("ServerTasks"))));

  auto ids = check_closure(source, destination, {run.counts, {}, {}});
  CHECK(ids.at("Projects-1") == "Projects-1");
  CHECK(ids.at("Projects-3") == "Projects-2");
  check_sensitive_values(source, destination, ids);

  // DeletePackageOnCompletion: gone from the feed's index and from its folder.
  CHECK(destination.packages().empty());
  CHECK(destination.feed_files() == 0);
  check_left_clean(destination);

  auto callback = the_one_callback(hook);
  CHECK(callback.method == "GET");
  CHECK(path_of(callback.target) == "/hooks/success");
  auto query = query_of(callback.target);
  CHECK(query["token"] == "s3cr");
  CHECK(query["packageId"] == kPackageId);
  CHECK(query["packageVersion"] == "1.0.0");

  check_no_secret_in_either(source, destination);
}

TEST_CASE(
    "an imported history task's Arguments name the deployment the import made of its deployment",
    "[import]") {
  exported_pair run;
  const auto id = start_import(run.destination, import_request(kPackageId, "1.0.0", true));
  REQUIRE(text_of(run.destination.wait_until_ended(id), "State") == "Success");
  auto ids = map_tasks(run.source, run.destination);
  REQUIRE(ids.size() == run.counts.at("ServerTasks"));
  std::vector<std::string> wrong;
  for (const auto& [source_task, task] : ids) {
    auto t = run.destination.get("/api/tasks/" + task);
    const auto deployment = text_of(t.at("Arguments").as_object(), "DeploymentId");
    auto d = run.destination.call("GET", "/api/Spaces-1/deployments/" + deployment);
    if (d.status != 200 || text_of(object_of(d), "TaskId") != task)
      wrong.push_back(task + " (was " + source_task + ") names " + deployment + ", which is " +
                      (d.status == 200 ? "the deployment of " + text_of(object_of(d), "TaskId")
                                       : "not on the destination"));
  }
  INFO("tasks whose DeploymentId is not their deployment's:\n" << joined(wrong));
  CHECK(wrong.empty());
}

TEST_CASE(
    "documents the destination has by name are matched, skipped on a re-import and replaced in "
    "place with OverwriteExisting",
    "[import]") {
  instance source("octomig-import-src", true);
  instance destination("octomig-import-dst", false);
  source.start();
  destination.start();

  // Unrelated documents first, so that the destination's ids differ from the source's; then
  // decoys with the names of the source's Production environment and Payments project group.
  auto create = [&](const std::string& route, const json::object& body) {
    auto r = destination.call("POST", "/api/Spaces-1/" + route, json::serialize(body));
    INFO("POST " << route << ": " << r.status << " " << r.body);
    REQUIRE(r.status == 201);
    return text_of(object_of(r), "Id");
  };
  create("environments", {{"Name", "Sandbox"}});
  create("environments", {{"Name", "QA Lab"}});
  create("projectgroups", {{"Name", "Unrelated Team"}});
  const auto production =
      create("environments", {{"Name", "Production"}, {"Description", "the destination's own"}});
  const auto payments =
      create("projectgroups", {{"Name", "Payments"}, {"Description", "the destination's own"}});
  const auto decoys = documents_of(destination);
  const std::map<std::string, std::size_t> own{{"Environments", 2}, {"ProjectGroups", 1}};

  auto counts = counts_in(export_to(source, destination, "1.0.0", false));
  auto id = start_import(destination, import_request(kPackageId, "1.0.0", false));
  auto task = destination.wait_until_ended(id);
  auto log = destination.log_of(id);
  {
    INFO("import log:\n" << joined(log) << "ErrorMessage: " << text_of(task, "ErrorMessage"));
    REQUIRE(text_of(task, "State") == "Success");
    CHECK(has_line(log,
                   "Skip Environment 'Production' (Environments-4): the destination has one "
                   "of that name (" +
                       production + "); it is kept"));
    CHECK(has_line(log,
                   "Skip ProjectGroup 'Payments' (ProjectGroups-1): the destination has one "
                   "of that name (" +
                       payments + "); it is kept"));
  }
  // The skipped decoys count as imported documents (they stand for the source's), keep their
  // ids and content, and everything that referred to the source's now refers to them.
  auto ids = check_closure(source, destination, {counts, own, {production, payments}});
  CHECK(ids.at("Environments-4") == production);
  CHECK(ids.at("ProjectGroups-1") == payments);
  auto after_first = documents_of(destination);
  CHECK(after_first.at("Environments").at(production) == decoys.at("Environments").at(production));
  CHECK(after_first.at("ProjectGroups").at(payments) == decoys.at("ProjectGroups").at(payments));
  const auto web_portal = ids.at("Projects-1");
  CHECK(after_first.at("Projects").at(web_portal).at("ProjectGroupId") == json::value(payments));
  check_sensitive_values(source, destination, ids);

  // The same source again, as another package: everything is there, so everything is skipped.
  export_to(source, destination, "1.0.1", false);
  auto tasks_before = tasks_of(destination);
  id = start_import(destination, import_request(kPackageId, "1.0.1", false));
  task = destination.wait_until_ended(id);
  log = destination.log_of(id);
  {
    INFO("re-import log:\n" << joined(log) << "ErrorMessage: " << text_of(task, "ErrorMessage"));
    REQUIRE(text_of(task, "State") == "Success");
    CHECK(has_line(log, "Totals: created 0, overwritten 0, skipped " +
                            std::to_string(documents_in(counts)) + ", tasks 0"));
  }
  check_same_documents(after_first, documents_of(destination));
  check_same_tasks(tasks_before, tasks_of(destination), id);

  // Changed on the destination, then overwritten from the package: in place, same ids and counts.
  auto project = after_first.at("Projects").at(web_portal);
  project["Description"] = "changed on the destination";
  auto put =
      destination.call("PUT", "/api/Spaces-1/projects/" + web_portal, json::serialize(project));
  INFO("PUT the project: " << put.status << " " << put.body);
  REQUIRE(put.status == 200);
  // And secrets changed: a certificate's password and a sensitive variable of the project.
  const std::string changed = "changed-on-the-destination";
  const auto certificate = ids.at("Certificates-1");
  auto cert = after_first.at("Certificates").at(certificate);
  cert["Password"] = json::object{{"HasValue", true}, {"NewValue", changed}};
  put = destination.call("PUT", "/api/Spaces-1/certificates/" + certificate, json::serialize(cert));
  INFO("PUT the certificate: " << put.status << " " << put.body);
  REQUIRE(put.status == 200);
  const auto variable_set = "variableset-" + web_portal;
  auto variables = after_first.at("VariableSets").at(variable_set);
  for (auto& v : variables.at("Variables").as_array())
    if (text_of(v.as_object(), "Name") == "App.ApiKey") v.as_object()["Value"] = changed;
  put = destination.call("PUT", "/api/Spaces-1/variables/" + variable_set,
                         json::serialize(variables));
  INFO("PUT the variables: " << put.status << " " << put.body);
  REQUIRE(put.status == 200);
  {
    opened_store dst(destination.data());
    auto c = dst.documents->get_revealed("Spaces-1", "Certificates", certificate);
    REQUIRE(c);
    CHECK(c->at("Password").at("NewValue") == json::value(changed));
    auto vs = dst.documents->get_revealed("Spaces-1", "VariableSets", variable_set);
    REQUIRE(vs);
    std::size_t found = 0;
    for (const auto& v : vs->at("Variables").as_array())
      if (text_of(v.as_object(), "Name") == "App.ApiKey")
        found += v.at("Value") == json::value(changed) ? 1 : 0;
    CHECK(found == 1);
  }
  tasks_before = tasks_of(destination);
  auto request = import_request(kPackageId, "1.0.1", false);
  request["OverwriteExisting"] = true;
  id = start_import(destination, request);
  task = destination.wait_until_ended(id);
  log = destination.log_of(id);
  {
    INFO("overwrite log:\n" << joined(log) << "ErrorMessage: " << text_of(task, "ErrorMessage"));
    REQUIRE(text_of(task, "State") == "Success");
    CHECK(has_line(log, "Totals: created 0, overwritten " + std::to_string(documents_in(counts)) +
                            ", skipped 0, tasks 0"));
  }
  auto overwritten = documents_of(destination);
  for (const auto& [collection, docs] : after_first) {
    std::vector<std::string> before_ids, after_ids;
    for (const auto& [doc_id, doc] : docs) before_ids.push_back(doc_id);
    for (const auto& [doc_id, doc] : overwritten.at(collection)) after_ids.push_back(doc_id);
    INFO("collection " << collection);
    CHECK(before_ids == after_ids);
  }
  // Now every document, the decoys included, has the package's content.
  auto again = check_closure(source, destination, {counts, own, {}});
  CHECK(again == ids);
  check_sensitive_values(source, destination, ids);
  CHECK(overwritten.at("Projects").at(web_portal).at("Description") ==
        json::value("Deploys Web Portal to every environment"));
  CHECK(text_of(overwritten.at("Environments").at(production), "Description") ==
        "Where prod deployments land");
  check_same_tasks(tasks_before, tasks_of(destination), id);
  check_left_clean(destination);

  check_no_secret_in_either(source, destination);
}

TEST_CASE(
    "an import that fails writes nothing, says what to do, leaves maintenance mode and calls back "
    "once",
    "[import]") {
  instance source("octomig-import-src", true);
  instance destination("octomig-import-dst", false);
  temp_dir files("octomig-import-files");
  receiver hook({answer(200)});
  source.start();
  destination.start();
  for (const char* name : {"Sandbox", "Unrelated Team"}) {
    auto r = destination.call(
        "POST", std::string("/api/Spaces-1/") + (name[0] == 'S' ? "environments" : "projectgroups"),
        json::serialize(json::object{{"Name", name}}));
    REQUIRE(r.status == 201);
  }
  export_to(source, destination, "1.0.0", true);
  export_to(source, destination, "2.0.0", false);
  const auto version = text_of(destination.get("/api"), "Version");
  REQUIRE_FALSE(version.empty());

  // Packages written here: valid but for one thing each.
  const auto& dir = files.path;
  const std::string entry = "documents/Environments/Environments-1.json";
  const auto first = environment("Environments-1", "Crafted Environment");
  const auto second = environment("Environments-2", "Second Environment");
  write_package(dir, "Old.Version", "1.0.0", "0.0.1", {{"Environments", first}});
  write_package(dir, "Missing.Dependency", "1.0.0", version,
                {{"ProjectGroups", {{"Id", "ProjectGroups-9"}, {"Name", "Crafted Group"}}},
                 {"Projects",
                  {{"Id", "Projects-5"},
                   {"Name", "Lonely Project"},
                   {"ProjectGroupId", "ProjectGroups-9"},
                   {"LifecycleId", "Lifecycles-77"}}}});
  flip_entry_bytes(write_package(dir, "Tampered.Bytes", "1.0.0", version,
                                 {{"Environments", first}, {"Environments", second}}),
                   entry);
  rewrite_entry(write_package(dir, "Tampered.Document", "1.0.0", version,
                              {{"Environments", first}, {"Environments", second}}),
                entry, json::serialize(environment("Environments-1", "Tampered Environment")));
  {
    // Changed as one would who knows the format but not the password: the document, and its
    // digest in the manifest.
    const auto file = write_package(dir, "Tampered.Manifest", "1.0.0", version,
                                    {{"Environments", first}, {"Environments", second}});
    const auto changed = json::serialize(environment("Environments-1", "Tampered Environment"));
    auto m = json::parse(zip_entry(file, "manifest.json")).as_object();
    m.at("Entries").as_object()[entry] = sha256_hex(changed);
    rewrite_entry(file, entry, changed);
    rewrite_entry(file, "manifest.json", json::serialize(m));
  }
  flip_entry_bytes(write_package(dir, "Tampered.Payload", "1.0.0", version,
                                 {{"Environments", first}, {"Environments", second}}, true),
                   "payload.bin");
  // Foreign and hostile zips, with a real manifest so that each is refused for what it adds.
  const auto empty = write_package(dir, "Empty", "1.0.0", version, {});
  const auto manifest = zip_entry(empty, "manifest.json");
  const auto mac = zip_entry(empty, "manifest.mac");
  fs::remove(empty);
  const std::string readme = "Not a migration package.\n", doc = "{}", target = "/etc/passwd";
  build_zip(dir / "Not.Migration.1.0.0.zip", {{"readme.txt", &readme}});
  write_bytes(dir / "Not.Zip.1.0.0.zip", "just some text, long enough to look like a file\n");
  build_zip(
      dir / "Hostile.Parent.1.0.0.zip",
      {{"documents/../../x.json", &doc}, {"manifest.json", &manifest}, {"manifest.mac", &mac}});
  build_zip(dir / "Hostile.Absolute.1.0.0.zip",
            {{"/etc/x.json", &doc}, {"manifest.json", &manifest}, {"manifest.mac", &mac}});
  build_zip(dir / "Hostile.Link.1.0.0.zip",
            {{entry, &target}, {"manifest.json", &manifest}, {"manifest.mac", &mac}},
            [&entry](zip_t* z, zip_uint64_t i, const std::string& name) {
              if (name == entry)
                REQUIRE(zip_file_set_external_attributes(z, i, 0, ZIP_OPSYS_UNIX,
                                                         (S_IFLNK | 0777u) << 16) == 0);
            });
  {
    // An encrypted payload of 300 MiB of documents: deflated at level 1 (about 230 to 1), more
    // than 200 times its package's size and more than 256 MiB.
    octomig::package::writer_options o;
    o.file = dir / "Payload.Bomb.1.0.0.zip";
    o.package_id = "Payload.Bomb";
    o.package_version = "1.0.0";
    o.producer_version = version;
    o.source_installation_id = "2f0c7a4e-5b1d-4c1e-9a53-7d7f6c0e9b21";
    o.encrypt = true;
    o.kdf = octomig::package::min_kdf_limits;
    auto w = octomig::package::writer::create(o, kPassword);
    REQUIRE(w);
    const std::string notes(std::size_t{20} << 20, 'n');
    for (int i = 1; i <= 15; ++i) {
      auto doc = environment("Environments-" + std::to_string(i), "Big " + std::to_string(i));
      doc["Description"] = notes;
      REQUIRE((*w)->add_document(*mig::find_collection("Environments"), text_of(doc, "Id"), doc));
    }
    auto done = (*w)->finish();
    REQUIRE(done);
    INFO("the payload bomb's file is " << done->size_bytes << " bytes");
    CHECK(done->size_bytes * 200 < std::uint64_t{300} << 20);
  }
  {
    // Two entries of 130 MiB of blanks: 260 MiB from a file of a few hundred KiB.
    const std::string blanks(std::size_t{130} << 20, ' ');
    build_zip(dir / "Zip.Bomb.1.0.0.zip", {{entry, &blanks},
                                           {"documents/Environments/Environments-2.json", &blanks},
                                           {"manifest.json", &manifest},
                                           {"manifest.mac", &mac}});
    const auto size = fs::file_size(dir / "Zip.Bomb.1.0.0.zip");
    INFO("the bomb's file is " << size << " bytes");
    CHECK(size * 200 < std::uint64_t{256} << 20);
  }
  for (const auto& f : fs::directory_iterator(dir)) {
    auto r = destination.upload(f.path(), f.path().filename().string());
    INFO("upload of " << f.path().filename().string() << ": " << r.status << " " << r.body);
    REQUIRE(r.status == 201);
  }

  struct failing_import {
    const char* what;
    std::string package_id, version;
    bool encrypted;
    std::string password;
    std::vector<std::string> message;  // what ErrorMessage must contain
  };
  const std::vector<failing_import> cases = {
      {"a wrong password",
       kPackageId,
       "1.0.0",
       true,
       kWrongPassword,
       {"The password does not match the one the package was exported with."}},
      {"an encrypted package, IsEncryptedPackage false",
       kPackageId,
       "1.0.0",
       false,
       kPassword,
       {"The package is encrypted, but IsEncryptedPackage is false",
        "set IsEncryptedPackage to true"}},
      {"a package that is not encrypted, IsEncryptedPackage true",
       kPackageId,
       "2.0.0",
       true,
       kPassword,
       {"The package is not encrypted, but IsEncryptedPackage is true",
        "set IsEncryptedPackage to false"}},
      {"a package of another octomig version",
       "Old.Version",
       "1.0.0",
       false,
       kPassword,
       {"exported by octomig 0.0.1", "this server runs octomig " + version, "same version"}},
      {"a project whose lifecycle is neither in the package nor on the destination",
       "Missing.Dependency",
       "1.0.0",
       false,
       kPassword,
       {"Project 'Lonely Project' (Projects-5)", "missing dependency Lifecycles-77",
        "nothing was written"}},
      {"bytes flipped in a document's entry",
       "Tampered.Bytes",
       "1.0.0",
       false,
       kPassword,
       {"is damaged or was changed after it was exported", entry}},
      {"a document rewritten after the export",
       "Tampered.Document",
       "1.0.0",
       false,
       kPassword,
       {"is damaged or was changed after it was exported", entry,
        "does not match its digest in the manifest"}},
      {"a document and its digest in the manifest rewritten",
       "Tampered.Manifest",
       "1.0.0",
       false,
       kPassword,
       {"is damaged or was changed after it was exported", "manifest.mac does not match"}},
      {"bytes flipped in an encrypted payload",
       "Tampered.Payload",
       "1.0.0",
       true,
       kPassword,
       {"is damaged or was changed after it was exported", "payload.bin"}},
      {"a zip that is not a migration package",
       "Not.Migration",
       "1.0.0",
       false,
       kPassword,
       {"The package cannot be imported: ", "manifest.json"}},
      {"a file that is not a zip",
       "Not.Zip",
       "1.0.0",
       false,
       kPassword,
       {"The package cannot be imported: "}},
      {"an entry name with ../",
       "Hostile.Parent",
       "1.0.0",
       false,
       kPassword,
       {"The package cannot be imported: ", "\"..\" path segment"}},
      {"an absolute entry name",
       "Hostile.Absolute",
       "1.0.0",
       false,
       kPassword,
       {"The package cannot be imported: ", "absolute path"}},
      {"a symbolic link entry",
       "Hostile.Link",
       "1.0.0",
       false,
       kPassword,
       {"The package cannot be imported: ", "symbolic link"}},
      {"a zip bomb",
       "Zip.Bomb",
       "1.0.0",
       false,
       kPassword,
       {"The package cannot be imported: ", "268435456 bytes in all"}},
      {"an encrypted payload that inflates past the bound",
       "Payload.Bomb",
       "1.0.0",
       true,
       kPassword,
       {"is damaged or was changed after it was exported",
        "the decompressed payload is over the size limit"}},
  };

  const auto own = documents_of(destination);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    INFO("case " << i << ": " << c.what);
    const auto docs_before = documents_of(destination);
    const auto tasks_before = tasks_of(destination);
    const auto packages_before = destination.packages().size();
    auto request = import_request(c.package_id, c.version, c.encrypted, c.password);
    request["DeletePackageOnCompletion"] = true;
    request["SuccessCallbackUri"] = hook.base_url() + "/hooks/success/" + std::to_string(i);
    request["FailureCallbackUri"] = hook.base_url() + "/hooks/failure/" + std::to_string(i);
    const auto id = start_import(destination, request);
    auto task = destination.wait_until_ended(id);
    const auto message = text_of(task, "ErrorMessage");
    INFO("task log:\n" << joined(destination.log_of(id)) << "ErrorMessage: " << message);
    CHECK(text_of(task, "State") == "Failed");
    for (const auto& part : c.message) {
      INFO("the message should contain: " << part);
      CHECK(contains(message, part));
    }
    check_same_documents(docs_before, documents_of(destination));
    check_same_tasks(tasks_before, tasks_of(destination), id);
    CHECK(destination.packages().size() == packages_before);
    check_left_clean(destination);
  }
  check_same_documents(own, documents_of(destination));

  // One failure callback per import, and no success callback.
  REQUIRE(hook.wait_for_requests(cases.size(), 10s));
  CHECK_FALSE(hook.wait_for_requests(cases.size() + 1, 1s));
  std::map<std::string, int> calls;
  for (const auto& r : hook.requests()) ++calls[r.method + " " + r.target];
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO("case " << i << ": " << cases[i].what);
    CHECK(calls["GET /hooks/failure/" + std::to_string(i)] == 1);
  }
  CHECK(calls.size() == cases.size());

  // No id counter moved: new documents get the ids that follow the destination's own.
  auto create = [&](const std::string& route, const json::object& body) {
    auto r = destination.call("POST", "/api/Spaces-1/" + route, json::serialize(body));
    INFO("POST " << route << ": " << r.status << " " << r.body);
    REQUIRE(r.status == 201);
    return text_of(object_of(r), "Id");
  };
  CHECK(create("environments", {{"Name", "Probe"}}) == "Environments-2");
  const auto group = create("projectgroups", {{"Name", "Probe Group"}});
  CHECK(group == "ProjectGroups-2");
  const auto lifecycle = create("lifecycles", {{"Name", "Probe"}});
  CHECK(lifecycle == "Lifecycles-1");
  const auto project = create(
      "projects", {{"Name", "Probe"}, {"ProjectGroupId", group}, {"LifecycleId", lifecycle}});
  CHECK(project == "Projects-1");
  auto channels = destination.get("/api/Spaces-1/projects/" + project + "/channels");
  REQUIRE(channels.at("Items").as_array().size() == 1);
  CHECK(text_of(channels.at("Items").as_array()[0].as_object(), "Id") == "Channels-1");

  check_no_secret_anywhere({{"the source", &source}, {"the destination", &destination}},
                           {{"the password", kPassword},
                            {"the wrong password", kWrongPassword},
                            {"the source's admin key", source.key()},
                            {"the destination's admin key", destination.key()}},
                           "task_failed");
}

TEST_CASE(
    "a bad import request is refused with a 400 in the Octopus shape naming every problem, and a "
    "missing or user key with 401 or 403",
    "[import]") {
  instance destination("octomig-import-dst", false);
  temp_dir files("octomig-import-files");
  // A user key, made with the server stopped (its first start made the data directory).
  destination.start();
  destination.stop();
  auto user = run_tool(destination.data(), {"apikeys", "create", "--name", "u"});
  INFO("apikeys create (stderr): " << user.err);
  REQUIRE(user.code == 0);
  const std::string user_key = user.out.substr(0, user.out.find_first_of("\r\n"));
  REQUIRE(user_key.rfind("API-", 0) == 0);
  destination.start();
  const auto version = text_of(destination.get("/api"), "Version");
  const auto file =
      write_package(files.path, "Valid.Package", "1.0.0", version,
                    {{"Environments", environment("Environments-1", "Crafted Environment")}});
  REQUIRE(destination.upload(file, file.filename().string()).status == 201);
  const auto tasks_before = destination.get("/api/tasks").at("TotalResults");

  const auto valid = import_request("Valid.Package", "1.0.0", false);
  auto without = [&valid](const char* field) {
    auto body = valid;
    body.erase(field);
    return json::serialize(body);
  };
  auto with = [&valid](const char* field, json::value v) {
    auto body = valid;
    body[field] = std::move(v);
    return json::serialize(body);
  };
  struct bad_request {
    const char* what;
    std::string body;
    std::vector<std::string> named;  // in ErrorMessage or Errors
  };
  const std::vector<bad_request> cases = {
      {"no body", "", {"No request body was supplied."}},
      {"an empty object",
       "{}",
       {"Missing expected 'PackageId' parameter.", "Missing expected 'PackageVersion' parameter.",
        "Missing expected 'Password' parameter."}},
      {"no PackageId", without("PackageId"), {"Missing expected 'PackageId' parameter."}},
      {"no PackageVersion",
       without("PackageVersion"),
       {"Missing expected 'PackageVersion' parameter."}},
      {"no Password", without("Password"), {"Missing expected 'Password' parameter."}},
      {"an empty Password", with("Password", ""), {"Missing expected 'Password' parameter."}},
      {"a package that is not in the feed",
       with("PackageId", "No.Such.Package"),
       {"The package No.Such.Package 1.0.0 is not in the built-in feed of Spaces-1."}},
      {"a feed space that does not exist",
       with("PackageFeedSpaceId", "Spaces-9"),
       {"The space 'Spaces-9' does not exist."}},
      {"IsDryRun neither true nor false",
       with("IsDryRun", "maybe"),
       {"The value of 'IsDryRun' must be true or false."}},
      {"a failure callback that is not a URL",
       with("FailureCallbackUri", "not a url"),
       {"FailureCallbackUri"}},
      {"a body that is not JSON", "{\"PackageId\": ", {}},
  };
  for (const auto& c : cases) {
    auto r = destination.call("POST", kImport, c.body);
    INFO("case: " << c.what << "\nresponse " << r.status << ": " << r.body);
    CHECK(r.status == 400);
    auto error = object_of(r);
    REQUIRE(error.at("ErrorMessage").is_string());
    REQUIRE(error.at("Errors").is_array());
    std::string said = text_of(error, "ErrorMessage");
    for (const auto& e : error.at("Errors").as_array())
      if (e.is_string()) said += "\n" + std::string(e.get_string());
    for (const auto& n : c.named) {
      INFO("the error should name: " << n);
      CHECK(contains(said, n));
    }
  }
  {
    auto r = destination.call_as("", "POST", kImport, json::serialize(valid));
    INFO("no key: " << r.status << " " << r.body);
    CHECK(r.status == 401);
    CHECK(object_of(r).at("ErrorMessage").is_string());
  }
  {
    auto r = destination.call_as(user_key, "POST", kImport, json::serialize(valid));
    INFO("a user key: " << r.status << " " << r.body);
    CHECK(r.status == 403);
    CHECK(object_of(r).at("ErrorMessage").is_string());
  }
  // Nothing was queued, maintenance mode was never taken, and the package is still there.
  CHECK(destination.get("/api/tasks").at("TotalResults") == tasks_before);
  CHECK_FALSE(destination.in_maintenance());
  CHECK(destination.packages().size() == 1);
  const auto log = destination.log();
  for (const auto& [what, secret] :
       std::vector<std::pair<const char*, std::string>>{{"the password", kPassword},
                                                        {"the admin key", destination.key()},
                                                        {"the user key", user_key}}) {
    INFO("searched octomigd's log for " << what);
    CHECK_FALSE(contains(log, secret));
  }
}

TEST_CASE(
    "an import whose server is killed in its commit is Failed after the restart, wrote nothing "
    "and calls back once, and one queued behind it fails asking for the request again",
    "[import]") {
  instance source("octomig-import-src", true);
  instance destination("octomig-import-dst", false);
  receiver running_hook({answer(200)}), queued_hook({answer(200)});
  source.start();
  destination.start({{"OCTOMIG_TEST_PAUSE_IN_STEP", "Commit import"}});
  const auto counts = counts_in(export_to(source, destination, "1.0.0", true));
  const auto before = documents_of(destination);

  auto with_hook = [](const receiver& hook) {
    auto request = import_request(kPackageId, "1.0.0", true);
    request["SuccessCallbackUri"] = hook.base_url() + "/hooks/success";
    request["FailureCallbackUri"] = hook.base_url() + "/hooks/failure";
    return request;
  };
  const auto running = start_import(destination, with_hook(running_hook));
  {
    auto lines = destination.wait_for_line(running, "Paused for a test");
    auto paused = std::find(lines.begin(), lines.end(), "Paused for a test");
    INFO("task log:\n" << joined(lines));
    REQUIRE(paused != lines.end());
    REQUIRE(paused != lines.begin());
    CHECK(*std::prev(paused) == "Step started: Commit import");
  }
  // One task runs at a time: the second waits in the queue, its password in memory only.
  const auto queued = start_import(destination, with_hook(queued_hook));
  CHECK(text_of(destination.get("/api/tasks/" + queued), "State") == "Queued");
  CHECK(destination.in_maintenance());

  destination.crash();
  destination.start();  // without the pause
  {
    auto task = destination.wait_until_ended(running);
    const auto message = text_of(task, "ErrorMessage");
    INFO("task log:\n"
         << joined(destination.log_of(running)) << "ErrorMessage: " << message
         << "\noctomigd's log:\n"
         << destination.log());
    CHECK(text_of(task, "State") == "Failed");
    CHECK(contains(message, "restarted"));
    CHECK(contains(message, "before anything was written"));
  }
  {
    auto task = destination.wait_until_ended(queued);
    const auto message = text_of(task, "ErrorMessage");
    INFO("task log:\n" << joined(destination.log_of(queued)) << "ErrorMessage: " << message);
    CHECK(text_of(task, "State") == "Failed");
    CHECK(contains(message, "Request the import again"));
  }
  check_same_documents(before, documents_of(destination));
  check_left_clean(destination);
  for (const auto* hook : {&running_hook, &queued_hook}) {
    auto callback = the_one_callback(*hook);
    CHECK(callback.method == "GET");
    CHECK(path_of(callback.target) == "/hooks/failure");
  }

  // The package is still in the feed, and the import asked for again brings everything.
  CHECK(destination.packages().size() == 1);
  const auto again = start_import(destination, import_request(kPackageId, "1.0.0", true));
  auto task = destination.wait_until_ended(again);
  INFO("task log:\n"
       << joined(destination.log_of(again)) << "ErrorMessage: " << text_of(task, "ErrorMessage"));
  REQUIRE(text_of(task, "State") == "Success");
  check_closure(source, destination, {counts, {}, {}});
  check_left_clean(destination);

  check_no_secret_in_either(source, destination);
}

TEST_CASE(
    "an import whose server is killed after its commit is Failed after the restart saying its "
    "documents are in place, and importing the package again skips them all",
    "[import]") {
  instance source("octomig-import-src", true);
  instance destination("octomig-import-dst", false);
  receiver hook({answer(200)});
  source.start();
  destination.start({{"OCTOMIG_TEST_PAUSE_IN_STEP", "Finish import"}});
  const auto counts = counts_in(export_to(source, destination, "1.0.0", true));

  auto request = import_request(kPackageId, "1.0.0", true);
  request["DeletePackageOnCompletion"] = true;
  request["SuccessCallbackUri"] = hook.base_url() + "/hooks/success";
  request["FailureCallbackUri"] = hook.base_url() + "/hooks/failure";
  const auto id = start_import(destination, request);
  {
    auto lines = destination.wait_for_line(id, "Paused for a test");
    auto paused = std::find(lines.begin(), lines.end(), "Paused for a test");
    INFO("task log:\n" << joined(lines));
    REQUIRE(paused != lines.end());
    REQUIRE(paused != lines.begin());
    CHECK(*std::prev(paused) == "Step started: Finish import");
    CHECK(has_line(lines, "Step finished: Commit import (" + std::to_string(documents_in(counts)) +
                              " created, 0 overwritten, 0 skipped)"));
  }
  destination.crash();
  destination.start();  // without the pause
  {
    auto task = destination.wait_until_ended(id);
    const auto message = text_of(task, "ErrorMessage");
    INFO("task log:\n"
         << joined(destination.log_of(id)) << "ErrorMessage: " << message << "\noctomigd's log:\n"
         << destination.log());
    CHECK(text_of(task, "State") == "Failed");
    CHECK(contains(message, "restarted after this import was committed"));
    CHECK(contains(message, "in place"));
  }
  // Everything was committed; the package stays, as the import did not succeed.
  check_closure(source, destination, {counts, {}, {}});
  check_left_clean(destination);
  CHECK(destination.packages().size() == 1);
  auto callback = the_one_callback(hook);
  CHECK(callback.method == "GET");
  CHECK(path_of(callback.target) == "/hooks/failure");

  const auto before = documents_of(destination);
  const auto tasks_before = tasks_of(destination);
  const auto again = start_import(destination, import_request(kPackageId, "1.0.0", true));
  auto task = destination.wait_until_ended(again);
  auto log = destination.log_of(again);
  INFO("task log:\n" << joined(log) << "ErrorMessage: " << text_of(task, "ErrorMessage"));
  REQUIRE(text_of(task, "State") == "Success");
  CHECK(has_line(log, "Totals: created 0, overwritten 0, skipped " +
                          std::to_string(documents_in(counts)) + ", tasks 0"));
  check_same_documents(before, documents_of(destination));
  check_same_tasks(tasks_before, tasks_of(destination), again);

  check_no_secret_in_either(source, destination);
}

TEST_CASE(
    "references the export left out (IgnoreMachines, IgnoreCertificates) fail the import naming "
    "them until the destination has documents of those names, which they then refer to",
    "[import]") {
  instance source("octomig-import-src", true);
  instance destination("octomig-import-dst", false);
  source.start();
  destination.start();
  auto echo = source.start_export(json::object{{"PackageId", "Left.Out"},
                                               {"PackageVersion", "1.0.0"},
                                               {"Password", kPassword},
                                               {"Projects", json::array{"Web Portal"}},
                                               {"IgnoreMachines", true},
                                               {"IgnoreCertificates", true},
                                               {"DestinationApiKey", destination.key()},
                                               {"DestinationPackageFeed", destination.base_url()}});
  REQUIRE(text_of(source.wait_until_ended(text_of(echo, "TaskId")), "State") == "Success");

  // Nothing of those names on the destination: each reference is a problem, and nothing is
  // written.
  const auto before = documents_of(destination);
  auto id = start_import(destination, import_request("Left.Out", "1.0.0", false));
  auto task = destination.wait_until_ended(id);
  auto log = destination.log_of(id);
  {
    INFO("task log:\n" << joined(log) << "ErrorMessage: " << text_of(task, "ErrorMessage"));
    CHECK(text_of(task, "State") == "Failed");
    for (const auto* missing :
         {"missing dependency Machine 'dev-web-01' (Machines-1, at /Variables/",
          "missing dependency Machine 'prod-web-01' (Machines-10, at /Variables/",
          "missing dependency Certificate 'Wildcard example.com' (Certificates-1, at "
          "/Variables/"}) {
      INFO("the log should say: " << missing);
      CHECK(std::any_of(log.begin(), log.end(), [&](const std::string& l) {
        return contains(l, missing) && contains(l, "the export left it out");
      }));
    }
    CHECK(has_line(log, "4 errors were encountered"));
    CHECK(contains(text_of(task, "ErrorMessage"), "nothing was written"));
  }
  check_same_documents(before, documents_of(destination));
  check_left_clean(destination);

  // Made on the destination, by name: the imported variables refer to them.
  auto create = [&](const std::string& route, const json::object& body) {
    auto r = destination.call("POST", "/api/Spaces-1/" + route, json::serialize(body));
    INFO("POST " << route << ": " << r.status << " " << r.body);
    REQUIRE(r.status == 201);
    return text_of(object_of(r), "Id");
  };
  const auto production = create("environments", {{"Name", "Production"}});
  const auto development = create("environments", {{"Name", "Development"}});
  const auto dev_web = create("machines", {{"Name", "dev-web-01"},
                                           {"EnvironmentIds", json::array{development}},
                                           {"Roles", json::array{"web-server"}}});
  const auto prod_web = create("machines", {{"Name", "prod-web-01"},
                                            {"EnvironmentIds", json::array{production}},
                                            {"Roles", json::array{"web-server"}}});
  const auto certificate = create(
      "certificates", {{"Name", "Wildcard example.com"},
                       {"CertificateData", {{"HasValue", true}, {"NewValue", "MIIdestination"}}}});
  id = start_import(destination, import_request("Left.Out", "1.0.0", false));
  task = destination.wait_until_ended(id);
  log = destination.log_of(id);
  INFO("task log:\n" << joined(log) << "ErrorMessage: " << text_of(task, "ErrorMessage"));
  REQUIRE(text_of(task, "State") == "Success");
  CHECK(has_line(log, "4 reference(s) the export left out were found on this server by name"));
  auto project = destination.get("/api/Spaces-1/projects/web-portal");
  auto variables =
      destination.get("/api/Spaces-1/projects/" + text_of(project, "Id") + "/variables");
  std::set<std::string> machines, certificates;
  for (const auto& v : variables.at("Variables").as_array()) {
    const auto& o = v.as_object();
    if (text_of(o, "Type") == "Certificate") certificates.insert(text_of(o, "Value"));
    if (const auto* scope = o.at("Scope").as_object().if_contains("Machine"))
      for (const auto& m : scope->as_array()) machines.insert(std::string(m.as_string()));
  }
  CHECK(machines == std::set<std::string>{dev_web, prod_web});
  CHECK(certificates == std::set<std::string>{certificate});
  // They stay the destination's: a left-out document is never written by the import.
  CHECK(destination.get("/api/Spaces-1/machines").at("TotalResults") == json::value(2));
  CHECK(destination.get("/api/Spaces-1/certificates").at("TotalResults") == json::value(1));
}

TEST_CASE(
    "a document an administrator creates between the plan and the commit refuses the whole "
    "import, which writes nothing and succeeds when run again",
    "[import]") {
  instance source("octomig-import-src", true);
  instance destination("octomig-import-dst", false);
  source.start();
  // The commit step waits up to 3 s before it goes on: the write below lands in that window.
  destination.start({{"OCTOMIG_TEST_PAUSE_IN_STEP", "Commit import:3000"}});
  const auto counts = counts_in(export_to(source, destination, "1.0.0", true));
  const auto before = documents_of(destination);

  const auto id = start_import(destination, import_request(kPackageId, "1.0.0", true));
  destination.wait_for_line(id, "Paused for a test");
  // Administrators may write in maintenance mode; this takes the id the plan gave Development.
  auto r = destination.call("POST", "/api/Spaces-1/environments",
                            json::serialize(json::object{{"Name", "Written Meanwhile"}}));
  INFO("POST environments: " << r.status << " " << r.body);
  REQUIRE(r.status == 201);
  CHECK(text_of(object_of(r), "Id") == "Environments-1");
  auto task = destination.wait_until_ended(id);
  const auto message = text_of(task, "ErrorMessage");
  {
    INFO("task log:\n" << joined(destination.log_of(id)) << "ErrorMessage: " << message);
    CHECK(text_of(task, "State") == "Failed");
    CHECK(contains(message, "Nothing was written"));
    CHECK(contains(message, "Run the import again"));
  }
  auto after = documents_of(destination);
  CHECK(after.at("Environments").size() == 1);
  after.at("Environments").clear();
  check_same_documents(before, after);
  check_left_clean(destination);

  // Run again (on a server without the pause), the import plans around the new document.
  destination.stop();
  destination.start();
  const auto again = start_import(destination, import_request(kPackageId, "1.0.0", true));
  task = destination.wait_until_ended(again);
  INFO("task log:\n"
       << joined(destination.log_of(again)) << "ErrorMessage: " << text_of(task, "ErrorMessage"));
  REQUIRE(text_of(task, "State") == "Success");
  check_closure(source, destination, {counts, {{"Environments", 1}}, {}});
}
