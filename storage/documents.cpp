// The document store on RocksDB: staging a change (documents, name index, counters) as a plan,
// checking it against the schema table, and writing it in one synced WriteBatch.
#include "storage/documents.hpp"

#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>
#include <sodium.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_set>

#include "base/ascii.hpp"
#include "migration/schema.hpp"
#include "storage/data_dir.hpp"
#include "storage/keys.hpp"
#include "storage/store_impl.hpp"

namespace octomig::storage {
namespace {

namespace mig = octomig::migration;
using schema = mig::collection_schema;

// documents: space \0 collection \0 id
std::string doc_prefix(const std::string& space, const std::string& collection) {
  return keys::prefix(space) + keys::prefix(collection);
}
std::string doc_key(const std::string& space, const std::string& collection,
                    const std::string& id) {
  return doc_prefix(space, collection) + id;
}
// names: space \0 collection \0 owner \0 lower-case name
std::string name_key(const std::string& space, const std::string& collection,
                     const std::string& owner, const std::string& name) {
  return doc_prefix(space, collection) + keys::prefix(owner) + ascii::lower(name);
}
// meta: "import" \0 source installation \0 source id -> destination id
std::string provenance_key(const std::string& installation, const std::string& source_id) {
  return std::string("import") + '\0' + installation + '\0' + source_id;
}

std::string counter_key(const std::string& collection) {
  return "counter/" + collection;
}

// The reverse reference index (column family `references`), one row per document a stored
// document points at, written in the same WriteBatch as the document:
//   space \0 target collection \0 target id \0 kind \0 referrer collection \0 referrer id
// with an empty value. Kind "o": the referrer is owned by the target and is deleted with it;
// kind "r": the referrer refers to the target and keeps it from being deleted. A document that
// names one target at several pointers has one row; the pointers come from the document itself.
enum class link_kind : char { owner = 'o', reference = 'r' };

struct link {
  std::string collection;  // the target's
  std::string id;
  link_kind kind;
  bool operator<(const link& o) const {
    return std::tie(collection, id, kind) < std::tie(o.collection, o.id, o.kind);
  }
};

std::string link_prefix(const std::string& space, const std::string& collection,
                        const std::string& id, link_kind kind) {
  return keys::prefix(space) + keys::prefix(collection) + keys::prefix(id) +
         keys::prefix(std::string(1, static_cast<char>(kind)));
}
std::string link_key(const std::string& space, const link& l,
                     const std::string& referrer_collection, const std::string& referrer_id) {
  return link_prefix(space, l.collection, l.id, l.kind) + keys::prefix(referrer_collection) +
         referrer_id;
}

// Everything a document points at: its owner, and every reference the schema's walker finds in
// it (the same walk that validates the references), to documents only: tasks are never deleted
// through this store, so nothing needs to find a task's referrers.
std::set<link> links_of(const schema& s, const json::object& doc) {
  std::set<link> out;
  auto owner = mig::owner_of(s, doc);
  if (const schema* os = owner.empty() ? nullptr : mig::collection_of_id(owner); os && os->stored)
    out.insert({os->name, owner, link_kind::owner});
  for (auto& r : mig::references(s, json::value(doc))) {
    const schema* ts = mig::find_collection(r.target);
    if (ts && ts->stored) out.insert({r.target, std::move(r.id), link_kind::reference});
  }
  return out;
}

using keys::printable;
using mig::describe;
using mig::id_order;

using ascii::icontains;
using ascii::iequals;

std::string str_field(const json::object& o, const char* f) {
  auto* v = o.if_contains(f);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

error problems_error(const std::vector<std::string>& problems) {
  std::string msg;
  for (const auto& p : problems) msg += (msg.empty() ? "" : "\n") + p;
  return make_error(errc::invalid_argument, msg);
}

bool is_sealed(const json::value& v) {
  return v.is_object() && v.as_object().size() == 1 && v.as_object().contains("Sealed");
}

// The stored document as the API shows it: Id and SpaceId first, everything else in stored order.
json::object ordered(json::object doc) {
  json::object out;
  for (const char* f : {"Id", "SpaceId"})
    if (auto* v = doc.if_contains(f)) out[f] = *v;
  for (auto& kv : doc)
    if (kv.key() != "Id" && kv.key() != "SpaceId") out[kv.key()] = std::move(kv.value());
  return out;
}

}  // namespace

struct documents::impl {
  store::impl& db;
  unsigned char key[crypto_secretbox_KEYBYTES];
  std::mutex write_mu;  // held from the first check of a write to its WriteBatch

  impl(store& st, const std::string& master_key) : db(st.internals()) {
    // A key of its own, derived from the master key, so that sealing documents and hashing API
    // keys never use the same key for two purposes.
    static const char context[] = "octomig/documents/seal/v1";
    crypto_generichash(
        key, sizeof key, reinterpret_cast<const unsigned char*>(context), sizeof context - 1,
        reinterpret_cast<const unsigned char*>(master_key.data()), master_key.size());
  }
  ~impl() { sodium_memzero(key, sizeof key); }

  // ---- sealing ----

