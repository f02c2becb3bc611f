// The package push to a destination's built-in feed: a multipart POST streamed from the file,
// retried with backoff for transient failures, and the 409 check that tells "our earlier attempt
// stored it" from "someone else's package is there".
#include <curl/curl.h>

#include <algorithm>
#include <boost/json.hpp>
#include <memory>
#include <string>
#include <system_error>
#include <thread>

#include "base/ascii.hpp"
#include "outbound/outbound.hpp"

namespace octomig::outbound {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

constexpr int kMaxAttempts = 20;
constexpr milliseconds kMaxBackoff = 8s;
constexpr milliseconds kWaitSlice = 50ms;
constexpr std::size_t kDetailLimit = 300;  // characters of the destination's own message

// One attempt's outcome. status is 0 when no HTTP answer arrived (code says why).
struct attempt {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string reason;  // curl's words when code != CURLE_OK
  std::string body;
  bool stopped = false;
  std::uint64_t sent = 0, total = 0;
};

const char* status_text(long status) {
  static constexpr std::pair<long, const char*> kTexts[] = {{301, "Moved Permanently"},
                                                            {302, "Found"},
                                                            {303, "See Other"},
                                                            {307, "Temporary Redirect"},
                                                            {308, "Permanent Redirect"},
                                                            {400, "Bad Request"},
                                                            {401, "Unauthorized"},
                                                            {403, "Forbidden"},
                                                            {404, "Not Found"},
                                                            {405, "Method Not Allowed"},
                                                            {408, "Request Timeout"},
                                                            {409, "Conflict"},
                                                            {411, "Length Required"},
                                                            {413, "Payload Too Large"},
                                                            {415, "Unsupported Media Type"},
                                                            {429, "Too Many Requests"},
                                                            {500, "Internal Server Error"},
                                                            {502, "Bad Gateway"},
                                                            {503, "Service Unavailable"},
                                                            {504, "Gateway Timeout"}};
  for (const auto& [code, text] : kTexts)
    if (code == status) return text;
  return "";
}

std::string status_words(long status) {
  std::string s = std::to_string(status);
  if (*status_text(status)) s += std::string(" ") + status_text(status);
  return s;
}

// Failures that a later attempt may not meet: the network, the peer going away, timeouts.
bool transient(CURLcode c) {
  switch (c) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:  // also a connection reset during the handshake
      return true;
    default:
      return false;
  }
}

// Certificate and TLS set-up problems: retrying changes nothing; the user must fix trust.
bool tls_problem(CURLcode c) {
  switch (c) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
      return true;
    default:
      return false;
  }
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto b = static_cast<unsigned char>(c);
    return b < 0x20 || b == 0x7f;
  });
}

// Text from outside (the destination's body, curl's buffer) made fit for a message: the key
// removed should anything echo it, control characters flattened, at most limit bytes, cut on
// a UTF-8 character boundary.
std::string clean(std::string text, const std::string& secret, std::size_t limit) {
  if (!secret.empty()) {
    for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at))
      text.replace(at, secret.size(), "***");
  }
  for (auto& c : text) {
    auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7f) c = ' ';
  }
  if (text.size() > limit) {
    std::size_t cut = limit;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text.resize(cut);
    text += "...";
  }
  return text;
}

// " The destination said: ..." from an Octopus error body ({"ErrorMessage": ..., "Errors": [...]}),
// or nothing when the body has no message.
std::string destination_said(const std::string& body, const std::string& secret) {
  boost::json::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return {};
  const auto& o = v.get_object();
  std::string said;
  if (auto* m = o.if_contains("ErrorMessage"); m && m->is_string()) said = m->get_string().c_str();
  if (auto* errors = o.if_contains("Errors"); errors && errors->is_array()) {
    for (const auto& e : errors->get_array()) {
      if (!e.is_string()) continue;
      if (!said.empty()) said += ' ';
      said += e.get_string().c_str();
    }
  }
  if (said.empty()) return {};
  return " The destination said: " + clean(std::move(said), secret, kDetailLimit);
}

bool stop_requested(const std::atomic<bool>* stop) {
  return stop && stop->load(std::memory_order_acquire);
}

// Waits d in slices of at most 50 ms; false as soon as the stop flag is seen.
bool wait_unless_stopped(milliseconds d, const std::atomic<bool>* stop) {
  auto deadline = std::chrono::steady_clock::now() + d;
  for (;;) {
    if (stop_requested(stop)) return false;
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return true;
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(deadline - now, kWaitSlice));
  }
}

