// libcurl requests to an Octopus server and the one mapping from answers to exit codes:
//   no answer, TLS failure, 401, 403, 5xx, a 2xx that is not JSON  -> 3 (5xx and no answer are
//                                                                    transient: a poll retries)
//   400 and every other 4xx                                        -> 2, with ErrorMessage/Errors
#include "tools/octomig_http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>

#include "base/url.hpp"

namespace octomig::cli {
namespace json = boost::json;

namespace {

using namespace std::chrono_literals;

constexpr auto kConnectTimeout = 10s;
constexpr auto kJsonTimeout = 120s;             // a JSON answer, including a whole task log
constexpr auto kStreamTimeout = 3600s;          // a raw log, streamed
constexpr long kStallSeconds = 60;              // a stream that moves no byte this long is dropped
constexpr std::size_t kBodyLimit = 256u << 20;  // a JSON answer larger than this is refused
constexpr std::size_t kErrorBodyLimit = 64u << 10;

void init_curl() {
  static const CURLcode initialised = curl_global_init(CURL_GLOBAL_DEFAULT);
  (void)initialised;  // a failure shows as curl_easy_init returning null
}

bool is_tls_error(CURLcode c) {
  switch (c) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
      return true;
    default:
      return false;
  }
}

std::string printable_start(const std::string& body) {
  std::string s = body.substr(0, 200);
  for (auto& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  if (body.size() > 200) s += "...";
  return s;
}

}  // namespace

struct server::reply {
  long status = 0;
  std::string body;  // a 2xx's JSON, or an error's (first 64 KiB)
};

namespace {

// What a transfer's callbacks share.
struct transfer {
  CURL* easy = nullptr;
  std::string body;
  const std::function<void(std::string_view)>* sink = nullptr;
  bool too_large = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* p) {
  auto& t = *static_cast<transfer*>(p);
  const std::size_t bytes = size * n;
  long status = 0;
  curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
  const bool success = status >= 200 && status < 300;
  if (success && t.sink) {
    (*t.sink)(std::string_view(data, bytes));
    return bytes;
  }
  const std::size_t limit = success ? kBodyLimit : kErrorBodyLimit;
  if (t.body.size() + bytes > limit) {
    if (success) {
      t.too_large = true;
      return 0;  // CURLE_WRITE_ERROR
    }
    t.body.append(data, limit - std::min(limit, t.body.size()));
    return bytes;  // an error's explanation is cut, not refused
  }
  t.body.append(data, bytes);
  return bytes;
}

}  // namespace

server::server(std::string role, std::string base_url, secret api_key, std::string ca_file)
    : role_(std::move(role)),
      base_(std::move(base_url)),
      key_(std::move(api_key)),
      ca_file_(std::move(ca_file)) {
  init_curl();
  easy_ = curl_easy_init();
}

server::~server() {
  if (easy_) curl_easy_cleanup(static_cast<CURL*>(easy_));
}

std::string server::shown_url() const {
  return base::redact_url(base_);
}

outcome<server::reply> server::perform(const char* method, const std::string& path,
                                       const std::string* body,
                                       const std::function<void(std::string_view)>* sink) {
  const std::string what = std::string(method) + " " + path;
  auto* easy = static_cast<CURL*>(easy_);
  if (!easy) return fail(exit_code::unavailable, "libcurl could not start a transfer");
  // A reset keeps the connection cache: polls reuse one connection.
  curl_easy_reset(easy);

  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(nullptr, curl_slist_free_all);
  auto add_header = [&](const std::string& h) {
    headers.reset(curl_slist_append(headers.release(), h.c_str()));
  };
  add_header("Accept: application/json");
  add_header("Expect:");
  if (body) add_header("Content-Type: application/json");
  add_header("X-Octopus-ApiKey: " + key_.reveal());
  if (!headers) return fail(exit_code::unavailable, "libcurl could not build the request");

  transfer t;
  t.easy = easy;
  t.sink = sink;
  char error[CURL_ERROR_SIZE] = {0};
  const std::string url = base_ + path;
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  // Debian's libcurl keeps its CA directory (/etc/ssl/certs) when CAINFO names another bundle,
  // so the file is trusted besides the system's CAs.
  if (!ca_file_.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, ca_file_.c_str());
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::chrono::milliseconds(kConnectTimeout).count()));
  const auto limit = sink ? kStreamTimeout : kJsonTimeout;
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(std::chrono::milliseconds(limit).count()));
  curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, kStallSeconds);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "octomig");
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t);
  if (body) {
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  } else {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  }

  const CURLcode code = curl_easy_perform(easy);
  if (t.too_large)
    return fail(exit_code::unavailable, "the " + role_ + " " + shown_url() + " answered " + what +
                                            " with more than 256 MiB");
  if (code != CURLE_OK) {
    std::string cause = error[0] ? error : curl_easy_strerror(code);
    while (!cause.empty() && (cause.back() == '\n' || cause.back() == '\r')) cause.pop_back();
    if (is_tls_error(code))
      return fail(exit_code::unavailable, "TLS with the " + role_ + " " + shown_url() +
                                              " failed: " + cause +
                                              " (--ca-file F trusts another CA bundle)");
    failure f = fail(exit_code::unavailable,
                     "the " + role_ + " " + shown_url() + " did not answer " + what + ": " + cause);
    f.transient = true;
    return f;
  }
  reply r;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r.status);
  r.body = std::move(t.body);
  if (r.status < 200 || r.status >= 300) return refused(method, path, r);
  return r;
}