  json::value seal(const std::string& plain) const {
    std::string box(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plain.size(), '\0');
    auto* out = reinterpret_cast<unsigned char*>(box.data());
    randombytes_buf(out, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(out + crypto_secretbox_NONCEBYTES,
                          reinterpret_cast<const unsigned char*>(plain.data()), plain.size(), out,
                          key);
    std::string b64(sodium_base64_ENCODED_LEN(box.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(b64.data(), b64.size(), out, box.size(), sodium_base64_VARIANT_ORIGINAL);
    b64.resize(b64.size() - 1);  // the terminating NUL
    return json::object{{"Sealed", b64}};
  }

  std::optional<std::string> open(const json::value& sealed) const {
    if (!is_sealed(sealed) || !sealed.as_object().at("Sealed").is_string()) return std::nullopt;
    auto b64 = sealed.as_object().at("Sealed").get_string();
    std::string box(b64.size(), '\0');
    std::size_t len = 0;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(box.data()), box.size(), b64.data(),
                          b64.size(), nullptr, &len, nullptr,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        len < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
      return std::nullopt;
    const auto* in = reinterpret_cast<const unsigned char*>(box.data());
    std::string plain(len - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES, '\0');
    if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(plain.data()),
                                   in + crypto_secretbox_NONCEBYTES,
                                   len - crypto_secretbox_NONCEBYTES, in, key) != 0)
      return std::nullopt;
    return plain;
  }

  // Replaces every sensitive value of an incoming document by its sealed form. A property sent as
  // {"HasValue":true,"NewValue":null}, or a sensitive variable sent with "Value": null, keeps the
  // secret the stored document (old) has at the same place.
  void seal_incoming(const schema& s, json::value& doc, const json::value* old) const {
    std::map<std::string, json::value> kept;
    if (old)
      for (const auto& p : mig::sensitive_paths(s, *old))
        if (auto* v = mig::find_pointer(*old, p.pointer); v && is_sealed(*v))
          kept[p.stable_key] = *v;
    auto previous = [&](const std::string& stable) -> json::value {
      auto it = kept.find(stable);
      return it == kept.end() ? json::value(nullptr) : it->second;
    };
    for (const auto& p : mig::sensitive_paths(s, doc)) {
      json::value* v = mig::find_pointer(doc, p.pointer);
      if (!v) continue;
      json::value next = nullptr;
      if (p.style == mig::sensitive_style::property) {
        if (v->is_string()) {
          if (!v->get_string().empty()) next = seal(std::string(v->get_string()));
        } else if (v->is_object()) {
          const auto& o = v->as_object();
          auto* nv = o.if_contains("NewValue");
          auto* has = o.if_contains("HasValue");
          if (nv && nv->is_string())
            next = seal(std::string(nv->get_string()));
          else if (has && has->is_bool() && has->get_bool())
            next = previous(p.stable_key);
        }
      } else {
        if (v->is_string())
          next = seal(std::string(v->get_string()));
        else if (v->is_null())
          next = previous(p.stable_key);
        else
          next = seal(json::serialize(*v));
      }
      *v = std::move(next);
    }
  }

  // The API's view: {"HasValue":..,"NewValue":null} for properties, null for variables.
  json::object redact(const schema& s, json::object stored) const {
    json::value doc(std::move(stored));
    for (const auto& p : mig::sensitive_paths(s, doc)) {
      json::value* v = mig::find_pointer(doc, p.pointer);
      if (!v) continue;
      if (p.style == mig::sensitive_style::property)
        *v = json::object{{"HasValue", is_sealed(*v)}, {"NewValue", nullptr}};
      else
        *v = nullptr;
    }
    return ordered(std::move(doc.as_object()));
  }

  json::object reveal(const schema& s, json::object stored) const {
    json::value doc(std::move(stored));
    for (const auto& p : mig::sensitive_paths(s, doc)) {
      json::value* v = mig::find_pointer(doc, p.pointer);
      if (!v) continue;
      auto plain = open(*v);
      if (p.style == mig::sensitive_style::property)
        *v = json::object{{"HasValue", plain.has_value()},
                          {"NewValue", plain ? json::value(*plain) : json::value(nullptr)}};
      else
        *v = plain ? json::value(*plain) : json::value(nullptr);
    }
    return ordered(std::move(doc.as_object()));
  }

  // ---- raw reads ----

  // A stored document; nullopt when there is none; errc::corruption when its bytes are not a
  // JSON object.
  result<std::optional<json::object>> load(const std::string& space, const std::string& collection,
                                           const std::string& id,
                                           const rocksdb::Snapshot* at = nullptr) const {
    auto text = db.get(cf_documents, doc_key(space, collection, id), "the documents", at);
    if (!text) return text.err();
    if (!*text) return std::optional<json::object>();
    auto d = parse_stored(collection, id, **text);
    if (!d) return d.err();
    return std::optional<json::object>(std::move(d.value()));
  }

  // errc::corruption when the stored bytes are not a JSON object.
  static result<json::object> parse_stored(const std::string& collection, const std::string& id,
                                           std::string_view text) {
    json::error_code ec;
    auto v = json::parse(text, ec);
    if (ec || !v.is_object())
      return make_error(errc::corruption, "the stored document " + id + " of " + collection +
                                              " is damaged (not a JSON object)");
    return std::move(v.as_object());
  }

  // Calls fn(key without the prefix, value) for each row of cf under prefix, in key order; stops
  // at fn's first error. failure is the message of an I/O error. at: a snapshot, or null.
  template <class Fn>
  status for_each_row(cf_id cf, const std::string& prefix, const std::string& failure, const Fn& fn,
                      const rocksdb::Snapshot* at = nullptr) const {
    auto end = keys::prefix_end(prefix);
    rocksdb::Slice upper(end);  // must outlive the iterator
    rocksdb::ReadOptions ro;
    ro.iterate_upper_bound = &upper;
    ro.snapshot = at;
    std::unique_ptr<rocksdb::Iterator> it(db.db->NewIterator(ro, db.h(cf)));
    for (it->Seek(prefix); it->Valid(); it->Next())
      if (auto s = fn(it->key().ToStringView().substr(prefix.size()), it->value()); !s) return s;
    if (!it->status().ok()) return io(it->status(), failure);
    return ok_status();
  }

  // The ids of a collection's documents whose name (as the name index holds it: lower case)
  // passes `matches`, in no particular order.
  template <class Match>
  result<std::vector<std::string>> ids_by_name(const std::string& space,
                                               const std::string& collection, const Match& matches,
                                               const rocksdb::Snapshot* at = nullptr) const {
    std::vector<std::string> out;
    auto st = for_each_row(
        cf_names, doc_prefix(space, collection), "cannot read the name index",
        [&](std::string_view rest, const rocksdb::Slice& id) -> status {
          auto sep = rest.find('\0');  // owner \0 lower-case name
          if (sep == std::string_view::npos)
            return make_error(errc::corruption,
                              "a malformed row in the name index of " + collection);
          if (matches(std::string(rest.substr(sep + 1)))) out.push_back(id.ToString());
          return ok_status();
        },
        at);
    if (!st) return st.err();
    return out;
  }

  // The ids of a collection in id order, read from the keys alone.
  result<std::vector<std::string>> scan_ids(const std::string& space, const std::string& collection,
                                            const rocksdb::Snapshot* at = nullptr) const {
    std::vector<std::string> out;
    auto st = for_each_row(
        cf_documents, doc_prefix(space, collection), "cannot scan " + collection,
        [&](std::string_view id, const rocksdb::Slice&) {
          out.emplace_back(id);
          return ok_status();
        },
        at);
    if (!st) return st.err();
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return id_order(a) < id_order(b); });
    return out;
  }

