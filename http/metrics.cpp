#include "http/metrics.hpp"

namespace octomig::http {

void metrics::count_request(const std::string& route, unsigned status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{route, status}];
}

std::string metrics::render_requests() const {
  std::string out =
      "# HELP octomig_http_requests_total HTTP requests by route and status.\n"
      "# TYPE octomig_http_requests_total counter\n";
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [key, n] : requests_)
    out += "octomig_http_requests_total{route=\"" + key.first + "\",status=\"" +
           std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
  return out;
}

}  // namespace octomig::http
