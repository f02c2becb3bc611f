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

std::string connection_stats::render() const {
  auto line = [](const char* name, const char* type, const char* help, std::uint64_t v) {
    return std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
           name + " " + std::to_string(v) + "\n";
  };
  return line("octomig_http_connections_open", "gauge", "HTTP and HTTPS connections now open.",
              open.load()) +
         line("octomig_http_connections_accepted_total", "counter",
              "Connections accepted since start.", accepted.load()) +
         line("octomig_http_connections_refused_total", "counter",
              "Connections closed at once because max-connections were open.",
              refused_at_limit.load()) +
         line("octomig_http_header_timeouts_total", "counter",
              "Connections closed because a request's header did not arrive within the header "
              "timeout.",
              header_timeouts.load()) +
         line("octomig_http_idle_timeouts_total", "counter",
              "Kept-alive connections closed after the idle timeout.", idle_timeouts.load()) +
         line("octomig_http_tls_handshake_failures_total", "counter",
              "HTTPS connections whose TLS handshake failed.", tls_handshake_failures.load());
}

}  // namespace octomig::http