  // The stored text of every document of a collection, in id order, not parsed (a page of a
  // large collection parses only what it shows).
  result<std::vector<std::pair<std::string, std::string>>> scan_text(
      const std::string& space, const std::string& collection) const {
    std::vector<std::pair<std::string, std::string>> out;
    auto st = for_each_row(cf_documents, doc_prefix(space, collection), "cannot scan " + collection,
                           [&](std::string_view id, const rocksdb::Slice& text) {
                             out.emplace_back(std::string(id), text.ToString());
                             return ok_status();
                           });
    if (!st) return st.err();
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return id_order(a.first) < id_order(b.first); });
    return out;
  }

  result<std::vector<std::pair<std::string, json::object>>> scan(
      const std::string& space, const std::string& collection) const {
    auto texts = scan_text(space, collection);
    if (!texts) return texts.err();
    std::vector<std::pair<std::string, json::object>> out;
    out.reserve(texts->size());
    for (auto& [id, text] : *texts) {
      auto d = parse_stored(collection, id, text);
      if (!d) return d.err();
      out.emplace_back(std::move(id), std::move(d.value()));
    }
    return out;
  }

  // ---- staging a write ----

  struct staged {
    const schema* s;
    std::string id;
    json::object doc;                 // as it will be stored (sealed)
    std::optional<json::object> old;  // the stored document it replaces
  };
  struct plan {
    std::string space;
    std::map<std::string, std::uint64_t> counters;  // collection -> highest id number after
    std::vector<staged> puts;
    std::vector<staged> deletes;
    std::vector<std::string> problems;
    // History tasks recorded in the same batch: a reference to one resolves.
    std::set<std::string> recorded_tasks;
    // collection \0 id of puts[0, indexed): exists() looks them up here, not by a scan of puts.
    std::unordered_set<std::string> put_keys;
    std::size_t indexed = 0;
    // The first read that failed while staging (an I/O error or a damaged row): the plan is then
    // refused with it, whatever else it found.
    std::optional<error> failure;

    // The value of r, or fallback once the failure is recorded.
    template <class T>
    T value_or_fail(result<T> r, T fallback) {
      if (r) return std::move(r.value());
      if (!failure) failure = r.err();
      return fallback;
    }
  };

  result<std::uint64_t> stored_counter(const std::string& collection) const {
    return db.stored_counter(counter_key(collection).c_str());
  }

  std::string next_id(plan& p, const schema& s) const {
    auto it = p.counters.find(s.name);
    std::uint64_t n =
        (it == p.counters.end() ? p.value_or_fail(stored_counter(s.name), std::uint64_t{0})
                                : it->second) +
        1;
    p.counters[s.name] = n;
    return s.id_prefix + "-" + std::to_string(n);
  }

  bool exists(plan& p, const std::string& collection, const std::string& id) const {
    for (const auto& d : p.deletes)
      if (d.s->name == collection && d.id == id) return false;
    for (; p.indexed < p.puts.size(); ++p.indexed)
      p.put_keys.insert(p.puts[p.indexed].s->name + '\0' + p.puts[p.indexed].id);
    if (p.put_keys.count(collection + '\0' + id)) return true;
    auto v = db.get(cf_documents, doc_key(p.space, collection, id), "the documents");
    return p.value_or_fail(std::move(v), std::optional<std::string>()).has_value();
  }

  // A task of the space (or of no space) in the task projection.
  bool task_exists(plan& p, const std::string& id) const {
    if (p.recorded_tasks.count(id)) return true;
    auto t = p.value_or_fail(db.stored_task(id), std::optional<events::task_state>());
    return t && (t->space_id.empty() || t->space_id == p.space);
  }

  // The body as it will be stored: defaults, element ids, slug, checks, sealed secrets.
  json::object prepare(plan& p, const schema& s, json::object body, const json::object* old) const {
    body.erase("Links");
    body = mig::with_defaults(s, std::move(body));
    if (s.slug) {
      auto* slug = body.if_contains("Slug");
      if (!slug || !slug->is_string() || slug->get_string().empty())
        body["Slug"] = mig::slugify(mig::name_of(s, body));
    }
    for (auto& problem : mig::validate(s, body)) p.problems.push_back(std::move(problem));
    json::value doc(std::move(body));
    mig::assign_element_ids(s, doc, [] { return new_uuid(); });
    json::value old_value = old ? json::value(*old) : json::value(nullptr);
    seal_incoming(s, doc, old ? &old_value : nullptr);
    // A required secret (a certificate's data) must hold a value once the keep rules applied.
    for (const auto& f : s.fields) {
      if (!f.required) continue;
      bool secret = std::any_of(s.sensitive.begin(), s.sensitive.end(),
                                [&](const auto& r) { return r.pointer == f.pointer; });
      auto* v = mig::find_pointer(doc, f.pointer);
      if (secret && v && v->is_null())
        p.problems.push_back("The " + f.pointer.substr(1) + " field is required.");
    }
    return std::move(doc.as_object());
  }

  // Stages a new document and the side documents its collection creates with it; returns its id.
  std::string stage_create(plan& p, const schema& s, json::object body) const {
    if (!s.stored) {
      p.problems.push_back(s.name + " are not documents and cannot be created here.");
      return {};
    }
    body.erase("Id");
    body["SpaceId"] = p.space;
    auto doc = prepare(p, s, std::move(body), nullptr);
    auto owner = mig::owner_of(s, doc);
    std::string id;
    if (s.ids == mig::id_style::from_owner) {
      if (owner.empty()) return {};  // validate() reported the missing owner field
      id = mig::id_for_owner(s, owner);
      if (exists(p, s.name, id))
        p.problems.push_back(owner + " already has its " + s.item_type + " (" + id + ").");
    } else {
      id = next_id(p, s);
    }
    check_owner(p, s, doc);
    doc["Id"] = id;
    std::size_t index = p.puts.size();
    p.puts.push_back({&s, id, std::move(doc), std::nullopt});
    for (const auto& side : s.creates) {
      const schema* ss = mig::find_collection(side.collection);
      if (!ss) continue;
      json::error_code ec;
      auto parsed = json::parse(side.template_json, ec);  // constant; a test parses every one
      if (ec || !parsed.is_object()) continue;
      auto tpl = std::move(parsed.as_object());
      tpl[ss->owner_field.substr(1)] = id;
      auto side_id = stage_create(p, *ss, std::move(tpl));
      if (!side.link_field.empty()) p.puts[index].doc[side.link_field.substr(1)] = side_id;
    }
    return id;
  }

  void check_owner(plan& p, const schema& s, const json::object& doc) const {
    auto owner = mig::owner_of(s, doc);
    if (s.owner_field.empty() || owner.empty()) return;
    const schema* os = mig::collection_of_id(owner);
    if (!os || std::find(s.owner_collections.begin(), s.owner_collections.end(), os->name) ==
                   s.owner_collections.end())
      return;  // validate() reported the wrong shape
    if (!exists(p, os->name, owner))
      p.problems.push_back("The " + s.owner_field.substr(1) + " " + owner + " does not exist.");
  }

  void check_names(plan& p) const {
    std::map<std::string, std::string> taken;  // name key -> id, within this plan
    for (const auto& d : p.puts) {
      if (d.s->uniqueness == mig::name_scope::none) continue;
      auto name = mig::name_of(*d.s, d.doc);
      if (name.empty()) continue;
      auto owner = d.s->uniqueness == mig::name_scope::owner ? mig::owner_of(*d.s, d.doc) : "";
      auto k = name_key(p.space, d.s->name, owner, name);
      auto holder = taken.count(k) ? std::optional<std::string>(taken[k])
                                   : p.value_or_fail(db.get(cf_names, k, "the name index"),
                                                     std::optional<std::string>());
      if (holder && *holder != d.id) {
        std::string where = owner.empty() ? "" : " in " + owner;
        const char* article =
            std::string("AEIOU").find(d.s->item_type[0]) == std::string::npos ? "A " : "An ";
        p.problems.push_back(article + d.s->item_type + " with the name '" + name +
                             "' already exists" + where + ". Please choose a different name.");
      }
      taken[k] = d.id;
    }
  }

  void check_references(plan& p) const {
    for (const auto& d : p.puts) {
      for (const auto& r : mig::references(*d.s, json::value(d.doc))) {
        const schema* ts = mig::find_collection(r.target);
        if (!ts) continue;
        if (mig::is_builtin_id(*ts, r.id)) continue;
        // History tasks are not documents: they live in the task projection, recorded as events
        // before the documents that name them (a deployment's TaskId).
        if (!ts->stored) {
          if (!mig::id_has_shape(*ts, r.id))
            p.problems.push_back("The value " + r.id + " at " + r.pointer + " is not a " +
                                 ts->item_type + " id.");
          else if (!task_exists(p, r.id))
            p.problems.push_back("The " + ts->item_type + " " + r.id + " referenced at " +
                                 r.pointer + " does not exist. Record the task first.");
          continue;
        }
        if (!mig::id_has_shape(*ts, r.id) || !exists(p, ts->name, r.id))
          p.problems.push_back("The " + ts->item_type + " " + r.id + " referenced at " + r.pointer +
                               " does not exist.");
      }
    }
  }

  // The documents that point at a document with the given kind of link, as (collection, id),
  // from the reverse index: a prefix scan of the target's rows.
  result<std::vector<std::pair<std::string, std::string>>> linked_to(
      const std::string& space, const std::string& collection, const std::string& id,
      link_kind kind, const rocksdb::Snapshot* at = nullptr) const {
    std::vector<std::pair<std::string, std::string>> out;
    auto st = for_each_row(
        cf_references, link_prefix(space, collection, id, kind), "cannot read the reference index",
        [&](std::string_view rest, const rocksdb::Slice&) -> status {
          auto sep = rest.find('\0');
          if (sep == std::string_view::npos)
            return make_error(errc::corruption, "a malformed row in the reference index of " + id);
          out.emplace_back(std::string(rest.substr(0, sep)), std::string(rest.substr(sep + 1)));
          return ok_status();
        },
        at);
    if (!st) return st.err();
    return out;
  }

  // A linked document as stored; corruption when the index names a document that is not there.
  result<std::pair<const schema*, json::object>> load_linked(const std::string& space,
                                                             const std::string& collection,
                                                             const std::string& id,
                                                             const std::string& target) const {
    const schema* s = mig::find_collection(collection);
    auto doc = s ? load(space, collection, id) : result<std::optional<json::object>>(std::nullopt);
    if (!doc) return doc.err();
    if (!*doc)
      return make_error(errc::corruption, "the reference index names " + collection + " " + id +
                                              " as a user of " + target +
                                              ", but there is no such document; run "
                                              "'projections rebuild'");
    return std::make_pair(s, std::move(**doc));
  }

  // The document and everything owned by it, transitively (a project's channels, process,
  // variables and releases, and the releases' deployments).
  status collect_cascade(plan& p, const schema& s, const std::string& id, json::object doc) const {
    p.deletes.push_back({&s, id, {}, std::move(doc)});
    auto owned = linked_to(p.space, s.name, id, link_kind::owner);
    if (!owned) return owned.err();
    for (const auto& [cname, cid] : *owned) {
      auto child = load_linked(p.space, cname, cid, id);
      if (!child) return child.err();
      if (auto st = collect_cascade(p, *child->first, cid, std::move(child->second)); !st)
        return st;
    }
    return ok_status();
  }

  // Documents outside the cascade that still refer to something in it, found in the reverse
  // index; the problem names each referrer and the pointers at which it refers.
  status check_referrers(plan& p) const {
    std::set<std::pair<std::string, std::string>> doomed;
    for (const auto& d : p.deletes) doomed.insert({d.s->name, d.id});
    for (const auto& d : p.deletes) {
      auto users = linked_to(p.space, d.s->name, d.id, link_kind::reference);
      if (!users) return users.err();
      for (const auto& [rname, rid] : *users) {
        if (doomed.count({rname, rid})) continue;
        auto user = load_linked(p.space, rname, rid, d.id);
        if (!user) return user.err();
        const auto& [rs, rdoc] = *user;
        for (const auto& r : mig::references(*rs, json::value(rdoc)))
          if (r.target == d.s->name && r.id == d.id)
            p.problems.push_back(r.id + " is still used by " + describe(*rs, rid, rdoc) + " at " +
                                 r.pointer + ". Remove that use first.");
      }
    }
    return ok_status();
  }

  // The index rows of one document's change: rows of the links it drops, then of those it adds.
  void write_links(rocksdb::WriteBatch& b, const std::string& space, const staged& d,
                   const json::object* now) {
    auto before = d.old ? links_of(*d.s, *d.old) : std::set<link>{};
    auto after = now ? links_of(*d.s, *now) : std::set<link>{};
    for (const auto& l : before)
      if (!after.count(l)) b.Delete(db.h(cf_references), link_key(space, l, d.s->name, d.id));
    for (const auto& l : after)
      if (!before.count(l)) b.Put(db.h(cf_references), link_key(space, l, d.s->name, d.id), "");
  }

  status commit(const plan& p) {
    rocksdb::WriteBatch b;
    stage_rows(b, p);
    rocksdb::WriteOptions wo;
    wo.sync = db.opts.sync;
    auto s = db.db->Write(wo, &b);
    if (!s.ok()) return io(s, "cannot write documents");
    return ok_status();
  }

  // Every row of a checked plan: documents, the name and reference indexes, the counters.
  void stage_rows(rocksdb::WriteBatch& b, const plan& p) {
    for (const auto& d : p.deletes) {
      b.Delete(db.h(cf_documents), doc_key(p.space, d.s->name, d.id));
      if (d.old) delete_name(b, p.space, *d.s, *d.old);
      write_links(b, p.space, d, nullptr);
    }
    for (const auto& d : p.puts) {
      if (d.old) delete_name(b, p.space, *d.s, *d.old);
      b.Put(db.h(cf_documents), doc_key(p.space, d.s->name, d.id), json::serialize(d.doc));
      write_links(b, p.space, d, &d.doc);
    }
    // Names after every delete, so a rename within one plan keeps the new entry.
    for (const auto& d : p.puts) {
      if (d.s->uniqueness == mig::name_scope::none) continue;
      auto name = mig::name_of(*d.s, d.doc);
      if (name.empty()) continue;
      auto owner = d.s->uniqueness == mig::name_scope::owner ? mig::owner_of(*d.s, d.doc) : "";
      b.Put(db.h(cf_names), name_key(p.space, d.s->name, owner, name), d.id);
    }
    for (const auto& [collection, n] : p.counters) {
      std::string v;
      keys::put_u64(v, n);
      b.Put(db.h(cf_meta), counter_key(collection), v);
    }
  }

  // Stages an import into p, checking it as it goes: what it finds wrong goes to p.problems.
  void stage_import(plan& p, const import_change& c) const {
    p.space = c.space_id;
    for (const auto& t : c.tasks) {
      p.recorded_tasks.insert(t.stream);
      if (p.value_or_fail(db.stored_task(t.stream), std::optional<events::task_state>()))
        p.problems.push_back("The task " + t.stream +
                             " to be recorded exists already. Run the import again.");
    }
    for (const auto& [collection, range] : c.counters) {
      auto stored = p.value_or_fail(stored_counter(collection), range.first);
      if (stored != range.first)
        p.problems.push_back("The destination changed while the import was planned: " + collection +
                             " handed out ids up to " + std::to_string(stored) + " instead of " +
                             std::to_string(range.first) + ". Run the import again.");
      p.counters[collection] = std::max(range.second, stored);
    }
    for (const auto& d : c.documents) {
      const schema* s = mig::find_collection(d.collection);
      if (!s || !s->stored) {
        p.problems.push_back("There is no collection " + d.collection + " to import into.");
        continue;
      }
      json::object body = d.body;
      body["Id"] = d.id;
      body["SpaceId"] = p.space;
      std::optional<json::object> old;
      if (d.replace) {
        old = p.value_or_fail(load(p.space, s->name, d.id), std::optional<json::object>());
        if (!old) {
          p.problems.push_back(s->item_type + " " + d.id +
                               " was to be overwritten, but it no longer exists.");
          continue;
        }
      } else if (exists(p, s->name, d.id)) {
        p.problems.push_back(s->item_type + " " + d.id +
                             " was to be created, but the destination has it already.");
        continue;
      }
      auto doc = prepare(p, *s, std::move(body), old ? &*old : nullptr);
      doc["Id"] = d.id;
      p.puts.push_back({s, d.id, std::move(doc), std::move(old)});
    }
    for (const auto& d : p.puts) check_owner(p, *d.s, d.doc);
    check_names(p);
    check_references(p);
  }

  static std::vector<std::string> sorted_problems(std::vector<std::string> problems) {
    std::sort(problems.begin(), problems.end());
    problems.erase(std::unique(problems.begin(), problems.end()), problems.end());
    return problems;
  }

  void delete_name(rocksdb::WriteBatch& b, const std::string& space, const schema& s,
                   const json::object& doc) {
    if (s.uniqueness == mig::name_scope::none) return;
    auto name = mig::name_of(s, doc);
    if (name.empty()) return;
    auto owner = s.uniqueness == mig::name_scope::owner ? mig::owner_of(s, doc) : "";
    b.Delete(db.h(cf_names), name_key(space, s.name, owner, name));
  }
};

