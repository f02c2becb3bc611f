// The command line of octomig-admin: commands are rows of one table (admin_main.cpp), and one
// parser turns argv into an invocation, a help request or a usage error. Values are checked here,
// so a command only ever sees well-formed arguments.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "events/error.hpp"
#include "storage/data_dir.hpp"

namespace octomig::admin {

// What an option or a positional argument accepts.
enum class value_kind {
  flag,        // no value
  text,        // any non-empty string
  number,      // an unsigned decimal integer
  positive,    // an unsigned decimal integer >= 1
  event_type,  // an event type name of the catalogue, e.g. "task_queued"
  task_id,     // "ServerTasks-N"
};

struct option_spec {
  const char* name;  // "--stream"
  value_kind kind;
  const char* placeholder;  // "S"; nullptr for a flag
  const char* help;
  bool required = false;
};

struct invocation;

struct command_spec {
  const char* words;           // "events", "projections verify"
  const char* positional;      // "ServerTasks-N", "NAME"; nullptr when the command takes none
  value_kind positional_kind;  // ignored when positional is nullptr
  std::vector<option_spec> options;
  const char* summary;
  status (*run)(const invocation&);
};

// A command with its checked arguments.
struct invocation {
  const command_spec* command = nullptr;
  storage::data_dir dir;
  std::string positional;
  std::map<std::string, std::string> values;  // option name -> value ("" for a flag)

  bool has(const std::string& option) const { return values.count(option) != 0; }
  std::string text(const std::string& option) const;  // "" when absent
  // REQUIRES: the option is of kind number or positive.
  std::uint64_t number(const std::string& option, std::uint64_t fallback) const;
};

struct help_request {
  const command_spec* command = nullptr;  // nullptr: the general help
};

struct usage_error {
  std::string message;
  const command_spec* command = nullptr;  // whose usage to show; nullptr: the general usage
};

using parse_result = std::variant<invocation, help_request, usage_error>;

// env_data_dir is $OCTOMIG_DATA_DIR (nullptr when unset). The data directory is --data-dir, else
// env_data_dir, else ./octomig-data.
parse_result parse(const std::vector<std::string>& args, const std::vector<command_spec>& table,
                   const char* env_data_dir);

std::string general_usage(const std::vector<command_spec>& table);
std::string command_usage(const command_spec& c);

// Every event type name of the catalogue, in tag order.
const std::vector<std::string>& event_type_names();

}  // namespace octomig::admin
