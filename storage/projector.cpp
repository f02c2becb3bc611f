#include "storage/projector.hpp"

#include <boost/json.hpp>

#include "storage/keys.hpp"

namespace octomig::storage {

namespace json = boost::json;

projector::projector(base b) : base_(std::move(b)) {}

status projector::load_counters() {
  if (counters_loaded_) return ok_status();
  if (base_.highest_task_number) {
    auto n = base_.highest_task_number();
    if (!n) return n.err();
    highest_task_number = std::max(highest_task_number, *n);
  }
  if (base_.highest_user_number) {
    auto n = base_.highest_user_number();
    if (!n) return n.err();
    highest_user_number = std::max(highest_user_number, *n);
  }
  counters_loaded_ = true;
  return ok_status();
}

status projector::prepare(const std::string& stream,
                          const std::vector<events::event_body>& bodies) {
  if (auto s = load_counters(); !s) return s;
  if (events::is_task_stream(stream)) {
    if (tasks.count(stream) || !base_.task) return ok_status();
    auto loaded = base_.task(stream);
    if (!loaded) return loaded.err();
    tasks.emplace(stream, loaded->value_or(events::task_state{}));
    return ok_status();
  }
  for (const auto& b : bodies) {
    bool changes_maintenance = std::holds_alternative<events::maintenance_entered>(b) ||
                               std::holds_alternative<events::maintenance_left>(b);
    if (changes_maintenance && !maintenance && base_.maintenance) {
      auto m = base_.maintenance();
      if (!m) return m.err();
      maintenance = *m;
    }
    if (const auto* k = std::get_if<events::api_key_revoked>(&b);
        k && !api_keys_by_name.count(k->name) && base_.api_key_by_name) {
      auto rec = base_.api_key_by_name(k->name);
      if (!rec) return rec.err();
      api_keys_by_name[k->name] = *rec;
    }
  }
  return ok_status();
}

events::task_state& projector::task(const std::string& id) {
  return tasks.try_emplace(id).first->second;  // prepare() loaded it when it was stored
}

void projector::apply(const events::envelope& e) {
  checkpoint = e.position;
  if (events::is_task_stream(e.stream)) {
    auto& t = task(e.stream);
    // Line numbers continue from the task's count before this event, which events::apply then
    // advances by the same number of lines (log_lines_added): the two stay in step.
    if (const auto* r = std::get_if<events::task_recorded>(&e.body)) {
      std::uint32_t n = t.log_line_count;
      for (const auto& line : r->log) log_lines.emplace_back(keys::log_line(e.stream, n++), line);
    } else if (auto line = events::log_line_for(e)) {
      log_lines.emplace_back(keys::log_line(e.stream, t.log_line_count), std::move(*line));
    }
    t = events::apply(std::move(t), e);
    highest_task_number = std::max(highest_task_number, task_number(e.stream));
    return;
  }
  auto current_maintenance = [&]() -> maintenance_state& {
    if (!maintenance) maintenance = maintenance_state{};  // prepare() loaded the stored one
    return *maintenance;
  };
  if (auto* m = std::get_if<events::maintenance_entered>(&e.body)) {
    auto& st = current_maintenance();
    if (m->task_id.empty())
      st.manual = true;
    else
      st.task_id = m->task_id;
  } else if (auto* m = std::get_if<events::maintenance_left>(&e.body)) {
    auto& st = current_maintenance();
    if (m->task_id.empty())
      st.manual = false;
    else if (st.task_id == m->task_id)
      st.task_id.clear();
  } else if (auto* k = std::get_if<events::api_key_created>(&e.body)) {
    api_keys_by_name[k->name] = api_key_record{k->name, k->role, k->key_hash, e.timestamp,
                                               "Users-" + std::to_string(++highest_user_number)};
  } else if (auto* k = std::get_if<events::api_key_revoked>(&e.body)) {
    auto it = api_keys_by_name.find(k->name);
    if (it != api_keys_by_name.end() && it->second) revoked_hashes.insert(it->second->key_hash);
    api_keys_by_name[k->name] = std::nullopt;
  }
}

std::string encode(const maintenance_state& m) {
  return json::serialize(json::object{{"Manual", m.manual}, {"TaskId", m.task_id}});
}

result<maintenance_state> decode_maintenance(std::string_view bytes) {
  auto bad = [] {
    return make_error(errc::corruption,
                      "the stored maintenance mode is damaged; run 'octomig-admin projections "
                      "rebuild' with the server stopped");
  };
  json::error_code ec;
  auto v = json::parse(bytes, ec);
  if (ec || !v.is_object()) return bad();
  auto& o = v.get_object();
  auto* manual = o.if_contains("Manual");
  auto* task = o.if_contains("TaskId");
  if (!manual || !manual->is_bool() || !task || !task->is_string()) return bad();
  return maintenance_state{manual->get_bool(), std::string(task->get_string())};
}

std::string encode(const api_key_record& r) {
  return json::serialize(json::object{{"Name", r.name},
                                      {"Role", r.role},
                                      {"Hash", r.key_hash},
                                      {"Created", r.created},
                                      {"UserId", r.user_id}});
}

result<api_key_record> decode_api_key(std::string_view bytes) {
  auto bad = [] {
    return make_error(errc::corruption,
                      "a stored API key is damaged; run 'octomig-admin projections rebuild' with "
                      "the server stopped");
  };
  json::error_code ec;
  auto v = json::parse(bytes, ec);
  if (ec || !v.is_object()) return bad();
  auto& o = v.get_object();
  api_key_record r;
  for (auto [field, out] : {std::pair{"Name", &r.name}, std::pair{"Role", &r.role},
                            std::pair{"Hash", &r.key_hash}, std::pair{"UserId", &r.user_id}}) {
    auto* p = o.if_contains(field);
    if (!p || !p->is_string()) return bad();
    *out = std::string(p->get_string());
  }
  auto* created = o.if_contains("Created");
  if (!created || !created->is_int64()) return bad();
  r.created = created->get_int64();
  if (r.name.empty() || (r.role != "admin" && r.role != "user") || r.key_hash.empty() ||
      r.user_id.empty())
    return bad();
  return r;
}

}  // namespace octomig::storage
