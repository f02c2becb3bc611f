// Request counters for GET /metrics (Prometheus text format).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace octomig::http {

// The HTTP server's connections, as /metrics shows them: what holds the server (slow or idle
// clients) and what the limits did about it. Written by the server's I/O threads, read by anyone.
struct connection_stats {
  std::atomic<std::uint64_t> open{0};              // connections now open (HTTP and HTTPS)
  std::atomic<std::uint64_t> accepted{0};          // since start
  std::atomic<std::uint64_t> refused_at_limit{0};  // closed at once: max_connections reached
  std::atomic<std::uint64_t> header_timeouts{0};   // a request's header did not arrive in time
  std::atomic<std::uint64_t> idle_timeouts{0};     // a kept-alive connection stayed idle too long
  std::atomic<std::uint64_t> tls_handshake_failures{0};
  // The octomig_http_connections* lines.
  std::string render() const;
};

class metrics {
 public:
  void count_request(const std::string& route, unsigned status);
  // The octomig_http_requests_total lines.
  std::string render_requests() const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, unsigned>, std::uint64_t> requests_;
};

}  // namespace octomig::http
