#include "storage/projector.hpp"

#include <boost/json.hpp>

#include "storage/keys.hpp"

namespace octomig::storage {

namespace json = boost::json;

projector::projector(base b) : base_(std::move(b)) {
  highest_task_number = base_.highest_task_number ? base_.highest_task_number() : 0;
}

events::task_state& projector::task(const std::string& id) {
  auto it = tasks.find(id);
  if (it != tasks.end()) return it->second;
  std::optional<events::task_state> loaded = base_.task ? base_.task(id) : std::nullopt;
  return tasks.emplace(id, loaded ? *loaded : events::task_state{}).first->second;
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
    if (!maintenance) maintenance = base_.maintenance ? base_.maintenance() : maintenance_state{};
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
    api_keys_by_name[k->name] = api_key_record{k->name, k->role, k->key_hash, e.timestamp};
  } else if (auto* k = std::get_if<events::api_key_revoked>(&e.body)) {
    auto it = api_keys_by_name.find(k->name);
    std::optional<api_key_record> current =
        it != api_keys_by_name.end()
            ? it->second
            : (base_.api_key_by_name ? base_.api_key_by_name(k->name) : std::nullopt);
    if (current) revoked_hashes.insert(current->key_hash);
    api_keys_by_name[k->name] = std::nullopt;
  }
}

std::string encode(const maintenance_state& m) {
  return json::serialize(json::object{{"Manual", m.manual}, {"TaskId", m.task_id}});
}

maintenance_state decode_maintenance(std::string_view bytes) {
  maintenance_state m;
  json::error_code ec;
  auto v = json::parse(bytes, ec);
  if (ec || !v.is_object()) return m;
  auto& o = v.get_object();
  if (auto* p = o.if_contains("Manual"); p && p->is_bool()) m.manual = p->get_bool();
  if (auto* p = o.if_contains("TaskId"); p && p->is_string())
    m.task_id = std::string(p->get_string());
  return m;
}

std::string encode(const api_key_record& r) {
  return json::serialize(json::object{
      {"Name", r.name}, {"Role", r.role}, {"Hash", r.key_hash}, {"Created", r.created}});
}

std::optional<api_key_record> decode_api_key(std::string_view bytes) {
  json::error_code ec;
  auto v = json::parse(bytes, ec);
  if (ec || !v.is_object()) return std::nullopt;
  auto& o = v.get_object();
  api_key_record r;
  auto str = [&](const char* k, std::string& out) {
    if (auto* p = o.if_contains(k); p && p->is_string()) out = std::string(p->get_string());
  };
  str("Name", r.name);
  str("Role", r.role);
  str("Hash", r.key_hash);
  if (auto* p = o.if_contains("Created"); p && p->is_int64()) r.created = p->get_int64();
  return r;
}

}  // namespace octomig::storage
