// The document store: an instance's resources (projects, environments, ...) in the `documents`,
// `names` and `references` column families, driven by the schema table of migration/. Sensitive
// values are sealed with a key derived from the master key and are never handed out in plaintext
// by the API reads.
//
// Every write goes through execute(): the documents it changes, the name index, the reverse
// reference index and the id counters go into ONE synced WriteBatch, under a mutex held from the
// checks to the write, so names stay unique and counters never hand out an id twice. Keeping it
// one function means it can move behind an actor (design §2: commands go through actors) as one
// change.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "events/error.hpp"
#include "migration/closure.hpp"
#include "storage/store.hpp"

namespace octomig::storage {

namespace json = boost::json;

struct document_query {
  std::vector<std::string> ids;  // empty: any
  std::string partial_name;      // case-insensitive substring of the name; empty: any
  std::string name;              // case-insensitive whole name; empty: any
  std::string owner_id;          // only the documents of this owner; empty: any
};

struct document_page {
  std::vector<json::object> items;
  std::size_t total = 0;  // matching documents in all pages
};

enum class document_op { create, replace, remove };

struct document_command {
  document_op op = document_op::create;
  std::string space_id;
  std::string collection;  // a collection name of the schema table ("Projects")
  std::string id;          // replace and remove
  json::object body;       // create and replace, as the client sent it
};

// An import (design §9): many documents created or replaced in one write, with the history tasks
// that come with them. The importer plans it (ids, rewritten references); the store checks it
// again and writes it all in the WriteBatch of the import's own append.
struct import_document {
  std::string collection;
  std::string id;        // the destination id the plan chose
  bool replace = false;  // overwrite the stored document of that id in place; false: create it
  json::object body;     // references rewritten to destination ids; sensitive values in plaintext
};

struct import_change {
  std::string space_id;
  std::vector<import_document> documents;  // owners before what they own
  // Counter-numbered collections the plan allocated ids from: the stored counter it read, and the
  // highest number it handed out. A counter that moved meanwhile refuses the change.
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> counters;
  // Where what this import makes came from, so that importing the same source again finds it,
  // also for documents without a name (deployments) and for tasks: the source installation, and
  // (source id, destination id) pairs.
  std::string source_installation;
  std::vector<std::pair<std::string, std::string>> provenance;
  // The history tasks recorded with the documents: task_recorded appends to new ServerTasks-N
  // streams (expected_version 0). The documents may name them (a deployment's TaskId).
  std::vector<append_request> tasks;
};

// Errors: errc::invalid_argument for everything the caller can fix (validation, a taken name, a
// missing reference, a document still referenced); its message holds one problem per line, which
// http/ turns into the Errors array. errc::not_found for an unknown document or collection.
class documents {
 public:
  // REQUIRES: st outlives this object and is open read_write for writes; one documents object per
  // open store does the writing (its mutex is what keeps names unique).
  documents(store& st, const std::string& master_key);
  ~documents();
  documents(const documents&) = delete;
  documents& operator=(const documents&) = delete;

  // ---- the one write path ----

  // Returns the document as the API shows it after the change (for remove: as it was).
  result<json::object> execute(const document_command& cmd);

  result<json::object> create(const std::string& space, const std::string& collection,
                              json::object body);
  result<json::object> replace(const std::string& space, const std::string& collection,
                               const std::string& id, json::object body);
  result<json::object> remove(const std::string& space, const std::string& collection,
                              const std::string& id);

  // ---- reads (thread-safe); sensitive values redacted as the API shows them ----

  result<json::object> get(const std::string& space, const std::string& collection,
                           const std::string& id) const;
  // In id order (Projects-2 before Projects-10).
  result<std::vector<json::object>> list(const std::string& space, const std::string& collection,
                                         const document_query& q) const;
  // One page of list(): the documents from index skip, at most take of them, and how many match.
  result<document_page> page(const std::string& space, const std::string& collection,
                             const document_query& q, std::size_t skip, std::size_t take) const;
  // By name within the collection's uniqueness scope (owner_id empty for space-unique names).
  result<json::object> find_by_name(const std::string& space, const std::string& collection,
                                    const std::string& owner_id, const std::string& name) const;
  // By Slug: first the documents whose name gives that slug (from the name index), then, for a
  // slug set by hand, a scan of the collection.
  result<json::object> find_by_slug(const std::string& space, const std::string& collection,
                                    const std::string& slug) const;

  // The document with its sensitive values opened: {"HasValue":true,"NewValue":"plain"} and a
  // variable's plain Value. Only for export, which re-seals them with the migration password.
  result<json::object> get_revealed(const std::string& space, const std::string& collection,
                                    const std::string& id) const;

  // A consistent view of every document as they are now (a RocksDB snapshot), for the export
  // closure: every read sees the same state whatever is written meanwhile. Sensitive values come
  // opened, as get_revealed gives them. REQUIRES: this object outlives it.
  std::unique_ptr<migration::document_source> snapshot() const;

  // The id the next create in a counter-numbered collection hands out unless another write comes
  // first: only a sole writer (seed, with the server stopped) may rely on it. A seed records a
  // deployment's task, which names the deployment, before the deployment that names the task.
  result<std::string> next_id(const std::string& collection) const;

  // ---- imports ----

  // What stops the change from being written as things stand now (validation, taken names,
  // references that do not resolve, a counter that moved), one problem per entry; empty when
  // store::append would accept it. A dry run reports these.
  result<std::vector<std::string>> check_import(const import_change& c) const;
  // The change as an attachment for store::append (append_request::attached): checked again and
  // staged under this object's write lock when the batch is written, all or nothing with the
  // append that carries it and the tasks it records. A refusal is errc::invalid_argument with one
  // problem per line. REQUIRES: this object outlives the attachment.
  std::shared_ptr<const batch_extension> stage_import(import_change c);
  // The highest id number a counter-numbered collection handed out (0: none yet).
  result<std::uint64_t> counter(const std::string& collection) const;
  // The destination id of what an earlier import made from source_id of that source installation;
  // nullopt when none did.
  result<std::optional<std::string>> imported_as(const std::string& source_installation,
                                                 const std::string& source_id) const;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

// The document indexes (the reverse reference index: which documents own or refer to a document,
// what deletes consult; and the name index) are derived from the stored documents. These compare
// them with the documents and rebuild them, as store::verify_projections and rebuild_projections
// do for the read models of the log. A document that does not parse is errc::corruption.
struct document_index_report {
  std::uint64_t documents = 0;
  std::vector<std::string> differences;  // empty when the indexes match the documents
};
result<document_index_report> verify_document_indexes(const store& st);
// REQUIRES: st is open read_write and nothing else writes documents meanwhile (server stopped).
// Returns the number of documents indexed.
result<std::uint64_t> rebuild_document_indexes(store& st);

}  // namespace octomig::storage