namespace {

// An import staged by store::append (documents::stage_import).
class import_batch final : public batch_extension {
 public:
  import_batch(documents::impl& d, import_change c) : d_(d), change_(std::move(c)) {}

  result<std::unique_lock<std::mutex>> stage(rocksdb::WriteBatch& b) const override {
    std::unique_lock<std::mutex> lock(d_.write_mu);
    documents::impl::plan p;
    d_.stage_import(p, change_);
    if (p.failure) return *p.failure;
    if (!p.problems.empty())
      return problems_error(documents::impl::sorted_problems(std::move(p.problems)));
    d_.stage_rows(b, p);
    for (const auto& [source, dest] : change_.provenance)
      b.Put(d_.db.h(cf_meta), provenance_key(change_.source_installation, source), dest);
    return lock;
  }
  const std::vector<append_request>& companions() const override { return change_.tasks; }

 private:
  documents::impl& d_;
  import_change change_;
};

}  // namespace

result<std::vector<std::string>> documents::check_import(const import_change& c) const {
  std::lock_guard<std::mutex> lock(impl_->write_mu);
  impl::plan p;
  impl_->stage_import(p, c);
  if (p.failure) return *p.failure;
  return impl::sorted_problems(std::move(p.problems));
}

std::shared_ptr<const batch_extension> documents::stage_import(import_change c) {
  return std::make_shared<import_batch>(*impl_, std::move(c));
}

