#include "events/events.hpp"

#include "base/ascii.hpp"

namespace octomig::events {

const char* type_name(const event_body& body) {
  return std::visit([](const auto& ev) { return event_traits<std::decay_t<decltype(ev)>>::name; },
                    body);
}

std::uint16_t type_tag(const event_body& body) {
  return std::visit([](const auto& ev) { return event_traits<std::decay_t<decltype(ev)>>::tag; },
                    body);
}

bool is_step_fact(const event_body& b) {
  return std::holds_alternative<package_built>(b) ||
         std::holds_alternative<documents_collected>(b) ||
         std::holds_alternative<package_pushed>(b) ||
         std::holds_alternative<package_published_locally>(b) ||
         std::holds_alternative<import_planned>(b) || std::holds_alternative<import_committed>(b) ||
         std::holds_alternative<package_deleted>(b);
}

bool is_task_stream(const std::string& stream) {
  return stream.rfind(task_stream_prefix, 0) == 0;
}

const char* to_string(task_status s) {
  switch (s) {
    case task_status::none:
      return "None";
    case task_status::queued:
      return "Queued";
    case task_status::executing:
      return "Executing";
    case task_status::failed:
      return "Failed";
    case task_status::canceled:
      return "Canceled";
    case task_status::timed_out:
      return "TimedOut";
    case task_status::success:
      return "Success";
    case task_status::cancelling:
      return "Cancelling";
  }
  return "None";
}

bool parse_task_status(const std::string& text, task_status& out) {
  static constexpr task_status all[] = {
      task_status::queued,    task_status::executing, task_status::failed,    task_status::canceled,
      task_status::timed_out, task_status::success,   task_status::cancelling};
  for (auto s : all) {
    if (ascii::iequals(to_string(s), text)) {
      out = s;
      return true;
    }
  }
  return false;
}

bool is_completed(task_status s) {
  return s == task_status::failed || s == task_status::canceled || s == task_status::timed_out ||
         s == task_status::success;
}

}  // namespace octomig::events
