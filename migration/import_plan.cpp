#include "migration/import_plan.hpp"

#include <algorithm>

namespace octomig::migration {
namespace {

// (collection, source id) -> destination id, for everything the plan has placed so far.
using id_map = std::map<std::pair<std::string, std::string>, std::string>;

// The last segment of a JSON pointer, unescaped, and the pointer to its parent.
std::pair<std::string, std::string> split_last(const std::string& pointer) {
  auto slash = pointer.rfind('/');
  std::string parent = pointer.substr(0, slash);
  std::string last;
  const std::string raw = pointer.substr(slash + 1);
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '~' && i + 1 < raw.size()) {
      last += raw[i + 1] == '1' ? '/' : '~';
      ++i;
    } else {
      last += raw[i];
    }
  }
  return {parent, last};
}

// Where a reference goes: a destination id, nowhere (a problem was recorded), or away (drop).
struct resolution {
  std::optional<std::string> id;
  bool drop = false;
};

class planner {
 public:
  planner(const destination_view& dest, const import_options& o,
          const std::vector<left_out_entry>& left_out, const std::function<bool()>& stop)
      : dest_(dest), o_(o), stop_(stop) {
    for (const auto& l : left_out) left_out_[{l.collection, l.id}] = &l;
  }

  result<import_plan> run(std::vector<package_document> docs,
                          const std::vector<std::string>& task_ids) {
    if (auto s = place_tasks(task_ids); !s) return s.err();
    plan_.documents.reserve(docs.size());
    for (auto& d : docs) {
      if (stopped()) return make_error(errc::unavailable, "stopped");
      if (auto s = place(std::move(d)); !s) return s.err();
    }
    for (auto& d : plan_.documents) {
      if (stopped()) return make_error(errc::unavailable, "stopped");
      if (d.action != import_action::skip)
        if (auto s = rewrite(d); !s) return s.err();
    }
    for (auto& [collection, range] : counters_)
      if (range.second > range.first) plan_.counters[collection] = range;
    plan_.ids = std::move(ids_);
    return std::move(plan_);
  }

 private:
  bool stopped() const { return stop_ && stop_(); }

  // Tasks are history: one an earlier import of this source recorded is skipped, any other gets a
  // new number after the destination's highest.
  status place_tasks(const std::vector<std::string>& task_ids) {
    std::uint64_t to_create = 0;
    for (const auto& sid : task_ids) {
      planned_task t;
      t.source_id = sid;
      auto before = dest_.imported_as(sid);
      if (!before) return before.err();
      bool kept = false;
      if (*before) {
        auto there = dest_.task_exists(**before);
        if (!there) return there.err();
        kept = *there;
      }
      if (kept) {
        t.id = **before;
        t.action = import_action::skip;
        t.reason = "an earlier import of this source recorded it as " + t.id;
        ids_[{"ServerTasks", sid}] = t.id;
      } else {
        ++to_create;
      }
      plan_.tasks.push_back(std::move(t));
    }
    if (to_create == 0) return ok_status();
    auto first = dest_.first_task_number(to_create);
    if (!first) return first.err();
    std::uint64_t next = *first;
    for (auto& t : plan_.tasks) {
      if (t.action == import_action::skip) continue;
      t.id = "ServerTasks-" + std::to_string(next++);
      t.reason = "recorded as " + t.id;
      ids_[{"ServerTasks", t.source_id}] = t.id;
    }
    return ok_status();
  }

  result<std::string> new_id(const collection_schema& s, const std::string& owner) {
    if (s.ids == id_style::from_owner) return id_for_owner(s, owner);
    auto it = counters_.find(s.name);
    if (it == counters_.end()) {
      auto c = dest_.counter(s.name);
      if (!c) return c.err();
      it = counters_.emplace(s.name, std::make_pair(*c, *c)).first;
    }
    return s.id_prefix + "-" + std::to_string(++it->second.second);
  }

