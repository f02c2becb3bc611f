// octomig-admin: the admin tool on a data directory. It inspects and follows the event log, replays
// a task's history, verifies and rebuilds projections, manages API keys and seeds sample
// instances, with the engine's own decoder, views and fold. Exit codes: 0 done, 1 failed, 2 usage
// error.
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "tools/admin_cli.hpp"
#include "tools/admin_commands.hpp"

namespace {

using namespace octomig::admin;

constexpr int exit_failed = 1;
constexpr int exit_usage = 2;

const std::vector<command_spec>& command_table() {
  // One command per row reads better than clang-format's one field per line.
  // clang-format off
  static const std::vector<command_spec> table = {
      {"events", nullptr, value_kind::flag,
       {{"--stream", value_kind::text, "S", "only events of stream S (ServerTasks-N or system)"},
        {"--type", value_kind::event_type, "T", "only events of type T, e.g. task_queued"},
        {"--from", value_kind::number, "POS", "start at global position POS (default 1)"},
        {"--limit", value_kind::positive, "N", "print at most N events"},
        {"--json", value_kind::flag, nullptr, "one JSON object per line"},
        {"--follow", value_kind::flag, nullptr, "keep printing new events until SIGINT or SIGTERM"}},
       "print the event log: position, time, stream, type, summary", run_events},
      {"task", "ServerTasks-N", value_kind::task_id,
       {{"--history", value_kind::flag, nullptr, "replay the stream, showing the state after each event"},
        {"--json", value_kind::flag, nullptr, "JSON (JSON lines with --history)"}},
       "print a task's projected state", run_task},
      {"projections verify", nullptr, value_kind::flag, {},
       "compare the stored read models with a replay of the log, and the reference index with "
       "the documents (exit 1 on a difference)",
       run_projections_verify},
      {"projections rebuild", nullptr, value_kind::flag, {},
       "replace the read models with a replay of the log and the reference index with one built "
       "from the documents (server stopped)",
       run_projections_rebuild},
      {"apikeys create", nullptr, value_kind::flag,
       {{"--name", value_kind::text, "NAME", "the key's name", true},
        {"--admin", value_kind::flag, nullptr, "give the key the admin role (default: user)"}},
       "create an API key and print it once (server stopped)", run_apikeys_create},
      {"apikeys list", nullptr, value_kind::flag, {}, "list API keys: name, role, created",
       run_apikeys_list},
      {"apikeys revoke", "NAME", value_kind::text, {}, "revoke the API key NAME (server stopped)",
       run_apikeys_revoke},
      {"seed", nullptr, value_kind::flag,
       {{"--projects", value_kind::positive, "N", "number of projects", true},
        {"--releases", value_kind::number, "K", "releases per project (default 2)"},
        {"--deployments", value_kind::number, "D", "deployments per release (default 2)"},
        {"--log-lines", value_kind::number, "L", "log lines per deployment task (default 20)"},
        {"--seed", value_kind::number, "S", "the generator's seed: the same S gives the same instance (default 1)"}},
       "fill a new or empty store with a sample instance using every collection (server stopped)",
       run_seed},
      {"package inspect", "FILE", value_kind::text,
       {{"--password-file", value_kind::text, "F", "the export password, on the file's first line: check it, decrypt and list the documents"}},
       "show a migration package: manifest, entries, digests verified; with the password, its check value, decryption and documents",
       run_package_inspect},
  };
  // clang-format on
  return table;
}

int run(const std::vector<std::string>& args) {
  const auto& table = command_table();
  auto parsed = parse(args, table, std::getenv("OCTOMIG_DATA_DIR"));
  if (auto* help = std::get_if<help_request>(&parsed)) {
    std::cout << (help->command ? command_usage(*help->command) : general_usage(table));
    return 0;
  }
  if (auto* bad = std::get_if<usage_error>(&parsed)) {
    std::cerr << "octomig-admin: " << bad->message << "\n\n"
              << (bad->command ? command_usage(*bad->command) : general_usage(table));
    return exit_usage;
  }
  const auto& inv = std::get<invocation>(parsed);
  auto done = inv.command->run(inv);
  if (!done) {
    std::cerr << "octomig-admin: " << done.err().message << '\n';
    return exit_failed;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::exception& e) {
    std::cerr << "octomig-admin: internal error: " << e.what() << '\n';
  } catch (...) {
    std::cerr << "octomig-admin: internal error\n";
  }
  return exit_failed;
}
