// The pipelines octomigd runs, registered in one place: task type (TaskResource.Name) -> steps.
// A task of another type fails at once with "No pipeline runs tasks of type ...".
#pragma once

#include "actors/export_steps.hpp"
#include "actors/steps.hpp"

namespace octomig::actors {

// MigrationPartialExport (actors/export_steps.hpp) and MigrationImport (actors/import_steps.hpp).
pipeline_registry builtin_pipelines(std::shared_ptr<const migration_services> exports);

}  // namespace octomig::actors
