// The command line of octomig: every command is a row of one table (octomig_args.cpp), and one
// parser turns argv into an invocation, a help request or a usage error. Values are checked here
// (URLs, numbers, task ids), so a command only sees well-formed arguments. Secrets are never
// arguments: they come from files or the environment (load_secret).
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "tools/octomig_outcome.hpp"

namespace octomig::cli {

enum class command_id { migrate, export_package, import_package, task_wait, task_show, task_log };

// What an option accepts.
enum class value_kind {
  flag,     // no value
  text,     // a non-empty string
  url,      // an http(s) base URL without credentials, query or fragment; stored normalised
  seconds,  // a whole number of seconds, at least 1
  list,     // one or more non-empty strings; the option may be repeated
};

struct option_spec {
  const char* name;  // "--source"
  value_kind kind;
  const char* placeholder;  // "URL"; nullptr for a flag
  const char* help;
  bool required = false;
};

struct command_spec {
  command_id id;
  const char* words;       // "migrate", "task wait"
  const char* positional;  // "ServerTasks-N", or nullptr when the command takes none
  std::vector<option_spec> options;
  const char* summary;
};

// A command with its checked arguments.
struct invocation {
  const command_spec* command = nullptr;
  std::string positional;
  std::map<std::string, std::vector<std::string>> values;  // option -> values ("" for a flag)

  bool has(const std::string& option) const { return values.count(option) != 0; }
  std::string text(const std::string& option) const;  // the value, or "" when absent
  std::vector<std::string> list(const std::string& option) const;
  // REQUIRES: the option is of kind seconds.
  std::chrono::seconds seconds(const std::string& option, std::chrono::seconds fallback) const;
};

struct help_request {
  const command_spec* command = nullptr;  // nullptr: the general help
};

struct version_request {};

struct usage_error {
  std::string message;
  const command_spec* command = nullptr;  // whose usage to show; nullptr: the general usage
};

using parse_result = std::variant<invocation, help_request, version_request, usage_error>;

const std::vector<command_spec>& command_table();
parse_result parse(const std::vector<std::string>& args);

std::string general_usage();
std::string command_usage(const command_spec& c);

// "ServerTasks-" and digits.
bool is_task_id(const std::string& s);

// "http://host:8080/", "http://host:8080/api" and "http://host:8080" all give
// "http://host:8080": the base every route is appended to. A path prefix is kept.
std::string normalise_base_url(std::string url);

// Where one secret comes from: an option naming a file, else the first environment variable set.
struct secret_source {
  const char* what;  // "the source API key", for messages
  std::string file;  // the option's value; empty when the option is absent
  const char* file_option;
  std::vector<const char*> env;  // in order of preference
  bool is_api_key = true;        // keys go into a header: no control characters
};

// The secret, with one trailing line end of a file removed; a usage failure (exit 2) when it is
// nowhere, empty, unreadable or, for a key, holds control characters. Messages name the file or
// the variable, never the value.
outcome<secret> load_secret(const secret_source& s);

}  // namespace octomig::cli
