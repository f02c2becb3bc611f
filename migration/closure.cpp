// The export closure as a worklist over the schema table. A document joins the closure when
//   - it is a named project (the roots: the collection nothing pulls in);
//   - an exported document refers to it (a project's lifecycle, a variable's account);
//   - an exported document owns it (a project's channels, a release's deployments);
//   - its collection is pulled by the collection of an exported document that it refers to
//     (pulled_by): the targets in an exported environment, the tenants of an exported project;
// unless an Ignore* flag of the request leaves its collection out. A reference into a part that
// was left out, or to a project that was not named, is recorded instead of followed.
#include "migration/closure.hpp"

#include <algorithm>
#include <deque>
#include <map>

namespace octomig::migration {
namespace {

using schema = collection_schema;

// A collection nothing pulls in and no flag leaves out: what the request names (Projects).
bool is_root(const schema& s) {
  return s.stored && s.pulled_by.empty() && s.ignore_flag.empty();
}

// The collections that a document of `collection` pulls in by being referred to from them
// (Machines for Environments). Owned collections travel with their owner only: a variable set
// whose scope names an exported project belongs to another project, which is not exported.
const std::vector<const schema*>& reverse_pulls(const std::string& collection) {
  static const std::map<std::string, std::vector<const schema*>> table = [] {
    std::map<std::string, std::vector<const schema*>> m;
    for (const auto& c : collections()) {
      if (c.pulled_by.empty() || !c.stored || !c.owner_field.empty()) continue;
      bool refers = std::any_of(c.references.begin(), c.references.end(),
                                [&](const reference_rule& r) { return r.target == c.pulled_by; });
      if (refers) m[c.pulled_by].push_back(&c);
    }
    return m;
  }();
  static const std::vector<const schema*> none;
  auto it = table.find(collection);
  return it == table.end() ? none : it->second;
}

class walker {
 public:
  walker(const document_source& src, const std::string& space, const ignore_flags& ignored,
         const std::set<std::string>& roots, const std::function<bool()>& stop)
      : src_(src), space_(space), ignored_(ignored), roots_(roots), stop_(stop) {}

  status run() {
    for (const auto& id : roots_)
      if (auto s = add({"Projects", id}); !s) return s;
    while (!queue_.empty()) {
      if (stop_ && stop_()) return make_error(errc::unavailable, "stopped");
      auto ref = std::move(queue_.front());
      queue_.pop_front();
      if (auto s = visit(ref); !s) return s;
    }
    return ok_status();
  }

  export_closure take() {
    export_closure out;
    out.documents.reserve(included_.size());
    // included_ is ordered by collection name: each collection's documents are one range of it,
    // taken in the table's order and put in id order.
    for (const auto& c : collections()) {
      auto from = out.documents.size();
      for (auto it = included_.lower_bound({c.name, ""});
           it != included_.end() && it->collection == c.name; ++it)
        out.documents.push_back(*it);
      std::sort(out.documents.begin() + static_cast<std::ptrdiff_t>(from), out.documents.end(),
                [](const document_ref& a, const document_ref& b) {
                  return id_order(a.id) < id_order(b.id);
                });
    }
    out.task_ids.assign(tasks_.begin(), tasks_.end());
    std::sort(out.task_ids.begin(), out.task_ids.end(),
              [](const auto& a, const auto& b) { return id_order(a) < id_order(b); });
    out.left_out = std::move(left_out_);
    return out;
  }

 private:
  bool left_out_by_flag(const schema& s) const {
    return !s.ignore_flag.empty() && ignored_.count(s.ignore_flag) > 0;
  }

  status add(document_ref ref) {
    if (included_.insert(ref).second) queue_.push_back(std::move(ref));
    return ok_status();
  }

  result<json::object> load(const document_ref& ref, const document_ref* from,
                            const json::object* from_doc) {
    auto doc = src_.get_revealed(space_, ref.collection, ref.id);
    if (!doc) return doc.err();
    if (!*doc) {
      const schema* fs = from ? find_collection(from->collection) : nullptr;
      std::string who = fs && from_doc ? describe(*fs, from->id, *from_doc) : "The export";
      return make_error(errc::invalid_argument,
                        who + " refers to " + ref.id + ", which does not exist.");
    }
    return std::move(**doc);
  }