  // Decides what becomes of one document and where it goes.
  status place(package_document d) {
    const collection_schema* s = find_collection(d.collection);
    if (!s || !s->stored) {
      plan_.problems.push_back("The package holds " + d.collection + " " + d.id +
                               ", which this server cannot import.");
      return ok_status();
    }
    planned_document p;
    p.collection = s->name;
    p.source_id = d.id;
    p.name = name_of(*s, d.body);
    std::string owner;
    if (!s->owner_field.empty()) {
      const auto source_owner = owner_of(*s, d.body);
      const collection_schema* os = collection_of_id(source_owner);
      auto it = os ? ids_.find({os->name, source_owner}) : ids_.end();
      if (it == ids_.end()) {
        plan_.problems.push_back("Error importing " + describe(*s, d.id, d.body) +
                                 ": missing dependency " +
                                 (source_owner.empty() ? "(none)" : source_owner) +
                                 " (its owner, at " + s->owner_field + ")");
        return ok_status();
      }
      owner = it->second;
      d.body[s->owner_field.substr(1)] = owner;
    }
    std::optional<std::string> match;
    std::string how;
    if (s->ids == id_style::from_owner) {
      auto id = id_for_owner(*s, owner);
      auto there = dest_.exists(o_.space_id, s->name, id);
      if (!there) return there.err();
      if (*there) match = id, how = "its owner " + owner + " has one";
    } else if (s->uniqueness != name_scope::none && !p.name.empty()) {
      auto found = dest_.id_by_name(o_.space_id, s->name,
                                    s->uniqueness == name_scope::owner ? owner : "", p.name);
      if (!found) return found.err();
      if (*found) match = **found, how = "the destination has one of that name";
    } else {
      auto before = dest_.imported_as(d.id);
      if (!before) return before.err();
      if (*before) {
        auto there = dest_.exists(o_.space_id, s->name, **before);
        if (!there) return there.err();
        if (*there) match = **before, how = "an earlier import of this source made it";
      }
    }
    if (match) {
      p.id = *match;
      p.action = o_.overwrite ? import_action::overwrite : import_action::skip;
      p.reason = how + " (" + p.id + ")" +
                 (o_.overwrite ? "; OverwriteExisting replaces it in place" : "; it is kept");
    } else {
      auto id = new_id(*s, owner);
      if (!id) return id.err();
      p.id = *id;
      p.action = import_action::create;
      p.reason = "new";
    }
    ids_[{s->name, d.id}] = p.id;
    // A skipped document is not written: its body (source ids, opened secrets) is not kept.
    if (p.action != import_action::skip) p.body = std::move(d.body);
    plan_.documents.push_back(std::move(p));
    return ok_status();
  }

  // The destination id a reference resolves to, or nullopt (a problem is recorded).
  result<resolution> resolve(const collection_schema& s, const planned_document& d,
                             const json::value& doc, const found_reference& r) {
    if (auto it = ids_.find({r.target, r.id}); it != ids_.end()) return resolution{it->second};
    auto lo = left_out_.find({r.target, r.id});
    if (lo != left_out_.end() && !lo->second->name.empty()) {
      auto found = dest_.id_by_name(o_.space_id, r.target, "", lo->second->name);
      if (!found) return found.err();
      const collection_schema* ts = find_collection(r.target);
      if (*found) {
        ++plan_.left_out_resolved;
        return resolution{**found};
      }
      // An object key can go with its value (a tenant's connection to a project).
      if (r.key && lo->second->flag == "NotExported") {
        plan_.dropped.push_back(describe(s, d.source_id, doc.as_object()) +
                                " loses its connection to " + (ts ? ts->item_type : r.target) +
                                " '" + lo->second->name + "' (" + r.id +
                                "): it was not exported and this server has none of that name");
        return resolution{std::nullopt, true};
      }
      plan_.problems.push_back("Error importing " + describe(s, d.source_id, doc.as_object()) +
                               ": missing dependency " + (ts ? ts->item_type : r.target) + " '" +
                               lo->second->name + "' (" + r.id + ", at " + r.pointer +
                               "): the export left it out (" + lo->second->flag +
                               ") and this server has none of that name");
      return resolution{};
    }
    plan_.problems.push_back("Error importing " + describe(s, d.source_id, doc.as_object()) +
                             ": missing dependency " + r.id + " (at " + r.pointer +
                             "): it is neither in the package nor left out by name");
    return resolution{};
  }

