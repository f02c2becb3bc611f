// The import plan (design §9): what an import does with every document of a package, decided over
// the schema table with no code of its own per collection. Pure: the destination is read through
// a destination_view (a snapshot of the store in the server, maps in tests); nothing is written.
//
//   match     each document by name within its space or owner; a one-per-owner document (a
//             project's variable set) by its owner; a document without a name (a deployment) and
//             a task by what an earlier import of the same source made of it
//   decide    create (a new destination id), overwrite (OverwriteExisting: in place, keeping the
//             destination's id) or skip (the destination's document stays as it is)
//   rewrite   every reference through the id map, conditional ones, ids inside nested arrays and
//             ids used as object keys included; a reference the export left out on purpose (the
//             manifest's LeftOut) is found on the destination by name; an object key naming a
//             document the export did not include (NotExported) that the destination lacks is
//             dropped with its value, and listed
//
// A reference that resolves nowhere is a problem naming the document and the missing id; a plan
// with problems must not be written.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "events/error.hpp"
#include "migration/schema.hpp"

namespace octomig::migration {

// The destination as the plan reads it: one consistent moment. Reads report failures; absent is
// not a failure.
class destination_view {
 public:
  virtual ~destination_view() = default;
  // By name in its uniqueness scope (owner_id empty for space-unique names).
  virtual result<std::optional<std::string>> id_by_name(const std::string& space,
                                                        const std::string& collection,
                                                        const std::string& owner_id,
                                                        const std::string& name) const = 0;
  virtual result<bool> exists(const std::string& space, const std::string& collection,
                              const std::string& id) const = 0;
  // The highest id number a counter-numbered collection handed out.
  virtual result<std::uint64_t> counter(const std::string& collection) const = 0;
  // What an earlier import of the same source installation made of source_id.
  virtual result<std::optional<std::string>> imported_as(const std::string& source_id) const = 0;
  virtual result<bool> task_exists(const std::string& id) const = 0;
  // The first of `count` consecutive task numbers (ServerTasks-N) the plan may give the tasks it
  // records: numbers no other task has or will get. Called once, when count > 0.
  virtual result<std::uint64_t> first_task_number(std::uint64_t count) const = 0;
};

// A document of the package, sensitive values already opened (in the form a client sends them).
struct package_document {
  std::string collection;
  std::string id;  // its id in the source
  json::object body;
};

// A reference the export left out on purpose (manifest "LeftOut"): found on the destination by
// its collection and name.
struct left_out_entry {
  std::string collection;
  std::string id;
  std::string name;
  std::string flag;  // "IgnoreMachines", ... or "NotExported"
};

struct import_options {
  std::string space_id = "Spaces-1";
  bool overwrite = false;  // OverwriteExisting
};

enum class import_action { create, overwrite, skip };
const char* to_string(import_action a);  // "Create", "Overwrite", "Skip"

struct planned_document {
  std::string collection;
  std::string source_id;
  std::string id;  // the destination id: new (create) or the matched one
  std::string name;
  import_action action = import_action::create;
  std::string reason;  // why, for the dry run's log
  json::object body;   // create and overwrite: rewritten, as it is to be stored (without secrets
                       // sealed yet); empty for skip
};

struct planned_task {
  std::string source_id;
  std::string id;                                // the destination's ServerTasks-N
  import_action action = import_action::create;  // create or skip (history is never overwritten)
  std::string reason;
};

struct import_plan {
  std::vector<planned_document> documents;  // in package order (owners before what they own)
  std::vector<planned_task> tasks;
  // Counter-numbered collections ids were allocated from: the counter read, the highest number
  // handed out.
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> counters;
  std::uint64_t left_out_resolved = 0;
  // (collection, source id) -> destination id, of every document and task the plan placed.
  std::map<std::pair<std::string, std::string>, std::string> ids;
  // References that resolve nowhere, documents whose owner is missing: the import must fail.
  std::vector<std::string> problems;
  // What the import leaves out on purpose, for the task's warnings: a connection keyed by a
  // project the export did not include and this server does not have (a tenant's connection to
  // another project) is dropped, not a reason to fail.
  std::vector<std::string> dropped;
};

// Plans the import of documents (package order: the schema table's, so owners come first) and of
// the history tasks task_ids into the destination. errc::unavailable ("stopped") when stop()
// turns true, which it checks between documents; a failed read of the destination is its error.
result<import_plan> plan_import(std::vector<package_document> documents,
                                const std::vector<std::string>& task_ids,
                                const std::vector<left_out_entry>& left_out,
                                const destination_view& destination, const import_options& options,
                                const std::function<bool()>& stop = {});

// A history task's resource (the package's ServerTasks entry) with the references the schema table
// names in it (its Arguments) rewritten through the plan's id map; a reference to something the
// plan did not place becomes null, so that it never names an unrelated document here.
json::object remap_task(const import_plan& plan, json::object task);

}  // namespace octomig::migration
