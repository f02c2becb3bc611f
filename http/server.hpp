// The HTTP/1.1 server (Boost.Beast, asynchronous): one session per connection, keep-alive,
// limits on header and body sizes, and timeouts on every read and write. It turns Beast messages
// into http::request and hands them to a handler that answers asynchronously.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "events/error.hpp"
#include "http/message.hpp"
#include "http/metrics.hpp"

namespace octomig::http {

// HTTPS (Boost.Beast's SSL stream over OpenSSL): TLS 1.2 and 1.3 only, no compression, the
// server's cipher preference.
struct tls_options {
  std::string address = "127.0.0.1";
  std::uint16_t port = 8443;  // 0: an ephemeral port (see server::tls_port())
  std::string cert_file;      // PEM; may hold the chain after the server's certificate
  std::string key_file;       // PEM private key of that certificate
};

struct server_options {
  // Plain HTTP. Default: on. Off serves HTTPS only (then tls must be set).
  bool plain = true;
  std::string address = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: an ephemeral port (see server::port())
  // HTTPS, besides or instead of plain HTTP. Every route, limit and timeout is the same.
  std::optional<tls_options> tls;
  std::size_t threads = 1;
  // Default: 16 KiB. Larger headers get 431.
  std::size_t header_limit = 16 * 1024;
  // Default: 1 MiB. Larger bodies get 413.
  std::size_t body_limit = 1024 * 1024;
  // Slow and idle clients (nginx's defaults are the reference): a new connection's first request
  // header must arrive within header_timeout (60 s; the TLS handshake too); a kept-alive
  // connection waits idle_timeout (75 s) for its next request; every read of a body and every
  // write must progress within request_timeout (30 s); at most max_connections (1024) are open
  // at once, and one more is closed as soon as it is accepted.
  std::chrono::seconds header_timeout{60};
  std::chrono::seconds idle_timeout{75};
  std::chrono::seconds request_timeout{30};
  std::size_t max_connections = 1024;
  // Where the server counts its connections and what the limits did (may be null).
  connection_stats* stats = nullptr;
  // Default: 5 GiB. Bodies streamed to a sink (body_plan::to_sink) larger than this get 413; it
  // applies to chunked bodies as they arrive.
  std::uint64_t max_upload_bytes = 5ull << 30;
};

// The request stays valid until the handler has called its respond function (once).
using handler = std::function<void(const request&, std::function<void(response)>)>;
// Called on an I/O thread with a request that has no body yet; must not block.
using body_planner = std::function<body_plan(const request&)>;

class server {
 public:
  // Without a planner every body is read into memory (up to body_limit).
  server(server_options opts, handler h, body_planner planner = {});
  ~server();

  // Loads the TLS certificate and key (errc::invalid_argument naming the file and what is wrong
  // with it), binds and starts the I/O threads. Returns the bound port of plain HTTP, or of HTTPS
  // when there is no plain HTTP.
  result<std::uint16_t> start();
  // Reads the certificate and key files again: new connections get the new pair, open ones keep
  // theirs. A pair that does not load is refused with its error, and the old one stays.
  status reload_tls();
  // Stops accepting new connections; connections in progress finish their current exchange.
  void stop_accepting();
  // Stops everything and joins the threads.
  void stop();
  std::uint16_t port() const;      // plain HTTP's bound port; 0 when off
  std::uint16_t tls_port() const;  // HTTPS's bound port; 0 when off

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

// Parses one complete HTTP/1.1 request from raw bytes into the handler's request, exactly as a
// session would (method override, query, API key). For tests and fuzzing; errors are values.
result<request> parse_request(std::string_view raw, std::size_t header_limit = 16 * 1024,
                              std::size_t body_limit = 1024 * 1024);

// Percent-decoding; plus_as_space for query strings. Invalid escapes are kept as they are.
std::string url_decode(const std::string& in, bool plus_as_space);

}  // namespace octomig::http
