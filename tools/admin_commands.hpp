// octomig-admin's commands. Each runs one invocation and reports failure as an error value; output
// goes to stdout, and only main writes errors to stderr.
#pragma once

#include "events/error.hpp"
#include "tools/admin_cli.hpp"

namespace octomig::admin {

// events [--stream S] [--type T] [--from POS] [--limit N] [--json] [--follow]
status run_events(const invocation& inv);

// task ServerTasks-N [--history] [--json]
status run_task(const invocation& inv);

// projections verify | projections rebuild
status run_projections_verify(const invocation& inv);
status run_projections_rebuild(const invocation& inv);

// apikeys create --name NAME [--admin] | apikeys list | apikeys revoke NAME
status run_apikeys_create(const invocation& inv);
status run_apikeys_list(const invocation& inv);
status run_apikeys_revoke(const invocation& inv);

// seed --projects N [--releases K] [--deployments D] [--log-lines L] [--seed S]
status run_seed(const invocation& inv);

// package inspect FILE [--password-file F]
status run_package_inspect(const invocation& inv);

}  // namespace octomig::admin
