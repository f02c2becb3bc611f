// A whole octomig on loopback for the REST tests: a fresh data directory, RocksDB, the engine's
// actors with test pipelines, the api and the Beast server on an ephemeral port.
//
// Pipelines: "Instant" runs one step that logs a line and succeeds at once; "Test" runs one step
// that logs a line and then waits until the test calls release_step (or cancels the task). Both
// hold maintenance mode while they run, as migrations do.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>

#include "events/task_state.hpp"
#include "http/metrics.hpp"
#include "storage/packages.hpp"
#include "tests/http/http_client.hpp"

namespace octomig::storage {
class store;
}
namespace octomig::actors {
class engine;
}
namespace octomig::http {
class api;
class server;
}  // namespace octomig::http

namespace octomig::http_test {

// The data directory: mkdtemp on construction, removed with everything in it on destruction.
struct temp_data_dir {
  temp_data_dir();
  ~temp_data_dir();
  temp_data_dir(const temp_data_dir&) = delete;
  temp_data_dir& operator=(const temp_data_dir&) = delete;
  std::string path;
};

struct step_gate;

// What a test may change about the server it gets.
struct fixture_options {
  std::uint64_t max_upload_bytes = 5ull << 30;  // octomigd's default
  std::size_t max_concurrent_uploads = 8;       // octomigd's default
  storage::publish_faults publish_faults;       // e.g. a pause that makes publishes slow
  // The slow-client limits; the server counts into connections, which /metrics shows.
  std::chrono::seconds header_timeout{60};
  std::chrono::seconds idle_timeout{10};
  std::size_t max_connections = 1024;
};

class server_fixture {
 public:
  server_fixture() : server_fixture(fixture_options{}) {}
  explicit server_fixture(const fixture_options& opts);
  ~server_fixture();
  server_fixture(const server_fixture&) = delete;
  server_fixture& operator=(const server_fixture&) = delete;

  // Queues a task through the gateway (as the migration handlers do) and returns it as queued.
  events::task_state queue_task(const std::string& type,
                                const std::string& description = "a test task",
                                const std::string& space_id = "Spaces-1");

  // Blocks (bounded) until the "Test" step of task_id has received its run message.
  void wait_until_step_runs(const std::string& task_id);
  // Lets the waiting "Test" step of task_id succeed. REQUIRES: wait_until_step_runs(task_id).
  void release_step(const std::string& task_id);

  // Polls GET /api/tasks/{id} (bounded in count and time) until State is one of states; returns
  // the task resource then. A Catch failure with the last state seen otherwise.
  json::object wait_for_state(const std::string& task_id,
                              std::initializer_list<const char*> states);
  // Polls GET /api/maintenanceconfiguration until IsInMaintenanceMode equals on.
  void wait_for_maintenance(bool on);
  // Calls probe until it returns true (bounded in count and time, with a backoff from 1 ms to
  // 20 ms); a Catch failure naming what otherwise.
  void eventually(const std::string& what, const std::function<bool()>& probe);

  std::uint16_t port() const { return port_; }
  // The data directory (feed/ is inside) and the store, for checks of what is on disk.
  const std::string& data_dir() const { return dir_.path; }
  storage::store& store() { return *store_; }
  http_client& client() { return *client_; }
  const http::connection_stats& connections() const { return *connections_; }

  std::string admin_key;
  std::string user_key;
  std::string installation_id;

 private:
  temp_data_dir dir_;
  std::unique_ptr<storage::store> store_;
  std::shared_ptr<step_gate> gate_;
  std::unique_ptr<actors::engine> engine_;
  std::unique_ptr<http::connection_stats> connections_;  // outlives the api and the server
  std::unique_ptr<http::api> api_;
  std::unique_ptr<http::server> server_;
  std::uint16_t port_ = 0;
  std::unique_ptr<http_client> client_;
};

// Test helpers on JSON bodies.
std::string str(const json::object& o, const char* field);  // a Catch failure unless a string
std::int64_t integer(const json::object& o,
                     const char* field);  // a Catch failure unless an integer
// Every error body carries ErrorMessage (a string) and Errors (an array); returns ErrorMessage.
std::string error_message(const http_reply& r);

}  // namespace octomig::http_test
