// The Octopus REST surface: routing, authentication, maintenance-mode gating and the handlers.
// GET handlers read projections from storage; commands go through the gateway to the actors.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "actors/gateway.hpp"
#include "http/message.hpp"
#include "http/metrics.hpp"
#include "storage/store.hpp"

namespace octomig::http {

struct api_config {
  storage::store* store = nullptr;      // REQUIRES: outlives the api
  actors::gateway* commands = nullptr;  // REQUIRES: outlives every call into the api
  std::string master_key;               // for hashing presented API keys
  std::string installation_id;
  std::string version;  // octomig's own version, e.g. "2026.1.0"
  std::string server_node;
  std::filesystem::path data_dir;  // the data directory (feed/, work/)
  // Default: 8. Package uploads beyond this many at once get 503 with Retry-After.
  std::size_t max_concurrent_uploads = 8;
  // The HTTP server's connection counters, shown by /metrics (may be null).
  const connection_stats* connections = nullptr;
};

using respond_fn = std::function<void(response)>;

class api {
 public:
  explicit api(api_config cfg);
  ~api();

  // Handles one request; respond is called exactly once, possibly from another thread.
  // REQUIRES: req stays valid until then.
  void handle(const request& req, respond_fn respond);
  // For the server, before a body is read: for a route that streams its body, to_sink with the
  // route's sink once the caller passed authentication, maintenance mode and role, or reject with
  // the error; in_memory for every other request.
  body_plan plan_body(const request& head);

  metrics& counters();

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace octomig::http
