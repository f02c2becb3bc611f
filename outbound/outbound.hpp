// Outgoing HTTP on libcurl: the package push to a destination's built-in feed (with bounded
// retries) and the single GETs of callback webhooks, plus the URL helpers both need.
//
// Secrets: the destination API key travels only in the X-Octopus-ApiKey header. It never reaches
// an error message, and URLs in messages pass through redact_url. This module writes no log lines:
// callers hear of retries through on_retry and of failures through the returned error.
//
// Threads: every call blocks its calling thread (run it in a detached actor) and calls the
// request's callbacks on that thread. libcurl's global initialisation happens once, on first use,
// in a function-local static; main may call init_curl() before it starts threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/url.hpp"
#include "events/error.hpp"

namespace octomig::outbound {

// ---- URLs (pure; url.cpp) -----------------------------------------------------------------------

// True for an absolute http:// or https:// URL with a host (what the export route accepts for
// DestinationPackageFeed and callback URIs): scheme case-insensitive, optional userinfo, a host
// name, IPv4 address or bracketed IPv6 address, an optional port 1-65535, then any path, query and
// fragment. Spaces, control characters and non-ASCII bytes are refused anywhere.
bool is_http_url(std::string_view s);

// The URL without userinfo, query and fragment: what logs, events and error messages may show
// (base/url.hpp; the task log's lines use the same function).
using base::redact_url;

// uri with name=value pairs appended, percent-encoded as UTF-8 bytes (everything but RFC 3986
// unreserved characters, so a space is %20 and '+' is %2B), joined with '?' or '&' as the URI
// needs; a fragment stays at the end. No pairs: uri unchanged.
std::string append_query(std::string_view uri,
                         const std::vector<std::pair<std::string, std::string>>& params);

// The package upload URL: base + "/api/<space>/packages/raw?overwriteMode=FailIfExists". base may
// end in "/", in "/api" or "/api/", or carry a path prefix ("https://h/octopus"). An empty space_id
// gives the default space's route "/api/packages/raw". REQUIRES: base has no query or fragment.
std::string feed_upload_url(std::string_view base, std::string_view space_id);

// The package's resource on the destination; GET answers PackageFromBuiltInFeedResource JSON whose
// "Hash" is the SHA-1 hex: base + "/api/<space>/packages/packages-<id>.<version>".
std::string feed_package_url(std::string_view base, std::string_view space_id,
                             std::string_view package_id, std::string_view version);

// ---- transfers ----------------------------------------------------------------------------------

// libcurl's process-wide initialisation; idempotent and safe to call from any thread (a
// function-local static). push_package and http_get call it themselves.
void init_curl();

struct tls_options {
  // A PEM CA bundle to trust (CURLOPT_CAINFO), e.g. for a destination with a private CA; libcurl
  // still consults the system CA directory. Peer and host name verification are always on.
  // Default: empty (the system's CAs only).
  std::string ca_file;
};

struct push_request {
  // The destination's base URL (DestinationPackageFeed), see feed_upload_url.
  std::string base_url;
  // The destination space, e.g. "Spaces-1". Default: empty (the default space's route).
  std::string space_id;
  // Sent as X-Octopus-ApiKey. NEVER logged or put in an error; must hold no control characters.
  std::string api_key;
  // The package, streamed from disk (never loaded into memory) as the multipart part
  // "fileToUpload" with filename=file_name and Content-Type application/zip.
  std::filesystem::path file;
  // Default: empty (file's own name).
  std::string file_name;
  // What the push stores, for the 409 check after a retry (sha1_hex: 40 hex digits, any case).
  std::string package_id, version, sha1_hex;
  tls_options tls;
  // Attempts in all, clamped to 1..20. Default: 5.
  int max_attempts = 5;
  // The wait before the second attempt; it doubles for each later one, capped at 8 s. Default: 500
  // ms.
  std::chrono::milliseconds first_backoff{500};
  // Default: 10 s.
  std::chrono::seconds connect_timeout{10};
  // An attempt moving less than 1 byte/s for this long is abandoned (and retried). There is no
  // overall time limit: a large package on a slow link takes what it takes. Default: 60 s.
  std::chrono::seconds low_speed_time{60};
  // When it turns true the push ends with errc::unavailable "stopped": checked in curl's progress
  // callback (about once a second at worst) and every 50 ms of a backoff wait. Default: none.
  const std::atomic<bool>* stop = nullptr;
  // Request body bytes sent and total (multipart framing included) of the current attempt: at most
  // about once a second, and once when the push ends. Must not throw. Default: none.
  std::function<void(std::uint64_t sent, std::uint64_t total)> progress;
  // Once per attempt that failed and will be retried, before the wait: (attempt number, reason).
  // Must not throw. Default: none.
  std::function<void(int attempt, const std::string& reason)> on_retry;
};

struct push_result {
  int http_status;     // the destination's last answer (2xx, or 409 when already_there)
  int attempts;        // attempts made, >= 1
  bool already_there;  // 409 on a retry, and the stored package's Hash equals sha1_hex
};

// Uploads the package (POST, no redirects followed: a 3xx is a failure).
// Retried with backoff: connection failures (refused, reset, timeout, DNS, empty reply), 5xx, 408
// and 429. Success: any 2xx, or already_there. Fail at once: 401/403 (errc::forbidden; not
// unauthorized, which would read as our own caller's key), 409 on the first attempt
// (errc::conflict), 413 (errc::too_large), other 3xx/4xx (errc::invalid_argument), TLS failures
// (errc::unavailable, curl's reason). Attempts exhausted or stopped: errc::unavailable. A missing
// or unreadable file: errc::io_error. Messages include the destination's ErrorMessage (at most 300
// characters) when its answer has one.
result<push_result> push_package(const push_request& r);

struct get_request {
  std::string url;
  tls_options tls;
  // The whole request, connection included (which gets at most 10 s of it). Default: 30 s.
  std::chrono::seconds timeout{30};
  const std::atomic<bool>* stop = nullptr;  // true: ends with errc::unavailable "stopped"
  // Sent as X-Octopus-ApiKey when not empty; never in an error. Default: empty (no header).
  std::string api_key;
};

struct get_result {
  int http_status;   // any HTTP answer, including 3xx (redirects are not followed), 4xx and 5xx
  std::string body;  // the first 64 KiB of the response body
};

// One GET, no retries (the callback notifier retries and records each attempt) and no redirects
// (a webhook that moved answers 3xx, which the caller records like any other status). Errors only
// for a malformed URL (errc::invalid_argument) and transport failures (errc::unavailable with
// curl's reason and the redacted URL).
result<get_result> http_get(const get_request& r);

// ---- shared by push.cpp and get.cpp; not for callers
// ----------------------------------------------
namespace detail {

// What one easy transfer reports through libcurl's callbacks. Lives on the caller's stack for
// the duration of the transfer.
struct transfer_state {
  const std::atomic<bool>* stop = nullptr;
  const std::function<void(std::uint64_t, std::uint64_t)>* progress = nullptr;
  std::chrono::steady_clock::time_point last_progress{};
  std::uint64_t sent = 0, total = 0;  // upload bytes as curl last reported them
  bool stopped = false;               // the stop flag aborted the transfer
  std::string body;                   // the response body, bounded to 64 KiB
  char error[256] = {};               // CURLOPT_ERRORBUFFER (CURL_ERROR_SIZE)
};

// The settings every outbound transfer shares: http/https only, TLS verification (+ tls.ca_file),
// no redirects, no signals, the connect timeout, curl's error buffer, the stop flag and progress
// in the progress callback, and the bounded body. easy is a CURL* (libcurl's CURL is void).
// REQUIRES: state outlives the transfer.
void configure(void* easy, const tls_options& tls, std::chrono::seconds connect_timeout,
               transfer_state& state);

// Why a transfer failed: curl's error buffer when it says something, else curl's text for code.
std::string describe(int curl_code, const transfer_state& state);

}  // namespace detail
}  // namespace octomig::outbound
