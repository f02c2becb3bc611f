// octomig's command table, its parser and usage text, and where secrets are read from.
#include "tools/octomig_args.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>

#include "base/ascii.hpp"
#include "base/url.hpp"
#include "tools/command_words.hpp"

namespace octomig::cli {
namespace {

constexpr const char* program = "octomig";

// Options several commands share.
const option_spec json_option{"--json", value_kind::flag, nullptr,
                              "print one JSON object on stdout at the end, and nothing else there"};
const option_spec ca_file_option{"--ca-file", value_kind::text, "F",
                                 "a PEM CA bundle trusted besides the system's (certificates are "
                                 "always verified)"};
const option_spec timeout_option{"--timeout", value_kind::seconds, "SECONDS",
                                 "how long to wait for each task (default 3600)"};
const option_spec password_option{"--password-file", value_kind::text, "F",
                                  "the package password, from the file F (else $OCTOMIG_PASSWORD)"};

std::vector<option_spec> export_flags() {
  return {
      {"--encrypt", value_kind::flag, nullptr,
       "encrypt the whole package with the password (sensitive values are always sealed)"},
      {"--include-task-logs", value_kind::flag, nullptr, "include the exported tasks' logs"},
      {"--ignore-certificates", value_kind::flag, nullptr, "leave certificates out"},
      {"--ignore-machines", value_kind::flag, nullptr, "leave deployment targets and workers out"},
      {"--ignore-deployments", value_kind::flag, nullptr,
       "leave deployments and their tasks out (releases stay)"},
      {"--ignore-tenants", value_kind::flag, nullptr, "leave tenants out"},
  };
}

const option_spec package_id_option{"--package-id", value_kind::text, "ID",
                                    "the package's id (default Octopus.Space.Migration)"};
const option_spec package_version_option{
    "--package-version", value_kind::text, "V",
    "the package's version (default 1.0.0- and 8 random lower-case letters)"};

std::vector<option_spec> joined(std::initializer_list<std::vector<option_spec>> parts) {
  std::vector<option_spec> all;
  for (const auto& p : parts) all.insert(all.end(), p.begin(), p.end());
  return all;
}

std::vector<command_spec> make_table() {
  std::vector<command_spec> t;
  t.push_back(
      {command_id::migrate, "migrate", nullptr,
       joined({{{"--source", value_kind::url, "URL", "the source server's base URL", true},
                {"--dest", value_kind::url, "URL", "the destination server's base URL", true},
                {"--project", value_kind::list, "NAME...",
                 "the projects to migrate, by name (repeat --project or list several)", true}},
               export_flags(),
               {{"--overwrite", value_kind::flag, nullptr,
                 "replace destination documents of the same name (default: skip them)"},
                {"--dry-run-only", value_kind::flag, nullptr,
                 "stop after the dry run's plan; nothing is imported"},
                {"--yes", value_kind::flag, nullptr,
                 "import without asking (needed without a "
                 "terminal)"},
                package_id_option,
                package_version_option,
                {"--source-api-key-file", value_kind::text, "F",
                 "the source's API key, from the file F (else $OCTOMIG_SOURCE_API_KEY)"},
                {"--dest-api-key-file", value_kind::text, "F",
                 "the destination's API key, from the file F (else $OCTOMIG_DEST_API_KEY)"},
                password_option,
                json_option,
                ca_file_option,
                timeout_option}}),
       "export projects from the source into the destination's feed, show the import's plan (a "
       "dry run), ask, then import"});
  t.push_back(
      {command_id::export_package, "export", nullptr,
       joined({{{"--source", value_kind::url, "URL", "the source server's base URL", true},
                {"--project", value_kind::list, "NAME...",
                 "the projects to export, by name (repeat --project or list several)", true}},
               export_flags(),
               {{"--dest", value_kind::url, "URL",
                 "push the package to this server's feed (default: the source's own feed)"},
                package_id_option,
                package_version_option,
                {"--api-key-file", value_kind::text, "F",
                 "the source's API key, from the file F (else $OCTOMIG_SOURCE_API_KEY)"},
                {"--dest-api-key-file", value_kind::text, "F",
                 "with --dest: the destination's API key, from the file F (else "
                 "$OCTOMIG_DEST_API_KEY)"},
                password_option,
                json_option,
                ca_file_option,
                timeout_option}}),
       "export projects into a package and wait for it; prints the task id, package id and "
       "version"});
  t.push_back(
      {command_id::import_package,
       "import",
       nullptr,
       {{"--dest", value_kind::url, "URL", "the server to import into (its feed holds the package)",
         true},
        {"--package-id", value_kind::text, "ID", "the package's id", true},
        {"--package-version", value_kind::text, "V", "the package's version", true},
        {"--encrypted", value_kind::flag, nullptr, "the package was exported with --encrypt"},
        {"--dry-run", value_kind::flag, nullptr, "only plan: write nothing"},
        {"--overwrite", value_kind::flag, nullptr,
         "replace documents of the same name (default: skip them)"},
        {"--delete-package", value_kind::flag, nullptr,
         "delete the package from the feed after a successful import"},
        {"--api-key-file", value_kind::text, "F",
         "the server's API key, from the file F (else $OCTOMIG_DEST_API_KEY)"},
        password_option,
        json_option,
        ca_file_option,
        timeout_option},
       "import a package from the server's own feed and wait; prints what was (or would be) "
       "created, overwritten and skipped"});
  const option_spec server{"--server", value_kind::url, "URL", "the server's base URL", true};
  const option_spec key{"--api-key-file", value_kind::text, "F",
                        "the server's API key, from the file F (else $OCTOMIG_API_KEY, else "
                        "$OCTOMIG_DEST_API_KEY)"};
  t.push_back({command_id::task_wait,
               "task wait",
               "ServerTasks-N",
               {server, key, json_option, ca_file_option, timeout_option},
               "wait for a task to complete and print its final state (exit 1 unless Success)"});
  t.push_back({command_id::task_show,
               "task show",
               "ServerTasks-N",
               {server, key, json_option, ca_file_option},
               "print a task's main fields"});
  t.push_back({command_id::task_log,
               "task log",
               "ServerTasks-N",
               {server, key, json_option, ca_file_option},
               "print a task's log (--json: its lines with category and time)"});
  return t;
}

const char* exit_codes_text =
    "exit codes:\n"
    "  0  success\n"
    "  1  a task failed, was canceled or timed out (its ErrorMessage is shown), or did not\n"
    "     complete within --timeout\n"
    "  2  bad usage: an unknown option, a missing value, a missing API key or password, or no\n"
    "     terminal to ask on without --yes; or a server refused the request (400 or another\n"
    "     4xx besides 401 and 403: its ErrorMessage and Errors are shown)\n"
    "  3  a server is unreachable, TLS failed, or it answered 401/403 (the API key), 5xx or\n"
    "     something that is not JSON\n"
    "  4  the question 'Import into ...?' was answered no\n";

const char* environment_text =
    "environment (API keys and passwords are never taken on the command line):\n"
    "  OCTOMIG_SOURCE_API_KEY  the source's API key (migrate, export)\n"
    "  OCTOMIG_DEST_API_KEY    the destination's API key (migrate, import, export --dest, and\n"
    "                          task after OCTOMIG_API_KEY)\n"
    "  OCTOMIG_API_KEY         the API key of task commands\n"
    "  OCTOMIG_PASSWORD        the package password (migrate, export, import)\n"
    "  A --...-file option wins over its variable; one trailing line end of a file is removed.\n";

const option_spec* find_option(const command_spec& c, const std::string& name) {
  for (const auto& o : c.options)
    if (name == o.name) return &o;
  return nullptr;
}

bool has_control(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto b = static_cast<unsigned char>(c);
    return b < 0x20 || b == 0x7f;
  });
}

