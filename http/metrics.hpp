// Request counters for GET /metrics (Prometheus text format).
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace octomig::http {

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
