// The export closure (design §8): the named projects and every document they need, found by
// walking the schema table's references, ownership and "pulled_by" rules; no collection has code
// of its own. Pure: the documents come from a document_source (a snapshot of the store in the
// server, a map in tests).
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "events/error.hpp"
#include "migration/schema.hpp"

namespace octomig::migration {

// A document as another names it.
struct document_ref {
  std::string collection;
  std::string id;
  bool operator<(const document_ref& o) const {
    return collection != o.collection ? collection < o.collection : id < o.id;
  }
  bool operator==(const document_ref& o) const { return collection == o.collection && id == o.id; }
};

// The documents of one consistent moment. Sensitive values come opened (the export re-seals them
// with the migration password). Reads report failures; absent is not a failure.
class document_source {
 public:
  virtual ~document_source() = default;
  virtual result<std::optional<json::object>> get_revealed(const std::string& space,
                                                           const std::string& collection,
                                                           const std::string& id) const = 0;
  // The documents owned by (collection, id): a project's channels, a release's deployments.
  virtual result<std::vector<document_ref>> owned_by(const std::string& space,
                                                     const std::string& collection,
                                                     const std::string& id) const = 0;
  // The documents whose references name (collection, id): the machines in an environment.
  virtual result<std::vector<document_ref>> referrers(const std::string& space,
                                                      const std::string& collection,
                                                      const std::string& id) const = 0;
  // By name in its uniqueness scope (owner_id empty for space-unique names); nullopt if none.
  virtual result<std::optional<std::string>> id_by_name(const std::string& space,
                                                        const std::string& collection,
                                                        const std::string& owner_id,
                                                        const std::string& name) const = 0;
};

// The request's Ignore* flags, by name ("IgnoreMachines"), as the schema table names them.
using ignore_flags = std::set<std::string>;

// A reference into a part an Ignore* flag left out: the import resolves it against the
// destination by the referenced document's name instead of failing.
struct left_out_reference {
  std::string collection;  // of the referenced document ("Machines")
  std::string id;          // its id in the source
  std::string name;        // its name, by which the destination finds it (may be empty)
  std::string flag;        // the flag that left it out ("IgnoreMachines")
  document_ref referenced_by;
};

struct export_closure {
  // Every document to export, in the schema table's order (a collection's references point at
  // earlier collections), then in id order.
  std::vector<document_ref> documents;
  // The tasks of the exported deployments (ServerTasks-N), in id order.
  std::vector<std::string> task_ids;
  std::vector<left_out_reference> left_out;
};

// The closure of the given projects (ids in space). Fails with errc::invalid_argument when a
// document names one that does not exist ("Project 'Web' (Projects-1) refers to Environments-9,
// which does not exist"), and with errc::unavailable ("stopped") when stop() turns true, which it
// checks between documents.
result<export_closure> collect_closure(const document_source& src, const std::string& space,
                                       const std::vector<std::string>& project_ids,
                                       const ignore_flags& ignored,
                                       const std::function<bool()>& stop = {});

}  // namespace octomig::migration
