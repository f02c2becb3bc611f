// The engine: the actor system with the journal, the maintenance guard, the task supervisor, the
// document writer, the feed publisher and api_ingress, started in that order, and a gateway for
// http. Stopping it stops taking commands, lets the journal finish the appends it holds, and joins
// every actor.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>

#include "actors/callback_notifier.hpp"
#include "actors/gateway.hpp"
#include "actors/steps.hpp"
#include "storage/documents.hpp"
#include "storage/packages.hpp"
#include "storage/store.hpp"

namespace octomig::actors {

struct engine_config {
  storage::store* store = nullptr;  // REQUIRES: open read_write, outlives the engine
  std::string master_key;           // seals sensitive values of the documents written
  // The one object that writes documents, shared with the pipelines that write them too (an
  // import): its lock keeps names unique across both. Default (null): the engine makes its own.
  std::shared_ptr<storage::documents> documents;
  std::filesystem::path work_root;  // work/ of the data directory
  std::filesystem::path feed_root;  // feed/ of the data directory
  std::string server_node = "octomig";
  pipeline_registry pipelines;  // octomigd's come from actors/pipelines.hpp
  std::size_t threads = 0;      // scheduler threads; 0: CAF's default
  // Default: 30 s. An unanswered command fails with errc::unavailable after this.
  std::chrono::milliseconds command_timeout{30000};
  // Default: 30 s. An append the journal has not answered after this has failed.
  std::chrono::milliseconds journal_timeout{30000};
  // Default: 10 s. A step told to stop (cancel, time limit) is killed if it has not answered.
  std::chrono::milliseconds stop_grace{10000};
  std::size_t max_queue = 1000;
  // Called (from an actor thread, at most once) when the engine's own records could not be kept:
  // the caller must stop the server. Default: nothing (tests watch the log).
  std::function<void(const std::string& reason)> on_fatal;
  // Tests only: called before each journal batch is written (a test stalls the journal in it).
  std::function<void()> journal_before_write;
  // Callbacks: retries, timeouts and the extra CA bundle (callback_notifier.hpp).
  notifier_options callbacks;
  // Tests only: faults and pauses for the feed's publishes.
  storage::publish_faults publish_faults;
};

class engine {
 public:
  // Starts the actors and runs start-up recovery before returning; an error when recovery failed.
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