// Empty when url is an http(s) base URL fit to append routes to; otherwise what is wrong.
std::string check_url(const std::string& name, const std::string& url) {
  const std::string shown = "'" + base::redact_url(url) + "'";
  std::size_t scheme = 0;
  if (ascii::istarts_with(url, "http://"))
    scheme = 7;
  else if (ascii::istarts_with(url, "https://"))
    scheme = 8;
  else
    return name + " takes an http:// or https:// URL, not " + shown;
  if (has_control(url) || url.find(' ') != std::string::npos)
    return name + " " + shown + " holds spaces or control characters";
  const std::string authority = url.substr(scheme, url.find('/', scheme) - scheme);
  if (authority.empty() || authority[0] == ':') return name + " " + shown + " names no host";
  if (authority.find('@') != std::string::npos)
    return name + " must not carry credentials (" + shown +
           "): give API keys with a --...-file option or the environment";
  if (url.find_first_of("?#") != std::string::npos)
    return name + " takes a server's base URL, without a query or fragment (" + shown + ")";
  return {};
}

std::optional<unsigned long long> parse_number(const std::string& text) {
  unsigned long long v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

// Options a user may try for a secret: each is refused with where the secret goes instead.
bool names_a_secret(const std::string& name) {
  for (const char* s : {"--api-key", "--apikey", "--source-api-key", "--dest-api-key",
                        "--destination-api-key", "--password", "--key"})
    if (name == s) return true;
  return false;
}

std::string secret_hint(const command_spec& c) {
  std::string files;
  for (const auto& o : c.options)
    if (ascii::iends_with(o.name, "-file") && std::strcmp(o.name, "--ca-file") != 0)
      files += (files.empty() ? "" : ", ") + std::string(o.name) + " F";
  return "API keys and passwords are never taken on the command line (it shows in the process "
         "list and the shell's history); use " +
         files + " or the environment (see 'octomig " + c.words + " --help')";
}

// Words wrapped at 100 columns, continuation lines indented by indent spaces.
std::string wrapped(const std::string& text, std::size_t first, std::size_t indent) {
  std::string out;
  std::size_t column = first;
  std::istringstream in(text);
  for (std::string w; in >> w;) {
    if (column > indent && column + 1 + w.size() > 100) {
      out += "\n" + std::string(indent, ' ');
      column = indent;
    } else if (column > first || !out.empty()) {
      out += ' ';
      ++column;
    }
    out += w;
    column += w.size();
  }
  return out;
}

}  // namespace