result<std::uint64_t> documents::counter(const std::string& collection) const {
  return impl_->stored_counter(collection);
}

result<std::optional<std::string>> documents::imported_as(const std::string& source_installation,
                                                          const std::string& source_id) const {
  return impl_->db.get(cf_meta, provenance_key(source_installation, source_id),
                       "the import provenance");
}

documents::documents(store& st, const std::string& master_key)
    : impl_(std::make_unique<impl>(st, master_key)) {}
documents::~documents() = default;

result<json::object> documents::execute(const document_command& cmd) {
  const schema* s = mig::find_collection(cmd.collection);
  if (!s || !s->stored)
    return make_error(errc::not_found, "There is no collection " + cmd.collection + ".");
  if (impl_->db.opts.mode != open_mode::read_write)
    return make_error(errc::invalid_argument, "the store is open read-only");

  std::lock_guard<std::mutex> lock(impl_->write_mu);
  impl::plan p;
  p.space = cmd.space_id;
  std::string id = cmd.id;
  switch (cmd.op) {
    case document_op::create:
      id = impl_->stage_create(p, *s, cmd.body);
      break;
    case document_op::replace: {
      auto loaded = impl_->load(p.space, s->name, id);
      if (!loaded) return loaded.err();
      auto& old = *loaded;
      if (!old) return make_error(errc::not_found, "There is no " + s->item_type + " " + id + ".");
      json::object body = cmd.body;
      body["Id"] = id;
      body["SpaceId"] = p.space;
      // Owners never change, and the links to side documents are the server's to keep.
      if (!s->owner_field.empty())
        body[s->owner_field.substr(1)] = (*old)[s->owner_field.substr(1)];
      for (const auto& side : s->creates)
        if (!side.link_field.empty())
          if (auto* v = old->if_contains(side.link_field.substr(1)))
            body[side.link_field.substr(1)] = *v;
      auto doc = impl_->prepare(p, *s, std::move(body), &*old);
      p.puts.push_back({s, id, std::move(doc), std::move(*old)});
      break;
    }
    case document_op::remove: {
      auto loaded = impl_->load(p.space, s->name, id);
      if (!loaded) return loaded.err();
      auto& old = *loaded;
      if (!old) return make_error(errc::not_found, "There is no " + s->item_type + " " + id + ".");
      if (s->one_per_owner)
        return problems_error({s->item_type + " " + id + " belongs to " + mig::owner_of(*s, *old) +
                               " and is deleted with it."});
      if (auto st = impl_->collect_cascade(p, *s, id, *old); !st) return st.err();
      if (auto st = impl_->check_referrers(p); !st) return st.err();
      if (p.failure) return *p.failure;
      if (!p.problems.empty()) return problems_error(p.problems);
      if (auto st = impl_->commit(p); !st) return st.err();
      return impl_->redact(*s, std::move(*old));
    }
  }
  impl_->check_names(p);
  impl_->check_references(p);
  if (p.failure) return *p.failure;
  if (!p.problems.empty()) {
    std::sort(p.problems.begin(), p.problems.end());
    p.problems.erase(std::unique(p.problems.begin(), p.problems.end()), p.problems.end());
    return problems_error(p.problems);
  }
  if (auto st = impl_->commit(p); !st) return st.err();
  for (auto& d : p.puts)
    if (d.s == s && d.id == id) return impl_->redact(*s, std::move(d.doc));
  return make_error(errc::io_error, "the written document is missing from its own plan");
}

