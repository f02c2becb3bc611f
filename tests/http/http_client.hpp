// A small synchronous HTTP client on libcurl for the REST tests: a real client on a real socket,
// one easy handle per client so that consecutive requests reuse the kept-alive connection.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace octomig::http_test {

namespace json = boost::json;

struct http_reply {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased; the last occurrence wins

  // The header's value, or empty when absent. REQUIRES: lower_name is lower-case.
  std::string header(const std::string& lower_name) const;
  // The body parsed strictly as JSON; a Catch failure (with the body) when it is not JSON.
  json::value json() const;
  json::object object() const;
};

struct http_call {
  std::string method = "GET";
  std::string target;                // path and query, e.g. "/api/tasks?take=2"
  std::vector<std::string> headers;  // "Name: value"; "Name;" sends an empty header
  std::optional<std::string> body;   // sent as given (also when empty) if present
};

class http_client {
 public:
  explicit http_client(std::uint16_t port);
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  // Sends one request with a 5 s timeout. A transport failure is a Catch failure naming the call.
  http_reply send(const http_call& call);

  // Shorthands. An empty api_key sends no key header at all.
  http_reply get(const std::string& target, const std::string& api_key = "");
  http_reply post(const std::string& target, const std::string& api_key,
                  std::optional<std::string> body = std::nullopt,
                  std::vector<std::string> extra_headers = {});
  http_reply put(const std::string& target, const std::string& api_key, std::string body);

  // Every body received so far, in order (for checks that no secret ever leaves the server).
  const std::vector<std::string>& bodies_seen() const { return bodies_; }

 private:
  std::uint16_t port_;
  void* curl_;  // CURL*; kept out of this header
  std::vector<std::string> bodies_;
};

std::string key_header(const std::string& api_key);

}  // namespace octomig::http_test
