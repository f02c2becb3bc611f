// The steps of an import (design §9), each a detached step actor under the supervisor, inside
// maintenance mode:
//
//   Open package     the package from this server's feed: format, producer version, password
//                    (check value first), IsEncryptedPackage against the package, digests; then
//                    every document and task log read and checked
//   Plan import      migration::plan_import over one snapshot of the destination, then the
//                    store's own checks of the change (names, references, validation): per
//                    document create, overwrite or skip and why; fact import_planned. Any problem
//                    fails the task here, with nothing written.
//   Commit import    a dry run stops here, writing nothing. Otherwise the change goes to the
//                    supervisor with the step's end: documents, indexes, counters, the history
//                    tasks and the fact import_committed in ONE WriteBatch.
//   Finish import    the totals; DeletePackageOnCompletion removes the package (fact
//                    package_deleted; a failure to do so is a warning).
//
// and the callbacks the request asked for, scheduled with the task's end.
#pragma once

#include <memory>

#include "actors/export_steps.hpp"
#include "actors/steps.hpp"

namespace octomig::actors {

// The MigrationImport pipeline.
pipeline import_pipeline(std::shared_ptr<const migration_services> services);

}  // namespace octomig::actors