error stopped() {
  return make_error(errc::unavailable, "stopped");
}

attempt upload_once(const push_request& r, const std::string& url, const std::string& file_name) {
  attempt out;
  // Declared before the handle, so freed after it: libcurl uses both until curl_easy_cleanup.
  std::unique_ptr<curl_mime, decltype(&curl_mime_free)> mime(nullptr, curl_mime_free);
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(nullptr, curl_slist_free_all);
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> easy(curl_easy_init(), curl_easy_cleanup);
  if (!easy) {
    out.code = CURLE_FAILED_INIT;
    out.reason = "libcurl could not start a transfer";
    return out;
  }
  mime.reset(curl_mime_init(easy.get()));
  curl_mimepart* part = mime ? curl_mime_addpart(mime.get()) : nullptr;
  if (part) {
    headers.reset(curl_slist_append(nullptr, ("X-Octopus-ApiKey: " + r.api_key).c_str()));
    if (headers) headers.reset(curl_slist_append(headers.release(), "Accept: application/json"));
  }
  // curl_mime_filedata opens the file only when sending and reads it in small chunks: the
  // package never sits in memory. The filename is set after it, which would otherwise win.
  if (!part || !headers || curl_mime_name(part, "fileToUpload") != CURLE_OK ||
      curl_mime_filedata(part, r.file.c_str()) != CURLE_OK ||
      curl_mime_filename(part, file_name.c_str()) != CURLE_OK ||
      curl_mime_type(part, "application/zip") != CURLE_OK) {
    out.code = CURLE_OUT_OF_MEMORY;
    out.reason = "libcurl could not build the request";
    return out;
  }

  detail::transfer_state state;
  state.stop = r.stop;
  state.progress = &r.progress;
  detail::configure(easy.get(), r.tls, r.connect_timeout, state);
  curl_easy_setopt(easy.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy.get(), CURLOPT_MIMEPOST, mime.get());
  curl_easy_setopt(easy.get(), CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(easy.get(), CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(easy.get(), CURLOPT_LOW_SPEED_TIME,
                   static_cast<long>(std::max(r.low_speed_time, 1s).count()));

  out.code = curl_easy_perform(easy.get());
  out.stopped = state.stopped;
  curl_easy_getinfo(easy.get(), CURLINFO_RESPONSE_CODE, &out.status);
  if (out.code != CURLE_OK) {
    out.reason = clean(detail::describe(out.code, state), r.api_key, 2 * kDetailLimit);
    out.status = 0;  // a status read before a failure is no answer to act on
  }
  curl_off_t sent = 0, total = 0;
  curl_easy_getinfo(easy.get(), CURLINFO_SIZE_UPLOAD_T, &sent);
  curl_easy_getinfo(easy.get(), CURLINFO_CONTENT_LENGTH_UPLOAD_T, &total);
  out.sent = static_cast<std::uint64_t>(std::max<curl_off_t>(sent, 0));
  out.total = total > 0 ? static_cast<std::uint64_t>(total) : state.total;
  out.body = std::move(state.body);
  return out;
}

std::string package_words(const push_request& r) {
  return "A package " + r.package_id + " " + r.version;
}

// A 409 after an earlier attempt failed: that attempt may have stored the package before its
// answer was lost. The destination's Hash says whether the package there is this one.
result<push_result> check_existing(const push_request& r, int attempts) {
  std::string url = feed_package_url(r.base_url, r.space_id, r.package_id, r.version);
  auto got = http_get(get_request{url, r.tls, 30s, r.stop, r.api_key});
  std::string prefix = package_words(r) +
                       " already exists on the destination (409 Conflict on attempt " +
                       std::to_string(attempts) + ")";
  if (!got) {
    if (stop_requested(r.stop)) return stopped();
    return make_error(errc::conflict,
                      prefix + ", and checking whether an earlier attempt stored it failed: " +
                          clean(got.err().message, r.api_key, 2 * kDetailLimit));
  }
  if (got->http_status != 200)
    return make_error(errc::conflict,
                      prefix + ", and checking whether an earlier attempt stored it failed: " +
                          redact_url(url) + " answered " + status_words(got->http_status) + ".");
  boost::json::error_code ec;
  auto v = boost::json::parse(got->body, ec);
  const boost::json::value* hash =
      !ec && v.is_object() ? v.get_object().if_contains("Hash") : nullptr;
  if (hash && hash->is_string() && !r.sha1_hex.empty() &&
      ascii::iequals(hash->get_string().c_str(), r.sha1_hex))
    return push_result{409, attempts, true};
  return make_error(errc::conflict,
                    prefix +
                        " and its SHA-1 differs from this package's: choose another "
                        "PackageVersion or delete it there.");
}

// The answer to a status that ends the push at once (not 2xx, not retried).
error refusal(const push_request& r, const std::string& shown, const attempt& a) {
  std::string said = destination_said(a.body, r.api_key);
  switch (a.status) {
    case 401:
      return make_error(errc::forbidden,
                        "The destination refused the API key (401 Unauthorized): check "
                        "DestinationApiKey." +
                            said);
    case 403:
      return make_error(errc::forbidden,
                        "The destination's API key may not push packages (403 Forbidden)." + said);
    case 409:
      return make_error(errc::conflict,
                        package_words(r) +
                            " already exists on the destination (409 Conflict): choose another "
                            "PackageVersion or delete it there." +
                            said);
    case 413:
      return make_error(errc::too_large,
                        "The package is larger than the destination accepts (413)." + said);
    default:
      break;
  }
  if (a.status >= 300 && a.status < 400)
    return make_error(errc::invalid_argument,
                      "The destination " + shown + " answered " + status_words(a.status) +
                          " to the package upload; redirects are not followed: check "
                          "DestinationPackageFeed." +
                          said);
  return make_error(errc::invalid_argument, "The destination " + shown +
                                                " refused the package upload with " +
                                                status_words(a.status) + "." + said);
}

result<push_result> push_loop(const push_request& r, attempt& last) {
  if (!is_http_url(r.base_url))
    return make_error(errc::invalid_argument, "DestinationPackageFeed '" + redact_url(r.base_url) +
                                                  "' is not an absolute http or https URL.");
  if (has_control(r.api_key))
    return make_error(errc::invalid_argument, "DestinationApiKey holds control characters.");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(r.file, ec))
    return make_error(errc::io_error, "The package file " + r.file.string() + " cannot be read: " +
                                          (ec ? ec.message() : "it is not a regular file") + ".");
  const std::string file_name = r.file_name.empty() ? r.file.filename().string() : r.file_name;
  const std::string url = feed_upload_url(r.base_url, r.space_id);
  const std::string shown = redact_url(url);
  const int max_attempts = std::clamp(r.max_attempts, 1, kMaxAttempts);
  milliseconds backoff = std::clamp(r.first_backoff, milliseconds(0), kMaxBackoff);
  init_curl();

  for (int n = 1;; ++n) {
    if (stop_requested(r.stop)) return stopped();
    last = upload_once(r, url, file_name);
    if (last.stopped) return stopped();

    if (last.code != CURLE_OK) {
      if (tls_problem(last.code))
        return make_error(errc::unavailable,
                          "The TLS connection to " + shown + " failed: " + last.reason + ".");
      if (last.code == CURLE_READ_ERROR)
        return make_error(errc::io_error, "Reading the package file " + r.file.string() +
                                              " during the upload failed: " + last.reason + ".");
      if (!transient(last.code))
        return make_error(errc::unavailable,
                          "The package upload to " + shown + " failed: " + last.reason + ".");
    } else if (last.status >= 200 && last.status < 300) {
      return push_result{static_cast<int>(last.status), n, false};
    } else if (last.status == 409 && n > 1) {
      return check_existing(r, n);
    } else if (last.status < 500 && last.status != 408 && last.status != 429) {
      return refusal(r, shown, last);
    }

    const bool answered = last.code == CURLE_OK;
    if (n >= max_attempts) {
      std::string tries = std::to_string(n) + (n == 1 ? " attempt" : " attempts");
      if (answered)
        return make_error(errc::unavailable, "The destination " + shown + " answered " +
                                                 std::to_string(last.status) + " after " + tries +
                                                 "." + destination_said(last.body, r.api_key));
      return make_error(
          errc::unavailable,
          "The destination " + shown + " could not be reached after " + tries + ": " + last.reason);
    }
    if (r.on_retry) r.on_retry(n, answered ? "answered " + status_words(last.status) : last.reason);
    if (!wait_unless_stopped(backoff, r.stop)) return stopped();
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

}  // namespace

result<push_result> push_package(const push_request& r) {
  attempt last;
  last.code = CURLE_FAILED_INIT;  // "no attempt made" until push_loop sends one
  auto outcome = push_loop(r, last);
  if (r.progress && last.code != CURLE_FAILED_INIT) r.progress(last.sent, last.total);
  return outcome;
}

}  // namespace octomig::outbound
