#include "actors/pipelines.hpp"

namespace octomig::actors {

pipeline_registry builtin_pipelines() {
  pipeline_registry registry;
  return registry;
}

}  // namespace octomig::actors
