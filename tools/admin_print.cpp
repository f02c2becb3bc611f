// Layout of events, task states and JSON for octomig-admin's output.
#include "tools/admin_print.hpp"

#include <boost/json.hpp>
#include <cctype>
#include <cstdio>

#include "events/json.hpp"
#include "events/time_format.hpp"

namespace octomig::admin {
namespace {

namespace json = boost::json;

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

std::string trim_right(std::string s) {
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

// A JSON value as a reader wants it in a text column: strings bare, null and "" as "-".
std::string cell(const json::value& v) {
  if (v.is_null() || (v.is_string() && v.get_string().empty())) return "-";
  if (v.is_string()) return printable(std::string(v.get_string()));
  return json::serialize(v);
}

void pretty(std::string& out, const json::value& v, int depth) {
  auto indent = [&](int d) { out.append(static_cast<std::size_t>(d) * 2, ' '); };
  if (v.is_object() && !v.get_object().empty()) {
    out += "{\n";
    bool first = true;
    for (const auto& kv : v.get_object()) {
      if (!first) out += ",\n";
      first = false;
      indent(depth + 1);
      out += json::serialize(json::value(kv.key())) + ": ";
      pretty(out, kv.value(), depth + 1);
    }
    out += "\n";
    indent(depth);
    out += "}";
  } else if (v.is_array() && !v.get_array().empty()) {
    out += "[\n";
    bool first = true;
    for (const auto& e : v.get_array()) {
      if (!first) out += ",\n";
      first = false;
      indent(depth + 1);
      pretty(out, e, depth + 1);
    }
    out += "\n";
    indent(depth);
    out += "]";
  } else {
    out += json::serialize(v);
  }
}

bool is_hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

}  // namespace

std::string printable(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

std::string without_hashes(const std::string& text) {
  constexpr std::size_t hash_digits = 64;
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t j = i;
    while (j < text.size() && is_hex_digit(text[j])) ++j;
    if (j - i == hash_digits) {
      out.append(text, i, 8);
      out += "...";
    } else {
      out.append(text, i, j - i);
    }
    if (j < text.size()) out += text[j];
    i = j + 1;
  }
  return out;
}

std::string event_line(const events::envelope& e) {
  char position[24];
  std::snprintf(position, sizeof position, "%8llu", static_cast<unsigned long long>(e.position));
  return trim_right(std::string(position) + "  " + events::octopus_date(e.timestamp) + "  " +
                    pad(printable(e.stream), 16) + "  " + pad(events::type_name(e.body), 22) +
                    "  " + printable(events::summary(e.body)));
}

std::string state_line(const events::task_state& s) {
  return "state=" + std::string(events::to_string(s.state)) +
         " version=" + std::to_string(s.version) +
         " step=" + (s.current_step.empty() ? "-" : printable(s.current_step)) +
         " warnings=" + (s.has_warnings_or_errors ? "true" : "false") +
         " error=" + (s.error_message.empty() ? "-" : printable(s.error_message));
}

std::string task_text(const events::task_state& s, events::timestamp_us now) {
  json::object view = events::to_json(s, now);
  // What the Octopus view leaves out but an administrator wants to see.
  view["Version"] = s.version;
  view["CurrentStep"] = s.current_step.empty() ? json::value(nullptr) : json::value(s.current_step);
  view["LogLines"] = s.log_line_count;
  std::size_t width = 0;
  for (const auto& kv : view) width = std::max(width, kv.key().size());
  std::string out;
  for (const auto& kv : view)
    out += pad(std::string(kv.key()), width) + "  " + cell(kv.value()) + "\n";
  return out;
}

std::string pretty_json(const boost::json::value& v) {
  std::string out;
  pretty(out, v, 0);
  return out;
}

}  // namespace octomig::admin
