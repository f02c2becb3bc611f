// The pure functions over the schema table: lookups, validation, reference and sensitive-value
// enumeration through wildcard JSON pointers, defaults and slugs.
#include "migration/schema.hpp"

#include <algorithm>

#include "base/ascii.hpp"

namespace octomig::migration {
namespace {

using ascii::iequals;

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::vector<std::string> split_pointer(std::string_view p) {
  std::vector<std::string> out;
  std::size_t i = 0;
  if (!p.empty() && p[0] == '/') i = 1;
  std::string cur;
  for (; i < p.size(); ++i) {
    if (p[i] == '/') {
      out.push_back(cur);
      cur.clear();
    } else if (p[i] == '~' && i + 1 < p.size() && (p[i + 1] == '0' || p[i + 1] == '1')) {
      cur += p[i + 1] == '0' ? '~' : '/';
      ++i;
    } else {
      cur += p[i];
    }
  }
  if (!p.empty()) out.push_back(cur);
  return out;
}

std::string escape(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

// Calls fn(value, parent, pointer, stable_key) for every value a wildcard pattern reaches. V is
// json::value or const json::value, so one walker serves reading and rewriting. parent is the
// object or array holding the value (for conditions on sibling fields).
template <class V, class F>
void walk(V& v, const std::vector<std::string>& segs, std::size_t i, const std::string& ptr,
          const std::string& stable, V* parent, F& fn) {
  if (i == segs.size()) {
    fn(v, parent, ptr, stable);
    return;
  }
  const std::string& s = segs[i];
  if (s == "*") {
    if (v.is_array()) {
      auto& a = v.as_array();
      for (std::size_t n = 0; n < a.size(); ++n) {
        auto& e = a[n];
        std::string step = std::to_string(n);
        std::string stable_step = step;
        // Array elements with an Id keep their identity when a PUT reorders them.
        if (e.is_object())
          if (auto* id = e.as_object().if_contains("Id"); id && id->is_string())
            stable_step = "[" + std::string(id->get_string()) + "]";
        walk(e, segs, i + 1, ptr + "/" + step, stable + "/" + stable_step, &v, fn);
      }
    } else if (v.is_object()) {
      for (auto& kv : v.as_object()) {
        std::string step = escape(kv.key());
        walk(kv.value(), segs, i + 1, ptr + "/" + step, stable + "/" + step, &v, fn);
      }
    }
    return;
  }
  if (!v.is_object()) return;
  auto* child = v.as_object().if_contains(s);
  if (!child) return;
  std::string step = escape(s);
  walk(*child, segs, i + 1, ptr + "/" + step, stable + "/" + step, &v, fn);
}

bool holds(const condition& c, const json::value* parent) {
  if (c.field.empty()) return true;
  if (!parent || !parent->is_object()) return false;
  auto* f = parent->as_object().if_contains(c.field);
  if (!f) return false;
  std::string text;
  if (f->is_string())
    text = std::string(f->get_string());
  else if (f->is_bool())
    text = f->get_bool() ? "true" : "false";
  else
    return false;
  return std::any_of(c.values.begin(), c.values.end(),
                     [&](const std::string& v) { return iequals(v, text); });
}

const char* kind_name(json_kind k) {
  switch (k) {
    case json_kind::string:
      return "a string";
    case json_kind::boolean:
      return "true or false";
    case json_kind::number:
      return "a number";
    case json_kind::array:
      return "an array";
    case json_kind::object:
      return "an object";
    case json_kind::string_array:
      return "an array of strings";
  }
  return "a value";
}

bool has_kind(const json::value& v, json_kind k) {
  switch (k) {
    case json_kind::string:
      return v.is_string();
    case json_kind::boolean:
      return v.is_bool();
    case json_kind::number:
      return v.is_number();
    case json_kind::array:
      return v.is_array();
    case json_kind::object:
      return v.is_object();
    case json_kind::string_array: {
      if (!v.is_array()) return false;
      const auto& a = v.get_array();
      return std::all_of(a.begin(), a.end(), [](const json::value& e) { return e.is_string(); });
    }
  }
  return false;
}

// "/Name" -> "Name"; "/Endpoint/Uri" -> "Endpoint.Uri" (how the error sentences name a field).
std::string field_label(std::string_view pointer) {
  std::string out;
  for (const auto& s : split_pointer(pointer)) out += (out.empty() ? "" : ".") + s;
  return out;
}

}  // namespace

const collection_schema* find_collection(std::string_view name) {
  for (const auto& c : collections())
    if (iequals(c.name, name)) return &c;
  return nullptr;
}

const collection_schema* find_by_route(std::string_view route) {
  for (const auto& c : collections())
    if (c.rest && iequals(c.route, route)) return &c;
  return nullptr;
}

bool id_has_shape(const collection_schema& c, std::string_view id) {
  if (is_builtin_id(c, id)) return true;
  if (id.size() <= c.id_prefix.size() + 1 || id.substr(0, c.id_prefix.size()) != c.id_prefix ||
      id[c.id_prefix.size()] != '-')
    return false;
  auto rest = id.substr(c.id_prefix.size() + 1);
  if (c.ids == id_style::counter) return all_digits(rest);
  // From an owner: the rest is the id of a document of one of the owner collections.
  for (const auto& o : c.owner_collections)
    if (auto* oc = find_collection(o);
        oc && oc->ids == id_style::counter && id_has_shape(*oc, rest))
      return true;
  return false;
}

bool is_builtin_id(const collection_schema& c, std::string_view id) {
  // The built-in package feed exists in every space without a document (contract §0, Id format).
  return c.name == "Feeds" && id == "feeds-builtin";
}

const collection_schema* collection_of_id(std::string_view id) {
  for (const auto& c : collections())
    if (id_has_shape(c, id)) return &c;
  return nullptr;
}

std::string id_for_owner(const collection_schema& c, std::string_view owner_id) {
  return c.id_prefix + "-" + std::string(owner_id);
}

json::value* find_pointer(json::value& doc, std::string_view pointer) {
  json::value* cur = &doc;
  if (pointer.empty()) return cur;
  for (const auto& s : split_pointer(pointer)) {
    if (cur->is_object()) {
      cur = cur->as_object().if_contains(s);
    } else if (cur->is_array() && all_digits(s)) {
      auto n = std::stoull(s);
      cur = n < cur->as_array().size() ? &cur->as_array()[n] : nullptr;
    } else {
      cur = nullptr;
    }
    if (!cur) return nullptr;
  }
  return cur;
}

const json::value* find_pointer(const json::value& doc, std::string_view pointer) {
  return find_pointer(const_cast<json::value&>(doc), pointer);
}

std::vector<std::string> validate(const collection_schema& c, const json::object& doc) {
  std::vector<std::string> problems;
  json::value whole(doc);
  auto is_sensitive_field = [&c](const std::string& p) {
    return std::any_of(c.sensitive.begin(), c.sensitive.end(),
                       [&](const sensitive_rule& r) { return r.pointer == p; });
  };
  for (const auto& f : c.fields) {
    const json::value* v = find_pointer(whole, f.pointer);
    bool absent = !v || v->is_null() || (v->is_string() && v->get_string().empty());
    if (absent) {
      if (f.required) problems.push_back("The " + field_label(f.pointer) + " field is required.");
      continue;
    }
    // A sensitive field is a plain string or Octopus's {"HasValue":..,"NewValue":..} object.
    if (is_sensitive_field(f.pointer)) {
      if (!v->is_string() && !v->is_object())
        problems.push_back("The " + field_label(f.pointer) + " field must be a string.");
      continue;
    }
    if (!has_kind(*v, f.kind))
      problems.push_back("The " + field_label(f.pointer) + " field must be " + kind_name(f.kind) +
                         ".");
  }
  if (!c.owner_field.empty()) {
    auto owner = owner_of(c, doc);
    if (!owner.empty()) {
      bool ok = std::any_of(c.owner_collections.begin(), c.owner_collections.end(),
                            [&](const std::string& oc) {
                              auto* s = find_collection(oc);
                              return s && id_has_shape(*s, owner);
                            });
      if (!ok)
        problems.push_back("The " + field_label(c.owner_field) + " field must name a document of " +
                           [&] {
                             std::string names;
                             for (const auto& o : c.owner_collections)
                               names += (names.empty() ? "" : " or ") + o;
                             return names;
                           }() +
                           ".");
    }
  }
  // Reference fields that are not strings would silently escape the reference checks.
  for (const auto& r : c.references) {
    auto segs = split_pointer(r.pointer);
    if (!segs.empty() && segs.back() == "*key") continue;
    auto fn = [&](const json::value& v, const json::value* parent, const std::string& ptr,
                  const std::string&) {
      if (!v.is_null() && !v.is_string() && holds(r.when, parent))
        problems.push_back("The value at " + ptr + " must be an id (a string).");
    };
    walk(static_cast<const json::value&>(whole), segs, 0, std::string(), std::string(),
         static_cast<const json::value*>(nullptr), fn);
  }
  std::sort(problems.begin(), problems.end());
  problems.erase(std::unique(problems.begin(), problems.end()), problems.end());
  return problems;
}

std::string name_of(const collection_schema& c, const json::object& doc) {
  if (c.name_field.empty()) return {};
  auto* v = doc.if_contains(c.name_field);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::string owner_of(const collection_schema& c, const json::object& doc) {
  if (c.owner_field.empty()) return {};
  auto* v = doc.if_contains(c.owner_field.substr(1));
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::vector<found_reference> references(const collection_schema& c, const json::value& doc) {
  std::vector<found_reference> out;
  for (const auto& r : c.references) {
    auto segs = split_pointer(r.pointer);
    bool keys = !segs.empty() && segs.back() == "*key";
    if (keys) segs.pop_back();
    auto fn = [&](const json::value& v, const json::value* parent, const std::string& ptr,
                  const std::string&) {
      if (keys) {
        if (!v.is_object()) return;
        for (const auto& kv : v.as_object())
          out.push_back({ptr + "/" + escape(kv.key()), r.target, std::string(kv.key()), true});
        return;
      }
      if (!v.is_string() || v.get_string().empty() || !holds(r.when, parent)) return;
      out.push_back({ptr, r.target, std::string(v.get_string())});
    };
    walk(doc, segs, 0, std::string(), std::string(), static_cast<const json::value*>(nullptr), fn);
  }
  return out;
}

std::vector<sensitive_path> sensitive_paths(const collection_schema& c, const json::value& doc) {
  std::vector<sensitive_path> out;
  for (const auto& r : c.sensitive) {
    auto fn = [&](const json::value&, const json::value* parent, const std::string& ptr,
                  const std::string& stable) {
      if (!holds(r.when, parent)) return;
      // Two rules may reach one value (IsSensitive and Type "Sensitive"): list it once.
      if (std::none_of(out.begin(), out.end(),
                       [&](const sensitive_path& p) { return p.pointer == ptr; }))
        out.push_back({ptr, stable, r.style});
    };
    walk(doc, split_pointer(r.pointer), 0, std::string(), std::string(),
         static_cast<const json::value*>(nullptr), fn);
  }
  return out;
}

void assign_element_ids(const collection_schema& c, json::value& doc,
                        const std::function<std::string()>& new_id) {
  for (const auto& p : c.element_ids) {
    auto fn = [&](json::value& v, json::value*, const std::string&, const std::string&) {
      if (!v.is_object()) return;
      auto* id = v.as_object().if_contains("Id");
      if (!id || !id->is_string() || id->get_string().empty()) v.as_object()["Id"] = new_id();
    };
    walk(doc, split_pointer(p), 0, std::string(), std::string(), static_cast<json::value*>(nullptr),
         fn);
  }
}

json::object with_defaults(const collection_schema& c, json::object doc) {
  if (c.defaults_json.empty()) return doc;
  // The table is constant and a test parses every entry's defaults, so this cannot fail at run
  // time.
  json::error_code ec;
  auto parsed = json::parse(c.defaults_json, ec);
  if (ec || !parsed.is_object()) return doc;
  for (auto& kv : parsed.as_object()) {
    auto* v = doc.if_contains(kv.key());
    if (!v || v->is_null()) doc[kv.key()] = kv.value();
  }
  return doc;
}

std::string slugify(std::string_view name) {
  std::string out;
  bool dash = false;
  for (char ch : name) {
    if (ascii::is_alnum(ch)) {
      if (dash && !out.empty()) out += '-';
      dash = false;
      out += ascii::to_lower(ch);
    } else {
      dash = true;
    }
  }
  return out;
}

std::string link_template(const collection_schema& c, const std::string& base) {
  return base + "/" + c.route + "{/id}{?" + c.list_query + "}";
}

std::pair<std::uint64_t, std::string_view> id_order(std::string_view id) {
  std::size_t i = id.size();
  while (i > 0 && id[i - 1] >= '0' && id[i - 1] <= '9') --i;
  std::uint64_t n = 0;
  for (std::size_t j = i; j < id.size() && j < i + 18; ++j)
    n = n * 10 + static_cast<std::uint64_t>(id[j] - '0');
  return {n, id};
}

std::string describe(const collection_schema& c, const std::string& id, const json::object& doc) {
  auto name = name_of(c, doc);
  return name.empty() ? c.item_type + " " + id : c.item_type + " '" + name + "' (" + id + ")";
}

}  // namespace octomig::migration
