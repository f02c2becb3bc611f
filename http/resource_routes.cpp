// The REST routes of an instance's resources: one generic set of routes per collection of the
// schema table (list, all, get, create, modify, delete, and the routes under an owner such as
// /projects/{id}/variables). No collection has a handler of its own.
//
// Reads come straight from the document store; writes are commands sent through the engine's
// gateway to the document writer actor (the store's single write path), and the answer is sent
// from its callback. Maintenance mode is enforced by the router.
#include <memory>
#include <optional>

#include "http/json_util.hpp"
#include "http/routes.hpp"
#include "migration/schema.hpp"
#include "storage/documents.hpp"

namespace octomig::http {
namespace {

namespace mig = octomig::migration;
using schema = mig::collection_schema;

const char* const problem = "There was a problem with your request.";

// The store's errors as Octopus bodies: a problem per line becomes one entry of Errors.
response failure(const error& e) {
  if (e.code == errc::not_found) return not_found();
  if (e.code != errc::invalid_argument) return error_response(e);
  std::vector<std::string> lines;
  std::string cur;
  for (char ch : e.message) {
    if (ch == '\n') {
      lines.push_back(cur);
      cur.clear();
    } else {
      cur += ch;
    }
  }
  lines.push_back(cur);
  return error_response(400, problem, lines);
}

class resources : public std::enable_shared_from_this<resources> {
 public:
  explicit resources(const api_config& cfg)
      : docs_(*cfg.store, cfg.master_key), commands_(cfg.commands) {}

  void add_routes(route_table& t) {
    auto self = shared_from_this();
    for (const auto& c : mig::collections()) {
      if (!c.rest || !c.stored) continue;
      const schema* s = &c;
      const std::string r = c.route;
      t.add(r, "GET", r, access::user, both,
            [self, s](const call& k, respond_fn f) { self->list(*s, k, {}, f); });
      t.add(r, "POST", r, access::user, both,
            [self, s](const call& k, respond_fn f) { self->create(*s, k, {}, f); });
      // "all" before "{id}": the first matching pattern wins.
      t.add(r + "/all", "GET", r + "/all", access::user, both,
            [self, s](const call& k, respond_fn f) { self->all(*s, k, f); });
      t.add(r + "/{id}", "GET", r + "/{id}", access::user, both,
            [self, s](const call& k, respond_fn f) { self->get(*s, k, k.param("id"), f); });
      t.add(r + "/{id}", "PUT", r + "/{id}", access::user, both,
            [self, s](const call& k, respond_fn f) { self->modify(*s, k, k.param("id"), f); });
      t.add(r + "/{id}", "DELETE", r + "/{id}", access::user, both,
            [self, s](const call& k, respond_fn f) { self->remove(*s, k, k.param("id"), f); });
      // Under each owner: /projects/{id}/channels lists and creates, /projects/{id}/variables is
      // the one document.
      for (const auto& owner_name : c.owner_collections) {
        const schema* o = mig::find_collection(owner_name);
        if (!o || !o->rest || c.owner_route.empty()) continue;
        auto pattern = o->route + "/{owner}/" + c.owner_route;
        if (c.one_per_owner) {
          t.add(pattern, "GET", pattern, access::user, both,
                [self, s, o](const call& k, respond_fn f) {
                  if (auto id = self->owned_id(*s, *o, k, f)) self->get(*s, k, *id, f);
                });
          t.add(pattern, "PUT", pattern, access::user, both,
                [self, s, o](const call& k, respond_fn f) {
                  if (auto id = self->owned_id(*s, *o, k, f)) self->modify(*s, k, *id, f);
                });
        } else {
          t.add(pattern, "GET", pattern, access::user, both,
                [self, s, o](const call& k, respond_fn f) {
                  if (auto owner = self->resolve(*o, k, k.param("owner"), f))
                    self->list(*s, k, *owner, f);
                });
          t.add(pattern, "POST", pattern, access::user, both,
                [self, s, o](const call& k, respond_fn f) {
                  if (auto owner = self->resolve(*o, k, k.param("owner"), f))
                    self->create(*s, k, *owner, f);
                });
        }
      }
    }
  }

 private:
  storage::documents docs_;  // reads only
  actors::gateway* commands_;

  // Only the default space exists so far.
  static bool known_space(const call& k) { return k.space_or_default() == default_space_id; }

  // A document's Links: Self always in the space-scoped form, and one link per owned collection.
  static json::object links(const schema& s, const std::string& space, const std::string& id) {
    std::string self = "/api/" + space + "/" + s.route + "/" + id;
    json::object l{{"Self", self}, {"Web", "/app#/" + space + "/" + s.route + "/" + id}};
    for (const auto& child : mig::collections()) {
      if (!child.rest || child.owner_route.empty()) continue;
      for (const auto& o : child.owner_collections)
        if (o == s.name)
          l[child.owner_link] = self + "/" + child.owner_route +
                                (child.one_per_owner ? "" : "{/id}{?" + child.list_query + "}");
    }
    return l;
  }

  static json::object shown(const schema& s, const std::string& space, json::object doc) {
    auto id = doc.if_contains("Id") && doc.at("Id").is_string()
                  ? std::string(doc.at("Id").get_string())
                  : std::string();
    doc["Links"] = links(s, space, id);
    return doc;
  }

