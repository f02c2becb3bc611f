// The request and response as handlers see them: plain data, no Beast types, so that only the
// server's translation unit carries Beast's headers.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace octomig::http {

// Takes a request's body as it arrives (body_plan::to_sink), on the connection's I/O thread, in
// pieces with the transfer coding removed. It must not block: it copies each piece on (to the
// threads that parse, hash and write it) and keeps whatever it decides (including errors) for the
// route's handler, which runs once the whole body has arrived.
//
// Back-pressure: before each read of at most read_size bytes the server asks ready(). When the
// sink cannot take that much without waiting (its buffers are all in use), it says no, keeps
// resume and calls it (from any thread, once) when it can; the server reads nothing meanwhile, so
// the client waits on TCP, and no I/O thread ever does.
class body_sink {
 public:
  static constexpr std::size_t read_size = 1 << 20;
  virtual ~body_sink() = default;
  virtual void write(const char* data, std::size_t n) = 0;
  virtual bool ready(std::function<void()> resume) {
    static_cast<void>(resume);
    return true;
  }
};

struct request {
  std::string method;  // upper-case; a POST's X-HTTP-Method-Override already applied
  std::string path;    // percent-decoded, without the query
  std::map<std::string, std::string> query;  // names lower-cased; values decoded
  std::string api_key;  // X-Octopus-ApiKey, X-NuGet-ApiKey or ?apikey=, empty if none
  std::string content_type;
  std::string body;
  // For a route whose body was streamed (body_plan::to_sink): the sink that took it, and body is
  // empty. The server releases it once the handler has responded.
  std::shared_ptr<body_sink> sink;

  // The query value for a name given in lower case, or empty.
  const std::string* param(const std::string& lower_name) const {
    auto it = query.find(lower_name);
    return it == query.end() ? nullptr : &it->second;
  }
};

struct response {
  unsigned status = 200;
  std::string content_type = "application/json; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the server sends this file's bytes as the body (streamed from disk) instead of body.
  std::string body_file;
};

// How the server reads a request's body, decided from its request line and headers alone (the
// request has no body yet), so that uploads are refused before a byte of them is read.
struct body_plan {
  enum kind { in_memory, to_sink, reject } how = in_memory;
  std::shared_ptr<body_sink> sink;  // for to_sink
  response rejection;               // for reject: sent at once, then the connection is closed
};

}  // namespace octomig::http
