#include "events/json.hpp"

#include "events/overloaded.hpp"

#include <boost/json.hpp>

#include "events/time_format.hpp"

namespace octomig::events {
namespace {

namespace json = boost::json;

json::value date_or_null(timestamp_us t) {
  if (t == 0) return nullptr;
  return json::value(octopus_date(t));
}

json::object data_of(const event_body& b) {
  return std::visit(
      overloaded{
          [](const task_queued& e) {
            json::object o{{"Name", e.name},
                           {"Description", e.description},
                           {"SpaceId", e.space_id},
                           {"TimeLimitMs", e.time_limit_ms}};
            json::error_code ec;
            auto args = json::parse(e.arguments_json, ec);
            o["Arguments"] = ec ? json::value(e.arguments_json) : args;
            return o;
          },
          [](const task_started& e) {
            return json::object{{"ServerNode", e.server_node}};
          },
          [](const step_started& e) {
            return json::object{{"Step", e.step}};
          },
          [](const step_finished& e) {
            return json::object{{"Step", e.step}, {"Summary", e.summary}};
          },
          [](const message_logged& e) {
            return json::object{{"Category", e.category}, {"Text", e.text}};
          },
          [](const warning_raised& e) {
            return json::object{{"Message", e.message}};
          },
          [](const task_cancel_requested& e) {
            return json::object{{"RequestedBy", e.requested_by}};
          },
          [](const task_succeeded&) { return json::object{}; },
          [](const task_failed& e) {
            return json::object{{"ErrorMessage", e.error_message}};
          },
          [](const task_canceled&) { return json::object{}; },
          [](const task_timed_out& e) {
            return json::object{{"TimeLimitMs", e.time_limit_ms}};
          },
          [](const task_interrupted& e) {
            return json::object{{"ErrorMessage", e.error_message}};
          },
          [](const task_recorded& e) {
            return json::object{{"Name", e.name},
                                {"Description", e.description},
                                {"SpaceId", e.space_id},
                                {"State", to_string(e.final_state)},
                                {"QueueTime", date_or_null(e.queue_time)},
                                {"StartTime", date_or_null(e.start_time)},
                                {"CompletedTime", date_or_null(e.completed_time)},
                                {"ErrorMessage", e.error_message},
                                {"HasWarningsOrErrors", e.has_warnings_or_errors},
                                // A count: the lines themselves are the task's log (task_logs).
                                {"LogLines", e.log.size()}};
          },
          [](const package_built& e) {
            return json::object{{"FileName", e.file_name},
                                {"SizeBytes", e.size_bytes},
                                {"Sha256", e.sha256},
                                {"Encrypted", e.encrypted}};
          },
          [](const callback_scheduled& e) {
            return json::object{{"Kind", e.kind}, {"Uri", e.uri}};
          },
          [](const documents_collected& e) {
            json::object counts;
            for (const auto& c : e.counts) counts[c.collection] = c.count;
            return json::object{
                {"Counts", std::move(counts)}, {"TaskLogs", e.task_logs}, {"LeftOut", e.left_out}};
          },
          [](const package_pushed& e) {
            return json::object{{"Destination", e.destination},
                                {"SpaceId", e.space_id},
                                {"SizeBytes", e.size_bytes},
                                {"Attempts", e.attempts},
                                {"AlreadyThere", e.already_there}};
          },
          [](const package_published_locally& e) {
            return json::object{{"SpaceId", e.space_id},
                                {"PackageId", e.package_id},
                                {"Version", e.version},
                                {"SizeBytes", e.size_bytes}};
          },
          [](const import_planned& e) {
            json::object counts;
            for (const auto& c : e.counts)
              counts[c.collection] = json::object{
                  {"Created", c.created}, {"Overwritten", c.overwritten}, {"Skipped", c.skipped}};
            return json::object{{"Counts", std::move(counts)},
                                {"Tasks", e.tasks},
                                {"LeftOutResolved", e.left_out_resolved},
                                {"DryRun", e.dry_run}};
          },
          [](const import_committed& e) {
            return json::object{{"Created", e.created},
                                {"Overwritten", e.overwritten},
                                {"Skipped", e.skipped},
                                {"Tasks", e.tasks}};
          },
          [](const package_deleted& e) {
            return json::object{
                {"SpaceId", e.space_id}, {"PackageId", e.package_id}, {"Version", e.version}};
          },
          [](const callback_attempted& e) {
            return json::object{{"Kind", e.kind},
                                {"Attempt", e.attempt},
                                {"HttpStatus", e.http_status},
                                {"Outcome", e.outcome}};
          },
          [](const callback_delivered& e) {
            return json::object{{"Kind", e.kind}, {"HttpStatus", e.http_status}};
          },
          [](const callback_abandoned& e) {
            return json::object{{"Kind", e.kind}, {"Reason", e.reason}};
          },
          [](const maintenance_entered& e) {
            return json::object{{"TaskId", e.task_id}};
          },
          [](const maintenance_left& e) {
            return json::object{{"TaskId", e.task_id}};
          },
          // The key hash is left out: it is no use to a reader and need not travel further.
          [](const api_key_created& e) {
            return json::object{{"Name", e.name}, {"Role", e.role}};
          },
          [](const api_key_revoked& e) {
            return json::object{{"Name", e.name}};
          },
      },
      b);
}

std::string completed_text(const task_state& s) {
  switch (s.state) {
    case task_status::queued:
      return "Queued...";
    case task_status::executing:
      return "Executing...";
    case task_status::cancelling:
      return "Cancelling...";
    case task_status::timed_out:
      return "Timed out";
    default:
      return s.completed_time ? human_date(s.completed_time) : std::string();
  }
}

}  // namespace

json::object to_json(const envelope& e) {
  return json::object{{"Position", e.position},      {"Stream", e.stream},
                      {"Version", e.stream_version}, {"Time", octopus_date(e.timestamp)},
                      {"Type", type_name(e.body)},   {"Data", data_of(e.body)}};
}

std::string summary(const event_body& b) {
  std::string out;
  for (const auto& kv : data_of(b)) {
    if (!out.empty()) out += ' ';
    out += std::string(kv.key()) + '=';
    if (kv.value().is_string())
      out += std::string(kv.value().get_string());
    else
      out += json::serialize(kv.value());
  }
  return out;
}

json::object to_json(const task_state& s, timestamp_us now) {
  const bool completed = is_completed(s.state);
  timestamp_us end = completed ? s.completed_time : now;
  json::object o;
  o["Id"] = s.id;
  o["SpaceId"] = s.space_id.empty() ? json::value(nullptr) : json::value(s.space_id);
  o["Name"] = s.name;
  o["Description"] = s.description;
  json::error_code ec;
  auto args = json::parse(s.arguments_json.empty() ? "{}" : s.arguments_json, ec);
  o["Arguments"] = ec || !args.is_object() ? json::value(json::object{}) : args;
  o["State"] = to_string(s.state);
  o["Completed"] = completed_text(s);
  o["QueueTime"] = octopus_date(s.queue_time);
  o["QueueTimeExpiry"] = nullptr;
  o["StartTime"] = date_or_null(s.start_time);
  o["LastUpdatedTime"] = date_or_null(s.last_updated);
  o["CompletedTime"] = date_or_null(s.completed_time);
  o["ServerNode"] = s.server_node.empty() ? json::value(nullptr) : json::value(s.server_node);
  o["Duration"] = s.start_time ? human_duration(s.start_time, end) : std::string();
  o["ErrorMessage"] = s.error_message;
  o["HasBeenPickedUpByProcessor"] = s.start_time != 0;
  o["IsCompleted"] = completed;
  o["FinishedSuccessfully"] = s.state == task_status::success;
  o["HasPendingInterruptions"] = false;
  o["HasPendingPreconditions"] = false;
  o["PendingInterruptionTypes"] = json::array{};
  o["PendingPreconditionTypes"] = json::array{};
  o["CanRerun"] = false;
  o["HasWarningsOrErrors"] = s.has_warnings_or_errors;
  o["ProjectId"] = nullptr;
  o["EstimatedRemainingQueueDurationSeconds"] = 0;
  return o;
}

}  // namespace octomig::events
