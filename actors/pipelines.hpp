// The pipelines octomigd runs, registered in one place: task type (TaskResource.Name) -> steps.
// The migration tasks (MigrationPartialExport, MigrationImport) are added here with their steps;
// until then a task of another type fails at once with "No pipeline runs tasks of type ...".
#pragma once

#include "actors/steps.hpp"

namespace octomig::actors {

pipeline_registry builtin_pipelines();

}  // namespace octomig::actors
