// Parsing and usage text for octomig-admin's command table.
#include "tools/admin_cli.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <utility>

#include "events/events.hpp"
#include "storage/store.hpp"
#include "tools/command_words.hpp"

namespace octomig::admin {
namespace {

constexpr const char* program = "octomig-admin";
constexpr const char* data_dir_option = "--data-dir";

std::optional<std::uint64_t> parse_number(const std::string& text) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

// Empty when the value fits the kind; otherwise what is wrong with it.
std::string check_value(value_kind kind, const std::string& what, const std::string& value) {
  switch (kind) {
    case value_kind::flag:
      return {};
    case value_kind::text:
      return value.empty() ? what + " must not be empty" : std::string();
    case value_kind::number:
      return parse_number(value) ? std::string()
                                 : what + " takes a whole number, not '" + value + "'";
    case value_kind::positive: {
      auto n = parse_number(value);
      return n && *n >= 1 ? std::string()
                          : what + " takes a number of at least 1, not '" + value + "'";
    }
    case value_kind::event_type: {
      const auto& names = event_type_names();
      if (std::find(names.begin(), names.end(), value) != names.end()) return {};
      std::string known;
      for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
      return what + ": unknown event type '" + value + "' (known: " + known + ")";
    }
    case value_kind::task_id:
      return storage::task_number(value) != 0
                 ? std::string()
                 : what + " must be a task id such as ServerTasks-1, not '" + value + "'";
  }
  return {};
}

const option_spec* find_option(const command_spec& c, const std::string& name) {
  for (const auto& o : c.options)
    if (name == o.name) return &o;
  return nullptr;
}

std::string synopsis(const command_spec& c) {
  return std::string(program) + " [--data-dir DIR] " + tools::command_line(c);
}

template <std::size_t... I>
std::vector<std::string> names_of(std::index_sequence<I...>) {
  return {events::event_traits<std::variant_alternative_t<I, events::event_body>>::name...};
}

}  // namespace

std::string invocation::text(const std::string& option) const {
  auto it = values.find(option);
  return it == values.end() ? std::string() : it->second;
}

std::uint64_t invocation::number(const std::string& option, std::uint64_t fallback) const {
  auto it = values.find(option);
  if (it == values.end()) return fallback;
  return parse_number(it->second).value_or(fallback);
}

const std::vector<std::string>& event_type_names() {
  static const std::vector<std::string> names =
      names_of(std::make_index_sequence<std::variant_size_v<events::event_body>>());
  return names;
}

parse_result parse(const std::vector<std::string>& args, const std::vector<command_spec>& table,
                   const char* env_data_dir) {
  // --data-dir and --help may stand anywhere; everything else belongs to the command.
  std::optional<std::string> data_dir;
  bool help = false;
  std::vector<std::string> rest;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      help = true;
    } else if (a == data_dir_option) {
      if (i + 1 == args.size()) return usage_error{"--data-dir needs a directory"};
      data_dir = args[++i];
    } else if (a.rfind(std::string(data_dir_option) + "=", 0) == 0) {
      data_dir = a.substr(std::char_traits<char>::length(data_dir_option) + 1);
    } else {
      rest.push_back(a);
    }
  }
  if (data_dir && data_dir->empty()) return usage_error{"--data-dir needs a directory"};

  // The longest command whose words begin the arguments.
  const auto [command, consumed] = tools::longest_command(table, rest);
  if (help) return help_request{command};
  if (!command) {
    if (rest.empty()) return usage_error{"no command given"};
    return usage_error{"unknown command '" + rest.front() + "'"};
  }

  invocation inv;
  inv.command = command;
  if (data_dir)
    inv.dir.root = *data_dir;
  else if (env_data_dir && *env_data_dir)
    inv.dir.root = env_data_dir;
  else
    inv.dir.root = "octomig-data";

  bool have_positional = false;
  for (std::size_t i = consumed; i < rest.size(); ++i) {
    const std::string& a = rest[i];
    if (a.size() > 2 && a.rfind("--", 0) == 0) {
      auto eq = a.find('=');
      std::string name = a.substr(0, eq);
      const option_spec* o = find_option(*command, name);
      if (!o) return usage_error{"unknown option " + name, command};
      if (inv.has(name)) return usage_error{name + " is given twice", command};
      std::string value;
      if (o->kind == value_kind::flag) {
        if (eq != std::string::npos) return usage_error{name + " takes no value", command};
      } else if (eq != std::string::npos) {
        value = a.substr(eq + 1);
      } else {
        if (i + 1 == rest.size())
          return usage_error{name + " needs a value (" + o->placeholder + ")", command};
        value = rest[++i];
      }
      if (auto problem = check_value(o->kind, name, value); !problem.empty())
        return usage_error{problem, command};
      inv.values[name] = value;
    } else if (command->positional && !have_positional) {
      if (auto problem = check_value(command->positional_kind, command->positional, a);
          !problem.empty())
        return usage_error{problem, command};
      inv.positional = a;
      have_positional = true;
    } else {
      return usage_error{"unexpected argument '" + a + "'", command};
    }
  }
  if (command->positional && !have_positional)
    return usage_error{std::string("missing ") + command->positional, command};
  for (const auto& o : command->options)
    if (o.required && !inv.has(o.name))
      return usage_error{std::string("missing ") + o.name, command};
  return inv;
}

std::string general_usage(const std::vector<command_spec>& table) {
  std::string s =
      std::string("usage: ") + program + " [--data-dir DIR] <command> [options]\n\n" +
      "The data directory is --data-dir, else $OCTOMIG_DATA_DIR, else ./octomig-data.\n" +
      "Read commands work while the server runs; write commands need it stopped.\n\n" +
      "commands:\n";
  for (const auto& c : table) {
    s += "  " + tools::command_line(c) + "\n";
    s += std::string("      ") + c.summary + "\n";
  }
  s += std::string("\nRun '") + program + " <command> --help' for a command's options.\n";
  return s;
}

std::string command_usage(const command_spec& c) {
  std::string s = "usage: " + synopsis(c) + "\n" + c.summary + "\n";
  if (!c.options.empty()) {
    std::size_t width = 0;
    auto label = [](const option_spec& o) {
      return std::string(o.name) + (o.placeholder ? std::string(" ") + o.placeholder : "");
    };
    for (const auto& o : c.options) width = std::max(width, label(o).size());
    s += "\noptions:\n";
    for (const auto& o : c.options) {
      auto l = label(o);
      s += "  " + l + std::string(width - l.size() + 2, ' ') + o.help + "\n";
    }
  }
  return s;
}

}  // namespace octomig::admin
