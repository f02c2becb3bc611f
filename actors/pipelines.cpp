#include "actors/pipelines.hpp"

namespace octomig::actors {

pipeline_registry builtin_pipelines(std::shared_ptr<const export_services> exports) {
  pipeline_registry registry;
  registry["MigrationPartialExport"] = partial_export_pipeline(std::move(exports));
  return registry;
}

}  // namespace octomig::actors