bool is_task_id(const std::string& s) {
  const std::string prefix = "ServerTasks-";
  return s.size() > prefix.size() && s.compare(0, prefix.size(), prefix) == 0 &&
         s.find_first_not_of("0123456789", prefix.size()) == std::string::npos;
}

const std::vector<command_spec>& command_table() {
  static const std::vector<command_spec> table = make_table();
  return table;
}

std::string invocation::text(const std::string& option) const {
  auto it = values.find(option);
  return it == values.end() || it->second.empty() ? std::string() : it->second.front();
}

std::vector<std::string> invocation::list(const std::string& option) const {
  auto it = values.find(option);
  return it == values.end() ? std::vector<std::string>() : it->second;
}

std::chrono::seconds invocation::seconds(const std::string& option,
                                         std::chrono::seconds fallback) const {
  auto n = parse_number(text(option));
  return n ? std::chrono::seconds(static_cast<std::chrono::seconds::rep>(*n)) : fallback;
}

std::string normalise_base_url(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (ascii::iends_with(url, "/api")) url.resize(url.size() - 4);
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

parse_result parse(const std::vector<std::string>& args) {
  bool help = false;
  std::vector<std::string> rest;
  for (const auto& a : args) {
    if (a == "--help" || a == "-h")
      help = true;
    else if (a == "--version" && rest.empty())
      return version_request{};
    else
      rest.push_back(a);
  }

  // The longest command whose words begin the arguments.
  const auto& table = command_table();
  const auto [command, consumed] = tools::longest_command(table, rest);
  if (help) return help_request{command};
  if (!command) {
    if (rest.empty()) return usage_error{"no command given"};
    if (rest.front() == "task")
      return usage_error{rest.size() == 1 ? "task needs wait, show or log"
                                          : "unknown task command '" + rest[1] + "'"};
    if (rest.front().rfind("--", 0) == 0) {
      auto name = rest.front().substr(0, rest.front().find('='));
      return usage_error{"unknown option " + name + " before the command"};
    }
    return usage_error{"unknown command '" + rest.front() + "'"};
  }

  invocation inv;
  inv.command = command;
  bool have_positional = false;
  for (std::size_t i = consumed; i < rest.size(); ++i) {
    const std::string& a = rest[i];
    if (a.size() > 2 && a.rfind("--", 0) == 0) {
      // Only the option's name is ever shown: what follows '=' may be a secret typed by mistake.
      const auto eq = a.find('=');
      const std::string name = a.substr(0, eq);
      if (names_a_secret(name)) return usage_error{name + ": " + secret_hint(*command), command};
      const option_spec* o = find_option(*command, name);
      if (!o) return usage_error{"unknown option " + name, command};
      if (inv.has(name) && o->kind != value_kind::list)
        return usage_error{name + " is given twice", command};
      auto& values = inv.values[name];
      if (o->kind == value_kind::flag) {
        if (eq != std::string::npos) return usage_error{name + " takes no value", command};
        values.emplace_back();
        continue;
      }
      std::string value;
      if (eq != std::string::npos) {
        value = a.substr(eq + 1);
      } else if (i + 1 < rest.size() && rest[i + 1].rfind("--", 0) != 0) {
        value = rest[++i];
      } else {
        return usage_error{name + " needs a value (" + o->placeholder + ")", command};
      }
      if (value.empty()) return usage_error{name + " needs a non-empty value", command};
      switch (o->kind) {
        case value_kind::url:
          if (auto problem = check_url(name, value); !problem.empty())
            return usage_error{problem, command};
          value = normalise_base_url(value);
          break;
        case value_kind::seconds:
          if (auto n = parse_number(value); !n || *n < 1 || *n > 10'000'000)
            return usage_error{
                name + " takes a whole number of seconds from 1 up, not '" + value + "'", command};
          break;
        case value_kind::list:
          // Further values up to the next option belong to the same list.
          values.push_back(value);
          while (i + 1 < rest.size() && rest[i + 1].rfind("--", 0) != 0) {
            if (rest[i + 1].empty()) return usage_error{name + " takes non-empty names", command};
            values.push_back(rest[++i]);
          }
          continue;
        default:
          break;
      }
      values.push_back(value);
    } else if (command->positional && !have_positional) {
      if (!is_task_id(a))
        return usage_error{std::string(command->positional) +
                               ": a task id such as ServerTasks-12 is expected, not '" + a + "'",
                           command};
      inv.positional = a;
      have_positional = true;
    } else {
      // An API key typed here by mistake is not repeated back.
      const bool looks_secret = ascii::istarts_with(a, "API-");
      return usage_error{
          "unexpected argument " + (looks_secret ? std::string("(not shown)") : "'" + a + "'"),
          command};
    }
  }
  if (command->positional && !have_positional)
    return usage_error{std::string("missing ") + command->positional, command};
  for (const auto& o : command->options)
    if (o.required && !inv.has(o.name))
      return usage_error{std::string("missing ") + o.name + " " + o.placeholder, command};
  return inv;
}

std::string general_usage() {
  std::string s = std::string("usage: ") + program + " <command> [options]\n\n" +
                  "A client of the Octopus Deploy Migration API: it moves projects between two "
                  "servers\n(a partial export into the destination's feed, then an import), "
                  "and follows tasks.\n\ncommands:\n";
  for (const auto& c : command_table()) {
    s += "  " + std::string(c.words) + (c.positional ? std::string(" ") + c.positional : "") + "\n";
    s += "      " + wrapped(c.summary, 6, 6) + "\n";
  }
  s += std::string("\nRun '") + program + " <command> --help' for a command's options.\n\n";
  s += exit_codes_text;
  s += "\n";
  s += environment_text;
  return s;
}

std::string command_usage(const command_spec& c) {
  std::string s = "usage: " + wrapped(std::string(program) + " " + tools::command_line(c), 7, 4) +
                  "\n\n" + wrapped(c.summary, 0, 0) + "\n";
  if (!c.options.empty()) {
    auto label = [](const option_spec& o) {
      return std::string(o.name) + (o.placeholder ? std::string(" ") + o.placeholder : "");
    };
    std::size_t width = 0;
    for (const auto& o : c.options) width = std::max(width, label(o).size());
    s += "\noptions:\n";
    for (const auto& o : c.options) {
      auto l = label(o);
      s += "  " + l + std::string(width - l.size() + 2, ' ') +
           wrapped(o.help, width + 4, width + 4) + "\n";
    }
  }
  s += "\n";
  s += exit_codes_text;
  s += "\n";
  s += environment_text;
  return s;
}

outcome<secret> load_secret(const secret_source& src) {
  std::string value;
  std::string from;
  if (!src.file.empty()) {
    from = std::string(src.file_option) + " '" + src.file + "'";
    std::ifstream in(src.file, std::ios::binary);
    if (!in)
      return fail(exit_code::usage, std::string("cannot read ") + src.what + " from " + from +
                                        ": " + std::strerror(errno));
    value.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (in.bad())
      return fail(exit_code::usage, std::string("cannot read ") + src.what + " from " + from);
    if (!value.empty() && value.back() == '\n') {
      value.pop_back();
      if (!value.empty() && value.back() == '\r') value.pop_back();
    }
  } else {
    for (const char* name : src.env) {
      const char* v = std::getenv(name);
      if (v && *v) {
        value = v;
        from = std::string("$") + name;
        break;
      }
    }
    if (from.empty()) {
      std::string vars;
      for (std::size_t i = 0; i < src.env.size(); ++i)
        vars += (i == 0 ? "" : i + 1 == src.env.size() ? " or " : ", ") + std::string(src.env[i]);
      return fail(exit_code::usage, std::string("missing ") + src.what + ": give " +
                                        src.file_option + " F or set " + vars);
    }
  }
  if (value.empty())
    return fail(exit_code::usage, std::string(src.what) + " in " + from + " is empty");
  if (src.is_api_key && has_control(value))
    return fail(exit_code::usage,
                std::string(src.what) + " in " + from + " holds control characters");
  return secret(std::move(value));
}

}  // namespace octomig::cli
