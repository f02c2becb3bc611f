// The task fold. One overload per event type: adding an event without handling it fails to compile.
#include "events/task_state.hpp"

#include "base/url.hpp"
#include "events/overloaded.hpp"

#include <algorithm>
#include <type_traits>

namespace octomig::events {
namespace {

std::string callback_name(const std::string& kind) {
  return kind == "success" ? "Success" : "Failure";
}

void finish(task_state& s, task_status final_state, timestamp_us at) {
  s.state = final_state;
  s.completed_time = at;
  s.current_step.clear();
}

}  // namespace

task_state apply(task_state s, const envelope& e) {
  const timestamp_us at = e.timestamp;
  if (s.id.empty()) s.id = e.stream;
  std::visit(overloaded{
                 [&](const task_queued& ev) {
                   s.name = ev.name;
                   s.description = ev.description;
                   s.space_id = ev.space_id;
                   s.arguments_json = ev.arguments_json;
                   s.time_limit_ms = ev.time_limit_ms;
                   s.state = task_status::queued;
                   s.queue_time = at;
                 },
                 [&](const task_started& ev) {
                   s.state = task_status::executing;
                   s.start_time = at;
                   s.server_node = ev.server_node;
                 },
                 [&](const step_started& ev) { s.current_step = ev.step; },
                 [&](const step_finished&) { s.current_step.clear(); },
                 [&](const message_logged&) {},
                 [&](const warning_raised&) { s.has_warnings_or_errors = true; },
                 [&](const task_cancel_requested&) {
                   // A queued task is canceled at once by the task_canceled that follows.
                   if (s.state == task_status::executing) s.state = task_status::cancelling;
                 },
                 [&](const task_succeeded&) { finish(s, task_status::success, at); },
                 [&](const task_failed& ev) {
                   finish(s, task_status::failed, at);
                   s.error_message = ev.error_message;
                   s.has_warnings_or_errors = true;
                 },
                 [&](const task_canceled&) {
                   finish(s, task_status::canceled, at);
                   s.error_message = "The task was canceled.";
                 },
                 [&](const task_timed_out& ev) {
                   finish(s, task_status::timed_out, at);
                   s.error_message = "The task exceeded its time limit of " +
                                     std::to_string(ev.time_limit_ms) + " ms.";
                   s.has_warnings_or_errors = true;
                 },
                 [&](const task_interrupted& ev) {
                   finish(s, task_status::failed, at);
                   s.error_message = ev.error_message;
                   s.has_warnings_or_errors = true;
                 },
                 [&](const task_recorded& ev) {
                   s.name = ev.name;
                   s.description = ev.description;
                   s.space_id = ev.space_id;
                   s.arguments_json = ev.arguments_json;
                   s.state = ev.final_state;
                   s.queue_time = ev.queue_time;
                   s.start_time = ev.start_time;
                   s.completed_time = ev.completed_time;
                   s.error_message = ev.error_message;
                   s.has_warnings_or_errors = ev.has_warnings_or_errors;
                 },
                 // Facts are read from the log; the state keeps none.
                 [&](const package_built&) {},
                 [&](const documents_collected&) {},
                 [&](const package_pushed&) {},
                 [&](const package_published_locally&) {},
                 [&](const import_planned&) {},
                 [&](const import_committed&) {},
                 [&](const package_deleted&) {},
                 // The callback outbox: how many are open (which ones: pending_callbacks).
                 [&](const callback_scheduled&) { ++s.callbacks_pending; },
                 [&](const callback_attempted&) {},
                 [&](const callback_delivered&) {
                   if (s.callbacks_pending > 0) --s.callbacks_pending;
                 },
                 [&](const callback_abandoned&) {
                   if (s.callbacks_pending > 0) --s.callbacks_pending;
                 },
                 // System-stream events never reach a task stream.
                 [&](const maintenance_entered&) {},
                 [&](const maintenance_left&) {},
                 [&](const api_key_created&) {},
                 [&](const api_key_revoked&) {},
             },
             e.body);
  s.version = e.stream_version;
  s.last_updated = at;
  s.log_line_count += log_lines_added(e.body);
  return s;
}

bool has_log_line(const event_body& b) {
  return !(
      std::holds_alternative<task_recorded>(b) || std::holds_alternative<maintenance_entered>(b) ||
      std::holds_alternative<maintenance_left>(b) || std::holds_alternative<api_key_created>(b) ||
      std::holds_alternative<api_key_revoked>(b));
}

std::uint32_t log_lines_added(const event_body& b) {
  if (const auto* r = std::get_if<task_recorded>(&b))
    return static_cast<std::uint32_t>(r->log.size());
  return has_log_line(b) ? 1 : 0;
}

std::vector<log_line> log_lines_for(const envelope& e) {
  if (const auto* r = std::get_if<task_recorded>(&e.body)) return r->log;
  std::vector<log_line> out;
  if (auto line = log_line_for(e)) out.push_back(std::move(*line));
  return out;
}

std::optional<log_line> log_line_for(const envelope& e) {
  auto line = [&](const char* category, std::string text) {
    return std::optional<log_line>(log_line{category, e.timestamp, std::move(text)});
  };
  return std::visit(
      overloaded{
          [&](const task_queued& ev) { return line("Info", "Task queued: " + ev.description); },
          [&](const task_started& ev) {
            return line("Info",
                        "Task started on " +
                            (ev.server_node.empty() ? std::string("this node") : ev.server_node));
          },
          [&](const step_started& ev) { return line("Info", "Step started: " + ev.step); },
          [&](const step_finished& ev) {
            return line("Info", "Step finished: " + ev.step +
                                    (ev.summary.empty() ? std::string() : " (" + ev.summary + ")"));
          },
          [&](const message_logged& ev) { return line(ev.category.c_str(), ev.text); },
          [&](const warning_raised& ev) { return line("Warning", ev.message); },
          [&](const task_cancel_requested&) { return line("Info", "Cancellation requested"); },
          [&](const task_succeeded&) { return line("Highlight", "Task completed successfully"); },
          [&](const task_failed& ev) { return line("Error", "Task failed: " + ev.error_message); },
          [&](const task_canceled&) { return line("Info", "Task canceled"); },
          [&](const task_timed_out& ev) {
            return line("Error",
                        "Task timed out after " + std::to_string(ev.time_limit_ms) + " ms");
          },
          [&](const task_interrupted& ev) { return line("Error", ev.error_message); },
          [&](const task_recorded&) { return std::optional<log_line>(); },
          [&](const package_built& ev) {
            return line("Info",
                        "Package " + ev.file_name + " built: " + std::to_string(ev.size_bytes) +
                            " bytes, SHA-256 " + ev.sha256 + (ev.encrypted ? ", encrypted" : ""));
          },
          [&](const callback_scheduled& ev) {
            return line("Info", callback_name(ev.kind) + " callback scheduled to " +
                                    base::redact_url(ev.uri));
          },
          [&](const documents_collected& ev) {
            std::uint64_t total = 0;
            for (const auto& c : ev.counts) total += c.count;
            return line("Info", "Collected " + std::to_string(total) + " documents and " +
                                    std::to_string(ev.task_logs) + " task logs; " +
                                    std::to_string(ev.left_out) +
                                    " references left to the destination");
          },
          [&](const package_pushed& ev) {
            return line("Info", "Package pushed to " + ev.destination + " (" + ev.space_id +
                                    "): " + std::to_string(ev.size_bytes) + " bytes in " +
                                    std::to_string(ev.attempts) + " attempt(s)" +
                                    (ev.already_there ? ", found there already" : ""));
          },
          [&](const package_published_locally& ev) {
            return line("Info", "Package " + ev.package_id + " " + ev.version +
                                    " published in this server's built-in feed (" + ev.space_id +
                                    ")");
          },
          [&](const import_planned& ev) {
            std::uint64_t c = 0, o = 0, k = 0;
            for (const auto& n : ev.counts) {
              c += n.created;
              o += n.overwritten;
              k += n.skipped;
            }
            return line("Info", std::string(ev.dry_run ? "Dry run planned: " : "Planned: ") +
                                    std::to_string(c) + " to create, " + std::to_string(o) +
                                    " to overwrite, " + std::to_string(k) + " to skip, " +
                                    std::to_string(ev.tasks) + " tasks to record");
          },
          [&](const import_committed& ev) {
            return line("Info", "Import committed: " + std::to_string(ev.created) + " created, " +
                                    std::to_string(ev.overwritten) + " overwritten, " +
                                    std::to_string(ev.skipped) + " skipped, " +
                                    std::to_string(ev.tasks) + " tasks recorded");
          },
          [&](const package_deleted& ev) {
            return line("Info", "Package " + ev.package_id + " " + ev.version +
                                    " deleted from this server's built-in feed (" + ev.space_id +
                                    ")");
          },
          [&](const callback_attempted& ev) {
            return line(ev.http_status >= 200 && ev.http_status < 300 ? "Info" : "Warning",
                        callback_name(ev.kind) + " callback attempt " + std::to_string(ev.attempt) +
                            ": " + ev.outcome);
          },
          [&](const callback_delivered& ev) {
            return line("Info", callback_name(ev.kind) + " callback delivered (" +
                                    std::to_string(ev.http_status) + ")");
          },
          [&](const callback_abandoned& ev) {
            return line("Error", callback_name(ev.kind) + " callback abandoned: " + ev.reason);
          },
          [&](const maintenance_entered&) { return std::optional<log_line>(); },
          [&](const maintenance_left&) { return std::optional<log_line>(); },
          [&](const api_key_created&) { return std::optional<log_line>(); },
          [&](const api_key_revoked&) { return std::optional<log_line>(); },
      },
      e.body);
}

std::vector<pending_callback> pending_callbacks(const std::vector<envelope>& stream) {
  std::vector<pending_callback> open;
  auto find = [&](const std::string& kind) {
    return std::find_if(open.begin(), open.end(),
                        [&](const pending_callback& p) { return p.kind == kind; });
  };
  for (const auto& e : stream) {
    if (const auto* s = std::get_if<callback_scheduled>(&e.body)) {
      open.push_back({s->kind, s->uri, 0});
    } else if (const auto* a = std::get_if<callback_attempted>(&e.body)) {
      if (auto it = find(a->kind); it != open.end()) it->attempts = a->attempt;
    } else if (const auto* d = std::get_if<callback_delivered>(&e.body)) {
      if (auto it = find(d->kind); it != open.end()) open.erase(it);
    } else if (const auto* b = std::get_if<callback_abandoned>(&e.body)) {
      if (auto it = find(b->kind); it != open.end()) open.erase(it);
    }
  }
  return open;
}

}  // namespace octomig::events
