// The command side as http/ sees it: a CAF-free interface. Each call sends one command into the
// actor system and calls back exactly once, from an actor thread, when the command has been made
// durable (or refused), or with errc::unavailable when the engine did not answer in time. Callers
// must not block in the callback.
#pragma once

#include <sodium.h>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "events/error.hpp"
#include "events/task_state.hpp"
#include "storage/documents.hpp"
#include "storage/packages.hpp"
#include "storage/store.hpp"

namespace octomig::actors {

// What a task needs and may never write down: the migration password and the destination's API
// key. They live in memory only, from the request to the end of the task; a task that a restart
// re-queues finds none and fails, saying why. Zeroed when the last holder lets go.
struct task_secrets {
  std::string password;
  std::string destination_api_key;
  task_secrets() = default;
  task_secrets(std::string p, std::string k)
      : password(std::move(p)), destination_api_key(std::move(k)) {}
  task_secrets(const task_secrets&) = delete;
  task_secrets& operator=(const task_secrets&) = delete;
  ~task_secrets() {
    sodium_memzero(password.data(), password.size());
    sodium_memzero(destination_api_key.data(), destination_api_key.size());
  }
};

struct queue_request {
  std::string name;  // task type: the pipeline that runs it
  std::string description;
  std::string space_id;
  std::string arguments_json;  // already redacted by the caller
  std::int64_t time_limit_ms = 0;
  // May be null. A process-local handle: it never travels further than this process, and no
  // message printer ever shows it.
  std::shared_ptr<const task_secrets> secrets;
};

class gateway {
 public:
  virtual ~gateway() = default;

  using task_callback = std::function<void(result<events::task_state>)>;
  using maintenance_callback = std::function<void(result<storage::maintenance_state>)>;
  // The document as the API shows it after the change (for a remove: as it was).
  using document_callback = std::function<void(result<boost::json::object>)>;
  using publish_callback = std::function<void(result<storage::publish_outcome>)>;
  // The package as it was before it was deleted.
  using unpublish_callback = std::function<void(result<storage::package_record>)>;

  virtual void queue_task(queue_request request, task_callback done) = 0;
  virtual void cancel_task(std::string task_id, std::string requested_by, task_callback done) = 0;
  virtual void set_maintenance(bool on, maintenance_callback done) = 0;
  // Creates, replaces or removes one of an instance's resources (storage::documents' rules).
  virtual void write_document(storage::document_command command, document_callback done) = 0;
  // Puts a complete upload into the built-in feed (storage::publish_package's rules).
  virtual void publish_package(storage::publish_command command, publish_callback done) = 0;
  // Removes a package from the built-in feed.
  virtual void unpublish_package(storage::package_record package, unpublish_callback done) = 0;
};

}  // namespace octomig::actors
