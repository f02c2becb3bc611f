#include "events/decide.hpp"

#include "events/overloaded.hpp"

namespace octomig::events {
namespace {

using events_or_error = result<std::vector<event_body>>;

error refuse(const task_state& s, const char* what) {
  std::string id = s.id.empty() ? std::string("the task") : s.id;
  return make_error(errc::illegal_transition,
                    std::string("Cannot ") + what + ": " + id + " is " + to_string(s.state) + ".");
}

bool running(const task_state& s) {
  return s.state == task_status::executing || s.state == task_status::cancelling;
}

events_or_error one(event_body e) {
  return std::vector<event_body>{std::move(e)};
}

}  // namespace

events_or_error decide(const task_state& s, const task_command& c) {
  return std::visit(
      overloaded{
          [&](const cmd::queue& q) -> events_or_error {
            if (s.state != task_status::none) return refuse(s, "queue a task twice");
            if (q.name.empty()) return make_error(errc::invalid_argument, "A task needs a name.");
            return one(
                task_queued{q.name, q.description, q.space_id, q.arguments_json, q.time_limit_ms});
          },
          [&](const cmd::start& st) -> events_or_error {
            if (s.state != task_status::queued) return refuse(s, "start the task");
            return one(task_started{st.server_node});
          },
          [&](const cmd::start_step& st) -> events_or_error {
            if (!running(s)) return refuse(s, "start a step");
            return one(step_started{st.step});
          },
          [&](const cmd::finish_step& st) -> events_or_error {
            if (!running(s)) return refuse(s, "finish a step");
            return one(step_finished{st.step, st.summary});
          },
          [&](const cmd::log& l) -> events_or_error {
            if (!running(s)) return refuse(s, "write to the task log");
            return one(message_logged{l.category, l.text});
          },
          [&](const cmd::warn& w) -> events_or_error {
            if (!running(s)) return refuse(s, "raise a warning");
            return one(warning_raised{w.message});
          },
          [&](const cmd::request_cancel& r) -> events_or_error {
            switch (s.state) {
              case task_status::queued:
                return std::vector<event_body>{task_cancel_requested{r.requested_by},
                                               task_canceled{}};
              case task_status::executing:
                return one(task_cancel_requested{r.requested_by});
              case task_status::cancelling:
                return std::vector<event_body>{};
              default:
                return refuse(s, "cancel the task");
            }
          },
          [&](const cmd::succeed&) -> events_or_error {
            // A step that finishes after a cancel request does not turn the task into a success.
            if (s.state != task_status::executing) return refuse(s, "mark the task successful");
            return one(task_succeeded{});
          },
          [&](const cmd::fail& f) -> events_or_error {
            if (!running(s)) return refuse(s, "fail the task");
            return one(task_failed{f.error_message});
          },
          [&](const cmd::confirm_canceled&) -> events_or_error {
            if (s.state != task_status::cancelling) return refuse(s, "confirm cancellation");
            return one(task_canceled{});
          },
          [&](const cmd::time_out&) -> events_or_error {
            if (!running(s)) return refuse(s, "time the task out");
            return one(task_timed_out{s.time_limit_ms});
          },
          [&](const cmd::interrupt& i) -> events_or_error {
            if (!running(s)) return refuse(s, "interrupt the task");
            return one(task_interrupted{i.error_message});
          },
          [&](const cmd::record& r) -> events_or_error {
            if (s.state != task_status::none)
              return refuse(s, "record a task over an existing one");
            if (!is_completed(r.fact.final_state))
              return make_error(errc::invalid_argument, "A recorded task must be completed.");
            return one(r.fact);
          },
          [&](const cmd::record_fact& f) -> events_or_error {
            if (!is_step_fact(f.fact))
              return make_error(errc::invalid_argument,
                                std::string("A ") + type_name(f.fact) + " is not a step's fact.");
            if (!running(s)) return refuse(s, "record a step's fact");
            return one(f.fact);
          },
          [&](const cmd::schedule_callback& cb) -> events_or_error {
            if (cb.kind != "success" && cb.kind != "failure")
              return make_error(errc::invalid_argument,
                                "A callback is a success or a failure callback.");
            if (cb.uri.empty())
              return make_error(errc::invalid_argument, "A callback needs a URI.");
            if (!is_completed(s.state)) return refuse(s, "schedule a callback");
            if ((cb.kind == "success") != (s.state == task_status::success))
              return refuse(s, ("schedule a " + cb.kind + " callback").c_str());
            return one(callback_scheduled{cb.kind, cb.uri});
          },
          [&](const cmd::record_callback_attempt& a) -> events_or_error {
            if (s.callbacks_pending == 0) return refuse(s, "record a callback attempt");
            return one(callback_attempted{a.kind, a.attempt, a.http_status, a.outcome});
          },
          [&](const cmd::deliver_callback& d) -> events_or_error {
            if (s.callbacks_pending == 0) return refuse(s, "record a callback as delivered");
            return one(callback_delivered{d.kind, d.http_status});
          },
          [&](const cmd::abandon_callback& a) -> events_or_error {
            if (s.callbacks_pending == 0) return refuse(s, "abandon a callback");
            return one(callback_abandoned{a.kind, a.reason});
          },
      },
      c);
}

decided_batch decide_all(task_state s, const std::vector<task_command>& commands, timestamp_us at) {
  decided_batch out;
  for (const auto& c : commands) {
    auto decided = decide(s, c);
    if (decided)
      for (const auto& e : *decided) {
        s = apply(std::move(s), envelope{0, s.id, s.version + 1, at, e});
        out.events.push_back(e);
      }
    out.outcomes.push_back(std::move(decided));
  }
  out.state = std::move(s);
  return out;
}

}  // namespace octomig::events
