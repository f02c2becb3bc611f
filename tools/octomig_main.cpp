// octomig: the client of the Octopus Deploy Migration API. It moves projects from one server to
// another (export into the destination's feed, a dry-run import, a question, the import) and
// follows tasks. Exit codes: octomig_outcome.hpp and 'octomig --help'.
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "tools/octomig_args.hpp"
#include "tools/octomig_commands.hpp"

namespace {

using namespace octomig::cli;

int run(const std::vector<std::string>& args) {
  auto parsed = parse(args);
  if (auto* help = std::get_if<help_request>(&parsed)) {
    std::cout << (help->command ? command_usage(*help->command) : general_usage());
    return 0;
  }
  if (std::holds_alternative<version_request>(parsed)) {
    std::cout << "octomig " << OCTOMIG_VERSION << '\n';
    return 0;
  }
  if (auto* bad = std::get_if<usage_error>(&parsed)) {
    std::cerr << "octomig: " << bad->message << "\n"
              << "Run 'octomig " << (bad->command ? std::string(bad->command->words) + " " : "")
              << "--help' for the usage.\n";
    return to_int(exit_code::usage);
  }
  return run_command(std::get<invocation>(parsed));
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::exception& e) {
    std::cerr << "octomig: internal error: " << e.what() << '\n';
  } catch (...) {
    std::cerr << "octomig: internal error\n";
  }
  return to_int(exit_code::unavailable);
}