result<json::object> documents::create(const std::string& space, const std::string& collection,
                                       json::object body) {
  return execute({document_op::create, space, collection, {}, std::move(body)});
}

result<json::object> documents::replace(const std::string& space, const std::string& collection,
                                        const std::string& id, json::object body) {
  return execute({document_op::replace, space, collection, id, std::move(body)});
}

result<json::object> documents::remove(const std::string& space, const std::string& collection,
                                       const std::string& id) {
  return execute({document_op::remove, space, collection, id, {}});
}

result<json::object> documents::get(const std::string& space, const std::string& collection,
                                    const std::string& id) const {
  const schema* s = mig::find_collection(collection);
  if (!s) return make_error(errc::not_found, "There is no collection " + collection + ".");
  auto doc = impl_->load(space, s->name, id);
  if (!doc) return doc.err();
  if (!*doc) return make_error(errc::not_found, "There is no " + s->item_type + " " + id + ".");
  return impl_->redact(*s, std::move(**doc));
}

result<json::object> documents::get_revealed(const std::string& space,
                                             const std::string& collection,
                                             const std::string& id) const {
  const schema* s = mig::find_collection(collection);
  if (!s) return make_error(errc::not_found, "There is no collection " + collection + ".");
  auto doc = impl_->load(space, s->name, id);
  if (!doc) return doc.err();
  if (!*doc) return make_error(errc::not_found, "There is no " + s->item_type + " " + id + ".");
  return impl_->reveal(*s, std::move(**doc));
}

result<std::vector<json::object>> documents::list(const std::string& space,
                                                  const std::string& collection,
                                                  const document_query& q) const {
  const schema* s = mig::find_collection(collection);
  if (!s) return make_error(errc::not_found, "There is no collection " + collection + ".");
  auto all = impl_->scan(space, s->name);
  if (!all) return all.err();
  std::vector<json::object> out;
  for (auto& [id, doc] : *all) {
    if (!q.ids.empty() && std::find(q.ids.begin(), q.ids.end(), id) == q.ids.end()) continue;
    if (!q.owner_id.empty() && mig::owner_of(*s, doc) != q.owner_id) continue;
    // An unnamed collection ignores name filters, as clients send them from generic templates.
    auto name = mig::name_of(*s, doc);
    if (!s->name_field.empty()) {
      if (!q.name.empty() && !iequals(name, q.name)) continue;
      if (!q.partial_name.empty() && !icontains(name, q.partial_name)) continue;
    }
    out.push_back(impl_->redact(*s, std::move(doc)));
  }
  return out;
}