  // The id a route names, by id or (for collections with slugs) by slug; responds 404 otherwise.
  std::optional<std::string> resolve(const schema& s, const call& k, const std::string& id_or_slug,
                                     const respond_fn& f) const {
    if (!known_space(k)) return f(not_found()), std::nullopt;
    auto space = k.space_or_default();
    auto d = docs_.get(space, s.name, id_or_slug);
    if (!d && d.err().code == errc::not_found && s.slug)
      d = docs_.find_by_slug(space, s.name, id_or_slug);
    if (!d) return f(failure(d.err())), std::nullopt;
    return std::string(d->at("Id").as_string());
  }

  std::optional<std::string> owned_id(const schema& s, const schema& owner, const call& k,
                                      const respond_fn& f) const {
    auto o = resolve(owner, k, k.param("owner"), f);
    if (!o) return std::nullopt;
    return mig::id_for_owner(s, *o);
  }

  static std::optional<json::object> body_of(const call& k, const respond_fn& f) {
    if (k.req.body.find_first_not_of(" \t\r\n") == std::string::npos)
      return f(error_response(400, "No request body was supplied.")), std::nullopt;
    auto v = parse_lenient(k.req.body);
    if (!v) return f(error_response(v.err())), std::nullopt;
    if (!v->is_object())
      return f(error_response(400, problem, {"The request body must be a JSON object."})),
             std::nullopt;
    return std::move(v->as_object());
  }

  void list(const schema& s, const call& k, const std::string& owner, const respond_fn& f) const {
    if (!known_space(k)) return f(not_found());
    auto p = parse_paging(k.req);
    if (!p) return f(error_response(p.err()));
    storage::document_query q;
    if (auto* v = k.req.param("ids")) q.ids = split_list(*v);
    if (auto* v = k.req.param("partialname")) q.partial_name = *v;
    if (auto* v = k.req.param("name")) q.name = *v;
    q.owner_id = owner;
    auto space = k.space_or_default();
    auto found = docs_.page(space, s.name, q, p->skip, p->take);
    if (!found) return f(failure(found.err()));
    json::array items;
    for (auto& d : found->items) items.push_back(shown(s, space, std::move(d)));
    std::string base = k.req.path;
    while (base.size() > 1 && base.back() == '/') base.pop_back();
    f(json_response(collection(s.item_type, std::move(items), found->total, *p, base,
                               base + "{?" + s.list_query + "}")));
  }

  void all(const schema& s, const call& k, const respond_fn& f) const {
    if (!known_space(k)) return f(not_found());
    auto space = k.space_or_default();
    auto found = docs_.list(space, s.name, {});
    if (!found) return f(failure(found.err()));
    json::array items;
    for (auto& d : *found) items.push_back(shown(s, space, std::move(d)));
    f(json_response(items));
  }

  void get(const schema& s, const call& k, const std::string& id_or_slug,
           const respond_fn& f) const {
    auto id = resolve(s, k, id_or_slug, f);
    if (!id) return;
    auto space = k.space_or_default();
    auto d = docs_.get(space, s.name, *id);
    if (!d) return f(failure(d.err()));
    f(json_response(shown(s, space, std::move(*d))));
  }

  void create(const schema& s, const call& k, const std::string& owner, const respond_fn& f) {
    if (!known_space(k)) return f(not_found());
    auto body = body_of(k, f);
    if (!body) return;
    // Under an owner's route the owner comes from the route, whatever the body says.
    if (!owner.empty()) (*body)[s.owner_field.substr(1)] = owner;
    write({storage::document_op::create, k.space_or_default(), s.name, {}, std::move(*body)}, s,
          201, f);
  }

  void modify(const schema& s, const call& k, const std::string& id_or_slug, const respond_fn& f) {
    auto id = resolve(s, k, id_or_slug, f);
    if (!id) return;
    auto body = body_of(k, f);
    if (!body) return;
    write({storage::document_op::replace, k.space_or_default(), s.name, *id, std::move(*body)}, s,
          200, f);
  }

  void remove(const schema& s, const call& k, const std::string& id_or_slug, const respond_fn& f) {
    auto id = resolve(s, k, id_or_slug, f);
    if (!id) return;
    write({storage::document_op::remove, k.space_or_default(), s.name, *id, {}}, s, 200, f);
  }

  // Sends the command to the document writer; answers from its callback (an actor thread).
  void write(storage::document_command cmd, const schema& s, unsigned status,
             const respond_fn& f) const {
    auto space = cmd.space_id;
    // The callback keeps this object alive: it may run after the route table is gone.
    commands_->write_document(
        std::move(cmd), [self = shared_from_this(), &s, space, status, f](result<json::object> d) {
          if (!d) return f(failure(d.err()));
          f(json_response(self->shown(s, space, std::move(*d)), status));
        });
  }
};

}  // namespace

void add_resource_routes(route_table& routes, const api_config& cfg) {
  // Every handler holds the shared object, so it lives as long as the route table.
  std::make_shared<resources>(cfg)->add_routes(routes);
}

}  // namespace octomig::http