failure server::refused(const char* method, const std::string& path, const reply& r) const {
  const std::string what = std::string(method) + " " + path;
  const std::string who = "the " + role_ + " " + shown_url();
  const std::string status = std::to_string(r.status);
  const std::string why = describe_error_body(r.body);
  if (r.status == 401 || r.status == 403)
    return fail(exit_code::unavailable, who + " refused its API key for " + what + " (" + status +
                                            ")" + (why.empty() ? "" : ": " + why));
  if (r.status >= 500) {
    failure f = fail(exit_code::unavailable, who + " failed " + what + " (" + status + ")" +
                                                 (why.empty() ? "" : ": " + why));
    f.transient = true;
    return f;
  }
  if (r.status >= 400)
    return fail(exit_code::usage,
                who + " refused " + what + " (" + status + ")" + (why.empty() ? "" : ": " + why));
  return fail(exit_code::unavailable, who + " answered " + what + " with status " + status);
}

outcome<json::value> server::get_json(const std::string& path) {
  auto r = perform("GET", path, nullptr, nullptr);
  if (!r) return r.err();
  json::error_code ec;
  auto v = json::parse(r->body, ec);
  if (ec)
    return fail(exit_code::unavailable,
                "the " + role_ + " " + shown_url() + " answered GET " + path +
                    " with something that is not JSON: " + printable_start(r->body));
  return v;
}

outcome<json::value> server::post_json(const std::string& path, const json::object& body) {
  const std::string text = json::serialize(body);
  auto r = perform("POST", path, &text, nullptr);
  if (!r) return r.err();
  json::error_code ec;
  auto v = json::parse(r->body, ec);
  if (ec)
    return fail(exit_code::unavailable,
                "the " + role_ + " " + shown_url() + " answered POST " + path +
                    " with something that is not JSON: " + printable_start(r->body));
  return v;
}

status server::get_stream(const std::string& path,
                          const std::function<void(std::string_view)>& sink) {
  auto r = perform("GET", path, nullptr, &sink);
  if (!r) return r.err();
  return done();
}

std::string describe_error_body(const std::string& body) {
  json::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return printable_start(body);
  const auto& o = v.get_object();
  std::string message;
  if (auto* m = o.if_contains("ErrorMessage"); m && m->is_string()) message = m->get_string();
  std::string out = message;
  if (auto* d = o.if_contains("Details"); d && d->is_object())
    if (auto* id = d->get_object().if_contains("RequestId"); id && id->is_string())
      out += " (request id " + std::string(id->get_string()) + ")";
  if (auto* errors = o.if_contains("Errors"); errors && errors->is_array())
    for (const auto& e : errors->get_array())
      if (e.is_string() && e.get_string() != message) out += "\n  - " + std::string(e.get_string());
  return out.empty() ? printable_start(body) : out;
}

}  // namespace octomig::cli