result<document_page> documents::page(const std::string& space, const std::string& collection,
                                      const document_query& q, std::size_t skip,
                                      std::size_t take) const {
  const schema* s = mig::find_collection(collection);
  if (!s) return make_error(errc::not_found, "There is no collection " + collection + ".");
  bool by_name = !s->name_field.empty() && (!q.name.empty() || !q.partial_name.empty());
  auto name_matches = [&](const std::string& name) {
    return (q.name.empty() || iequals(name, q.name)) &&
           (q.partial_name.empty() || icontains(name, q.partial_name));
  };
  auto parse = [&](const std::string& id, const std::string& text) {
    return impl::parse_stored(s->name, id, text);
  };

  // One consistent view for the whole page: the index rows and the documents they name as one
  // write left them, so an index row naming a missing document is damage, not a race.
  store::impl::snapshot view(impl_->db.db.get());
  const rocksdb::Snapshot* at = view.get();

  // The ids that may match, in id order, found without reading documents where an index allows;
  // `check` when each still has to be read to apply the name filters; `indexed` when the ids come
  // from an index (whose rows must name existing documents).
  std::vector<std::string> ids;
  bool check = false;
  const char* indexed = nullptr;
  const schema* owner_schema = q.owner_id.empty() ? nullptr : mig::collection_of_id(q.owner_id);
  if (!q.owner_id.empty() && owner_schema && owner_schema->stored && !s->owner_field.empty()) {
    // The owner's rows of the reverse index name every document it owns.
    auto owned = impl_->linked_to(space, owner_schema->name, q.owner_id, link_kind::owner, at);
    if (!owned) return owned.err();
    for (auto& [c, id] : *owned)
      if (c == s->name) ids.push_back(std::move(id));
    check = by_name;
    indexed = "reference index";
  } else if (q.owner_id.empty() && by_name && s->uniqueness != mig::name_scope::none) {
    // Every named document is in the name index, in lower case (an unnamed one matches no name).
    auto named = impl_->ids_by_name(space, s->name, name_matches, at);
    if (!named) return named.err();
    ids = std::move(*named);
    indexed = "name index";
  } else if (q.owner_id.empty() && !by_name) {
    auto all = impl_->scan_ids(space, s->name, at);
    if (!all) return all.err();
    ids = std::move(*all);
  } else {
    // No index answers this query (an owner that is not a document, or a name filter on a
    // collection whose names are not unique): read and test every document.
    document_page out;
    auto all = impl_->scan_text(space, s->name);
    if (!all) return all.err();
    for (auto& [id, text] : *all) {
      if (!q.ids.empty() && std::find(q.ids.begin(), q.ids.end(), id) == q.ids.end()) continue;
      auto d = parse(id, text);
      if (!d) return d.err();
      if (!q.owner_id.empty() && mig::owner_of(*s, *d) != q.owner_id) continue;
      if (by_name && !name_matches(mig::name_of(*s, *d))) continue;
      std::size_t index = out.total++;
      if (index < skip || out.items.size() >= take) continue;
      out.items.push_back(impl_->redact(*s, std::move(d.value())));
    }
    return out;
  }
  std::sort(ids.begin(), ids.end(),
            [](const auto& a, const auto& b) { return id_order(a) < id_order(b); });

  // A candidate as stored, from the same view as its id.
  auto read = [&](const std::string& id) -> result<json::object> {
    auto d = impl_->load(space, s->name, id, at);
    if (!d) return d.err();
    if (!*d)
      return make_error(errc::corruption,
                        std::string("the ") + (indexed ? indexed : "collection") + " of " +
                            s->name + " names " + printable(id) +
                            ", but there is no such document; run 'octomig-admin projections "
                            "rebuild' with the server stopped");
    return std::move(**d);
  };
  document_page out;
  for (const auto& id : ids) {
    if (!q.ids.empty() && std::find(q.ids.begin(), q.ids.end(), id) == q.ids.end()) continue;
    std::optional<json::object> doc;
    if (check) {
      auto d = read(id);
      if (!d) return d.err();
      if (!name_matches(mig::name_of(*s, *d))) continue;
      doc = std::move(*d);
    }
    std::size_t index = out.total++;
    if (index < skip || out.items.size() >= take) continue;
    if (!doc) {
      auto d = read(id);
      if (!d) return d.err();
      doc = std::move(*d);
    }
    out.items.push_back(impl_->redact(*s, std::move(*doc)));
  }
  return out;
}

result<std::string> documents::next_id(const std::string& collection) const {
  const schema* s = mig::find_collection(collection);
  if (!s || !s->stored || s->ids != mig::id_style::counter)
    return make_error(errc::not_found,
                      "There is no counter-numbered collection " + collection + ".");
  auto n = impl_->stored_counter(s->name);
  if (!n) return n.err();
  return s->id_prefix + "-" + std::to_string(*n + 1);
}

namespace {

class rocks_document_snapshot final : public migration::document_source {
 public:
  explicit rocks_document_snapshot(const documents::impl& d) : d_(d), view_(d.db.db.get()) {}

  result<std::optional<json::object>> get_revealed(const std::string& space,
                                                   const std::string& collection,
                                                   const std::string& id) const override {
    const schema* s = mig::find_collection(collection);
    if (!s) return make_error(errc::not_found, "There is no collection " + collection + ".");
    auto doc = d_.load(space, s->name, id, view_.get());
    if (!doc) return doc.err();
    if (!*doc) return std::optional<json::object>();
    return std::optional<json::object>(d_.reveal(*s, std::move(**doc)));
  }
  result<std::vector<mig::document_ref>> owned_by(const std::string& space,
                                                  const std::string& collection,
                                                  const std::string& id) const override {
    return linked(space, collection, id, link_kind::owner);
  }
  result<std::vector<mig::document_ref>> referrers(const std::string& space,
                                                   const std::string& collection,
                                                   const std::string& id) const override {
    return linked(space, collection, id, link_kind::reference);
  }
  result<std::optional<std::string>> id_by_name(const std::string& space,
                                                const std::string& collection,
                                                const std::string& owner_id,
                                                const std::string& name) const override {
    return d_.db.get(cf_names, name_key(space, collection, owner_id, name), "the name index",
                     view_.get());
  }

 private:
  result<std::vector<mig::document_ref>> linked(const std::string& space,
                                                const std::string& collection,
                                                const std::string& id, link_kind kind) const {
    auto rows = d_.linked_to(space, collection, id, kind, view_.get());
    if (!rows) return rows.err();
    std::vector<mig::document_ref> out;
    out.reserve(rows->size());
    for (auto& [c, i] : *rows) out.push_back({std::move(c), std::move(i)});
    return out;
  }

  const documents::impl& d_;
  store::impl::snapshot view_;
};

}  // namespace

std::unique_ptr<migration::document_source> documents::snapshot() const {
  return std::make_unique<rocks_document_snapshot>(*impl_);
}