  status leave_out(const document_ref& target, const std::string& flag, const document_ref& from,
                   const json::object& from_doc) {
    auto doc = load(target, &from, &from_doc);
    if (!doc) return doc.err();
    const schema* ts = find_collection(target.collection);
    auto key = target.collection + '\0' + target.id + '\0' + from.collection + '\0' + from.id;
    if (!left_out_keys_.insert(key).second) return ok_status();
    left_out_.push_back(
        {target.collection, target.id, ts ? name_of(*ts, *doc) : std::string(), flag, from});
    return ok_status();
  }

  // A reference from an exported document: followed, left out, or (a task) collected.
  status follow(const document_ref& from, const json::object& from_doc, const schema& ts,
                const std::string& id) {
    if (is_builtin_id(ts, id)) return ok_status();
    if (!ts.stored) {  // task history: not a document
      if (!left_out_by_flag(ts)) tasks_.insert(id);
      return ok_status();
    }
    document_ref target{ts.name, id};
    if (included_.count(target)) return ok_status();
    if (left_out_by_flag(ts)) return leave_out(target, ts.ignore_flag, from, from_doc);
    if (is_root(ts)) return leave_out(target, "NotExported", from, from_doc);
    // An owned document travels with its owner: a reference to one whose owner is a project
    // that was not named is left for the destination too.
    if (!ts.owner_field.empty()) {
      auto doc = load(target, &from, &from_doc);
      if (!doc) return doc.err();
      auto owner = owner_of(ts, *doc);
      const schema* os = owner.empty() ? nullptr : collection_of_id(owner);
      if (os && is_root(*os) && !included_.count({os->name, owner}))
        return leave_out(target, "NotExported", from, from_doc);
    }
    return add(std::move(target));
  }

  status visit(const document_ref& ref) {
    const schema* s = find_collection(ref.collection);
    if (!s) return make_error(errc::corruption, "an unknown collection " + ref.collection);
    auto doc = load(ref, nullptr, nullptr);
    if (!doc) return doc.err();

    // Its owner: an owned document never travels without it.
    if (auto owner = owner_of(*s, *doc); !owner.empty()) {
      const schema* os = collection_of_id(owner);
      if (os && os->stored && !included_.count({os->name, owner}))
        if (auto st = follow(ref, *doc, *os, owner); !st) return st;
    }
    for (const auto& r : references(*s, json::value(*doc))) {
      const schema* ts = find_collection(r.target);
      if (!ts) continue;
      if (auto st = follow(ref, *doc, *ts, r.id); !st) return st;
    }
    // What it owns, unless a flag leaves that collection out.
    auto owned = src_.owned_by(space_, ref.collection, ref.id);
    if (!owned) return owned.err();
    for (auto& o : *owned) {
      const schema* os = find_collection(o.collection);
      if (!os || left_out_by_flag(*os)) continue;
      if (auto st = add(std::move(o)); !st) return st;
    }
    // The documents its collection pulls in by their references to it.
    for (const schema* rs : reverse_pulls(ref.collection)) {
      if (left_out_by_flag(*rs)) continue;
      auto referrers = src_.referrers(space_, ref.collection, ref.id);
      if (!referrers) return referrers.err();
      for (auto& r : *referrers)
        if (r.collection == rs->name)
          if (auto st = add(std::move(r)); !st) return st;
    }
    return ok_status();
  }

  const document_source& src_;
  const std::string& space_;
  const ignore_flags& ignored_;
  const std::set<std::string>& roots_;
  const std::function<bool()>& stop_;
  std::set<document_ref> included_;
  std::deque<document_ref> queue_;
  std::set<std::string> tasks_;
  std::vector<left_out_reference> left_out_;
  std::set<std::string> left_out_keys_;
};

}  // namespace

result<export_closure> collect_closure(const document_source& src, const std::string& space,
                                       const std::vector<std::string>& project_ids,
                                       const ignore_flags& ignored,
                                       const std::function<bool()>& stop) {
  std::set<std::string> roots(project_ids.begin(), project_ids.end());
  walker w(src, space, ignored, roots, stop);
  if (auto s = w.run(); !s) return s.err();
  return w.take();
}

}  // namespace octomig::migration
