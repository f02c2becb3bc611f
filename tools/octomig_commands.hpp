// octomig's commands: migrate, export, import and task wait/show/log, over the Migration API and
// the task routes of Octopus servers.
#pragma once

#include "tools/octomig_args.hpp"

namespace octomig::cli {

// Runs a parsed command and gives its exit code (exit_code). Results go to stdout (with --json:
// one JSON object, also when the command fails); progress, questions and errors go to stderr.
int run_command(const invocation& inv);

}  // namespace octomig::cli
