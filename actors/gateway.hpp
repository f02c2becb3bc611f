// The command side as http/ sees it: a CAF-free interface. Each call sends one command into the
// actor system and calls back exactly once, from an actor thread, when the command has been made
// durable (or refused). Callers must not block in the callback.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "events/error.hpp"
#include "events/task_state.hpp"
#include "storage/documents.hpp"
#include "storage/store.hpp"

namespace octomig::actors {

struct queue_request {
  std::string name;  // task type: the pipeline that runs it
  std::string description;
  std::string space_id;
  std::string arguments_json;  // already redacted by the caller
  std::int64_t time_limit_ms = 0;
};

// Microseconds since the epoch from the system clock: the engine's clock for event timestamps.
events::timestamp_us now_us();

class gateway {
 public:
  virtual ~gateway() = default;

  using task_callback = std::function<void(result<events::task_state>)>;
  using maintenance_callback = std::function<void(result<storage::maintenance_state>)>;
  // The document as the API shows it after the change (for a remove: as it was).
  using document_callback = std::function<void(result<boost::json::object>)>;

  virtual void queue_task(queue_request request, task_callback done) = 0;
  virtual void cancel_task(std::string task_id, std::string requested_by, task_callback done) = 0;
  virtual void set_maintenance(bool on, maintenance_callback done) = 0;
  // Creates, replaces or removes one of an instance's resources (storage::documents' rules).
  virtual void write_document(storage::document_command command, document_callback done) = 0;
};

}  // namespace octomig::actors
