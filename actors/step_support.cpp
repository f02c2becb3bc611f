#include "actors/step_support.hpp"

#include <cstdio>
#include <thread>

#include "runtime/clock.hpp"

namespace octomig::actors {
namespace {

// "00:00:02": a step's duration as Octopus writes it (Step took "00:00:02"s).
std::string clock_text(events::timestamp_us us) {
  auto s = us / 1000000;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  return buf;
}

}  // namespace

void step_log::line(const char* category, std::string text) const {
  caf::anon_send(ctx_.sink, log_atom::value, ctx_.task_id, std::string(category), std::move(text));
}

void step_log::warn(std::string text) const {
  caf::anon_send(ctx_.sink, warn_atom::value, ctx_.task_id, std::move(text));
}

step_outcome failed(std::string message) {
  step_outcome o;
  o.ok = false;
  o.error_message = std::move(message);
  return o;
}

step_outcome stopped() {
  return failed("The step was stopped.");
}

step_spawner blocking_step(std::string name, test_pause pause, blocking_body body) {
  return [name, pause, body](caf::actor_system& sys) -> step_actor {
    return sys.spawn<caf::detached>([=](step_actor::pointer self) -> step_actor::behavior_type {
      return {[=](run_atom, const step_context& ctx) {
        self->quit();
        step_log log(ctx);
        const auto began = runtime::now_us();
        if (pause.step == name) {
          log.info("Paused for a test");
          // Bounded: a test kills the server meanwhile, or the task's stop ends the pause.
          const auto until = std::chrono::steady_clock::now() + pause.for_at_most;
          while (!ctx.stop.requested() && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        if (ctx.stop.requested()) return stopped();
        auto out = body(ctx, log, self->system());
        log.info("Step took \"" + clock_text(runtime::now_us() - began) + "\"s");
        return out;
      }};
    });
  };
}

std::string count_line(const std::string& what, const std::string& value) {
  std::string out = "     " + what;
  while (out.size() < 50) out += '.';
  return out + value;
}

std::string mib(std::uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

std::vector<events::task_command> request_callbacks(const task_end& end) {
  boost::json::error_code ec;
  auto v = boost::json::parse(end.arguments_json, ec);
  std::vector<events::task_command> out;
  if (ec || !v.is_object()) return out;
  const bool ok = end.final_state == events::task_status::success;
  auto uri = string_field(v.get_object(), ok ? "SuccessCallbackUri" : "FailureCallbackUri");
  if (!uri.empty()) out.push_back(events::cmd::schedule_callback{ok ? "success" : "failure", uri});
  return out;
}

std::string string_field(const boost::json::object& o, const char* field) {
  auto* v = o.if_contains(field);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

bool flag_field(const boost::json::object& o, const char* field) {
  auto* v = o.if_contains(field);
  return v && v->is_bool() && v->get_bool();
}

}  // namespace octomig::actors
