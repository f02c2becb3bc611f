// The engine: the actor system with the journal, the maintenance guard, the task supervisor, the
// document writer and api_ingress, started in that order, and a gateway for http. Stopping it stops
// taking commands, lets the journal finish the appends it holds, and joins every actor.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>

#include "actors/gateway.hpp"
#include "actors/steps.hpp"
#include "storage/store.hpp"

namespace octomig::actors {

struct engine_config {
  storage::store* store = nullptr;  // REQUIRES: open read_write, outlives the engine
  std::string master_key;           // seals sensitive values of the documents written
  std::filesystem::path work_root;
  std::string server_node = "octomig";
  pipeline_registry pipelines;
  std::size_t threads = 0;                           // scheduler threads; 0: CAF's default
  std::chrono::milliseconds command_timeout{30000};  // an unanswered command fails after this
  std::size_t max_queue = 1000;
};

class engine {
 public:
  // Starts the actors and runs start-up recovery before returning.
  static result<std::unique_ptr<engine>> start(engine_config cfg);
  ~engine();

  gateway& commands();
  caf::actor_system& system();
  void stop();

  struct impl;

 private:
  explicit engine(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace octomig::actors
