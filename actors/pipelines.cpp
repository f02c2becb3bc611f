#include "actors/pipelines.hpp"

#include "actors/import_steps.hpp"

namespace octomig::actors {

pipeline_registry builtin_pipelines(std::shared_ptr<const migration_services> exports) {
  pipeline_registry registry;
  registry["MigrationPartialExport"] = partial_export_pipeline(exports);
  registry["MigrationImport"] = import_pipeline(std::move(exports));
  return registry;
}

}  // namespace octomig::actors
