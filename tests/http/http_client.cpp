// The tests' HTTP client on libcurl.
#include "tests/http/http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <mutex>

namespace octomig::http_test {
namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

std::string trim(std::string s) {
  auto blank = [](unsigned char c) { return std::isspace(c) != 0; };
  while (!s.empty() && blank(s.back())) s.pop_back();
  auto first = std::find_if_not(s.begin(), s.end(), blank);
  return std::string(first, s.end());
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* out) {
  auto& headers = *static_cast<std::map<std::string, std::string>*>(out);
  std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    headers.clear();  // a new response (after 100 Continue, say) starts
  } else if (auto colon = line.find(':'); colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    headers[name] = trim(line.substr(colon + 1));
  }
  return size * n;
}

bool has_header(const std::vector<std::string>& headers, const char* lower_name) {
  return std::any_of(headers.begin(), headers.end(), [&](const std::string& h) {
    std::string name = h.substr(0, h.find_first_of(":;"));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return name == lower_name;
  });
}

}  // namespace

std::string http_reply::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

json::value http_reply::json() const {
  json::error_code ec;
  auto v = json::parse(body, ec);
  INFO("status " << status << ", body: " << body);
  if (ec) FAIL("the response body is not JSON: " << ec.message());
  return v;
}

json::object http_reply::object() const {
  auto v = json();
  INFO("body: " << body);
  if (!v.is_object()) FAIL("the response body is not a JSON object");
  return v.get_object();
}

std::string key_header(const std::string& api_key) {
  return "X-Octopus-ApiKey: " + api_key;
}

http_client::http_client(std::uint16_t port) : port_(port) {
  global_init();
  curl_ = curl_easy_init();
  if (!curl_) FAIL("curl_easy_init failed");
}

http_client::~http_client() {
  curl_easy_cleanup(static_cast<CURL*>(curl_));
}

http_reply http_client::send(const http_call& call) {
  auto* c = static_cast<CURL*>(curl_);
  curl_easy_reset(c);  // keeps the connection cache: consecutive calls reuse the connection
  http_reply reply;
  std::string url = "http://127.0.0.1:" + std::to_string(port_) + call.target;
  char error_text[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_text);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &reply.headers);

  curl_slist* headers = nullptr;
  for (const auto& h : call.headers) headers = curl_slist_append(headers, h.c_str());
  if (!has_header(call.headers, "accept"))
    headers = curl_slist_append(headers, "Accept: application/json");
  headers = curl_slist_append(headers, "Expect:");
  if (call.body && !has_header(call.headers, "content-type"))
    headers = curl_slist_append(headers, "Content-Type: application/json");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);

  if (call.method == "GET") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else {
    if (call.method == "POST")
      curl_easy_setopt(c, CURLOPT_POST, 1L);
    else
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, call.method.c_str());
    if (call.body || call.method == "POST") {
      const std::string& body = call.body ? *call.body : std::string();
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
      curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS, body.c_str());
    }
  }

  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK)
    FAIL(call.method << " " << call.target << " failed: " << curl_easy_strerror(rc) << " ("
                     << error_text << ")");
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
  bodies_.push_back(reply.body);
  return reply;
}

http_reply http_client::get(const std::string& target, const std::string& api_key) {
  http_call call{"GET", target, {}, std::nullopt};
  if (!api_key.empty()) call.headers.push_back(key_header(api_key));
  return send(call);
}

http_reply http_client::post(const std::string& target, const std::string& api_key,
                             std::optional<std::string> body,
                             std::vector<std::string> extra_headers) {
  http_call call{"POST", target, std::move(extra_headers), std::move(body)};
  if (!api_key.empty()) call.headers.push_back(key_header(api_key));
  return send(call);
}

http_reply http_client::put(const std::string& target, const std::string& api_key,
                            std::string body) {
  http_call call{"PUT", target, {}, std::move(body)};
  if (!api_key.empty()) call.headers.push_back(key_header(api_key));
  return send(call);
}

}  // namespace octomig::http_test