  status rewrite(planned_document& d) {
    const collection_schema& s = *find_collection(d.collection);
    d.body.erase("Links");
    json::value doc(std::move(d.body));
    // pointer, new id; a key with an empty new id is dropped
    std::vector<std::pair<std::string, std::string>> values, keys;
    for (const auto& r : references(s, doc)) {
      const collection_schema* ts = find_collection(r.target);
      if (ts && is_builtin_id(*ts, r.id)) continue;
      auto to = resolve(s, d, doc, r);
      if (!to) return to.err();
      if (to->drop)
        keys.emplace_back(r.pointer, std::string());
      else if (!to->id)
        continue;
      else if (r.key)
        keys.emplace_back(r.pointer, *to->id);  // an id used as an object's key
      else
        values.emplace_back(r.pointer, *to->id);
    }
    for (const auto& [pointer, id] : values) *find_pointer(doc, pointer) = id;
    // Keys are renamed per object in one pass (a rename onto a key another rename frees must not
    // overwrite it), deepest objects first, so that a renamed key never moves a pointer still to
    // be used.
    std::map<std::string, std::map<std::string, std::string>> renames;  // parent -> key -> new
    for (const auto& [pointer, id] : keys) {
      auto [parent_pointer, key] = split_last(pointer);
      renames[parent_pointer][key] = id;
    }
    std::vector<const std::pair<const std::string, std::map<std::string, std::string>>*> order;
    for (const auto& entry : renames) order.push_back(&entry);
    std::sort(order.begin(), order.end(),
              [](const auto* a, const auto* b) { return a->first.size() > b->first.size(); });
    for (const auto* entry : order) {
      auto* parent = find_pointer(doc, entry->first);
      if (!parent || !parent->is_object()) continue;
      json::object renamed;
      for (auto& kv : parent->as_object()) {
        auto it = entry->second.find(std::string(kv.key()));
        if (it == entry->second.end())
          renamed[kv.key()] = std::move(kv.value());
        else if (!it->second.empty())  // empty: dropped
          renamed[it->second] = std::move(kv.value());
      }
      *parent = std::move(renamed);
    }
    auto& body = doc.as_object();
    // The links to the documents the owner is born with follow its id (variableset-Projects-12).
    for (const auto& side : s.creates) {
      if (side.link_field.empty()) continue;
      const collection_schema* ss = find_collection(side.collection);
      if (ss && ss->ids == id_style::from_owner)
        body[side.link_field.substr(1)] = id_for_owner(*ss, d.id);
    }
    body["Id"] = d.id;
    body["SpaceId"] = o_.space_id;
    d.body = std::move(body);
    return ok_status();
  }

  const destination_view& dest_;
  const import_options& o_;
  const std::function<bool()>& stop_;
  std::map<std::pair<std::string, std::string>, const left_out_entry*> left_out_;
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> counters_;
  id_map ids_;
  import_plan plan_;
};

}  // namespace

const char* to_string(import_action a) {
  switch (a) {
    case import_action::create:
      return "Create";
    case import_action::overwrite:
      return "Overwrite";
    case import_action::skip:
      return "Skip";
  }
  return "?";
}

json::object remap_task(const import_plan& plan, json::object task) {
  const collection_schema* tasks = find_collection("ServerTasks");
  if (!tasks) return task;
  json::value doc(std::move(task));
  for (const auto& r : references(*tasks, doc)) {
    auto* v = find_pointer(doc, r.pointer);
    if (!v) continue;
    auto it = plan.ids.find({r.target, r.id});
    *v = it == plan.ids.end() ? json::value(nullptr) : json::value(it->second);
  }
  return std::move(doc.as_object());
}

result<import_plan> plan_import(std::vector<package_document> documents,
                                const std::vector<std::string>& task_ids,
                                const std::vector<left_out_entry>& left_out,
                                const destination_view& destination, const import_options& options,
                                const std::function<bool()>& stop) {
  planner p(destination, options, left_out, stop);
  return p.run(std::move(documents), task_ids);
}

}  // namespace octomig::migration
