// octomig's HTTP: one libcurl handle per server (TLS always verified, a 10 s connect timeout,
// every request bounded) and the mapping from what a server answers to octomig's exit codes, in
// this one place. The API key travels in the X-Octopus-ApiKey header only; no message names it.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "tools/octomig_outcome.hpp"

namespace octomig::cli {

// One Octopus server as this program speaks to it.
class server {
 public:
  // role names the server in messages ("source", "destination", "server"); base_url is a
  // normalised base (normalise_base_url); ca_file, when not empty, is trusted besides the
  // system's CAs.
  server(std::string role, std::string base_url, secret api_key, std::string ca_file);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  const std::string& role() const { return role_; }
  // The base URL as messages show it: without userinfo (there is none: the parser refuses it).
  std::string shown_url() const;

  // GET base + path: the JSON answer of a 2xx. Any other answer is a failure (see octomig_http.cpp
  // for which status gives which exit code).
  outcome<boost::json::value> get_json(const std::string& path);
  // POST base + path with body as JSON: the JSON answer of a 2xx.
  outcome<boost::json::value> post_json(const std::string& path, const boost::json::object& body);
  // GET base + path, handing the body of a 2xx to sink as it arrives (a task's raw log).
  status get_stream(const std::string& path, const std::function<void(std::string_view)>& sink);

 private:
  struct reply;
  outcome<reply> perform(const char* method, const std::string& path, const std::string* body,
                         const std::function<void(std::string_view)>* sink);
  failure refused(const char* method, const std::string& path, const reply& r) const;

  std::string role_;
  std::string base_;
  secret key_;
  std::string ca_file_;
  void* easy_ = nullptr;  // CURL*, kept for connection reuse across polls
};

// The Octopus error body's ErrorMessage and Errors[] as lines ("ErrorMessage\n  - error"), or
// the start of a body that is not one.
std::string describe_error_body(const std::string& body);

}  // namespace octomig::cli