result<json::object> documents::find_by_name(const std::string& space,
                                             const std::string& collection,
                                             const std::string& owner_id,
                                             const std::string& name) const {
  const schema* s = mig::find_collection(collection);
  if (!s) return make_error(errc::not_found, "There is no collection " + collection + ".");
  // The index row and the document from one snapshot: a row naming no document is damage.
  store::impl::snapshot view(impl_->db.db.get());
  auto id = impl_->db.get(cf_names, name_key(space, s->name, owner_id, name), "the name index",
                          view.get());
  if (!id) return id.err();
  if (!*id)
    return make_error(errc::not_found, "There is no " + s->item_type + " named '" + name + "'.");
  auto doc = impl_->load(space, s->name, **id, view.get());
  if (!doc) return doc.err();
  if (!*doc)
    return make_error(errc::corruption, "the name index names " + printable(**id) + " for '" +
                                            name +
                                            "', but there is no such document; run "
                                            "'octomig-admin projections rebuild'");
  return impl_->redact(*s, std::move(**doc));
}

result<json::object> documents::find_by_slug(const std::string& space,
                                             const std::string& collection,
                                             const std::string& slug) const {
  const schema* s = mig::find_collection(collection);
  if (!s) return make_error(errc::not_found, "There is no collection " + collection + ".");
  // Most slugs are made from the name: try the documents whose indexed name gives this slug first
  // (the name index holds names in lower case, and slugify lower-cases anyway).
  if (s->uniqueness != mig::name_scope::none) {
    auto likely = impl_->ids_by_name(
        space, s->name, [&](const std::string& name) { return mig::slugify(name) == slug; });
    if (!likely) return likely.err();
    for (const auto& id : *likely) {
      auto doc = impl_->load(space, s->name, id);
      if (!doc) return doc.err();
      if (*doc && str_field(**doc, "Slug") == slug) return impl_->redact(*s, std::move(**doc));
    }
  }
  // A slug set by hand: read them all.
  auto all = impl_->scan(space, s->name);
  if (!all) return all.err();
  for (auto& [id, doc] : *all)
    if (str_field(doc, "Slug") == slug) return impl_->redact(*s, std::move(doc));
  return make_error(errc::not_found,
                    "There is no " + s->item_type + " with the slug " + slug + ".");
}

namespace {

// Every row of the two document indexes that the stored documents call for, from a scan of all
// of them (every space): the reverse reference index (empty values) and the name index (the
// document's id as value).
struct index_rows {
  std::set<std::string> references;
  std::map<std::string, std::string> names;
};

result<index_rows> expected_indexes(const store::impl& db, std::uint64_t& documents) {
  index_rows rows;
  std::unique_ptr<rocksdb::Iterator> it(
      db.db->NewIterator(rocksdb::ReadOptions(), db.h(cf_documents)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto key = it->key().ToStringView();
    auto a = key.find('\0');
    auto b = a == std::string_view::npos ? a : key.find('\0', a + 1);
    const schema* s =
        b == std::string_view::npos ? nullptr : mig::find_collection(key.substr(a + 1, b - a - 1));
    json::error_code ec;
    auto v = json::parse(it->value().ToStringView(), ec);
    if (!s || ec || !v.is_object())
      return make_error(errc::corruption,
                        "the stored document " + printable(std::string(key)) + " is malformed");
    std::string space(key.substr(0, a)), id(key.substr(b + 1));
    const auto& doc = v.as_object();
    for (const auto& l : links_of(*s, doc)) rows.references.insert(link_key(space, l, s->name, id));
    if (s->uniqueness != mig::name_scope::none) {
      auto name = mig::name_of(*s, doc);
      auto owner = s->uniqueness == mig::name_scope::owner ? mig::owner_of(*s, doc) : "";
      if (!name.empty()) rows.names[name_key(space, s->name, owner, name)] = id;
    }
    ++documents;
  }
  if (!it->status().ok()) return io(it->status(), "cannot scan the documents");
  return rows;
}

}  // namespace

result<document_index_report> verify_document_indexes(const store& st) {
  const auto& db = st.internals();
  document_index_report rep;
  auto expected = expected_indexes(db, rep.documents);
  if (!expected) return expected.err();
  // The stored rows of one index against the expected ones (key to value), in key order.
  auto compare = [&](cf_id cf, const char* what,
                     const std::map<std::string, std::string>& rows) -> status {
    std::unique_ptr<rocksdb::Iterator> it(db.db->NewIterator(rocksdb::ReadOptions(), db.h(cf)));
    auto exp = rows.begin();
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      std::string k = it->key().ToString();
      for (; exp != rows.end() && exp->first < k; ++exp)
        rep.differences.push_back(std::string(what) + ": missing row " + printable(exp->first));
      if (exp != rows.end() && exp->first == k) {
        if (it->value() != exp->second)
          rep.differences.push_back(std::string(what) + ": row " + printable(k) +
                                    " differs from the documents");
        ++exp;
      } else {
        rep.differences.push_back(std::string(what) + ": unexpected row " + printable(k));
      }
    }
    if (!it->status().ok()) return io(it->status(), std::string("cannot scan the ") + what);
    for (; exp != rows.end(); ++exp)
      rep.differences.push_back(std::string(what) + ": missing row " + printable(exp->first));
    return ok_status();
  };
  std::map<std::string, std::string> references;
  for (const auto& k : expected->references) references.emplace(k, "");
  if (auto s = compare(cf_references, "references", references); !s) return s.err();
  if (auto s = compare(cf_names, "names", expected->names); !s) return s.err();
  return rep;
}

result<std::uint64_t> rebuild_document_indexes(store& st) {
  auto& db = st.internals();
  if (db.opts.mode != open_mode::read_write)
    return make_error(errc::invalid_argument, "the store is open read-only");
  std::uint64_t documents = 0;
  auto expected = expected_indexes(db, documents);
  if (!expected) return expected.err();
  rocksdb::WriteBatch b;
  for (cf_id cf : {cf_references, cf_names}) {
    std::unique_ptr<rocksdb::Iterator> it(db.db->NewIterator(rocksdb::ReadOptions(), db.h(cf)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) b.Delete(db.h(cf), it->key());
    if (!it->status().ok()) return io(it->status(), "cannot scan the document indexes");
  }
  for (const auto& k : expected->references) b.Put(db.h(cf_references), k, "");
  for (const auto& [k, id] : expected->names) b.Put(db.h(cf_names), k, id);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  auto s = db.db->Write(wo, &b);
  if (!s.ok()) return io(s, "cannot write the rebuilt reference index");
  return documents;
}

}  // namespace octomig::storage
