// The libcurl plumbing every outbound transfer shares (global init, TLS, callbacks) and the
// webhook GET: one request, no retries, no redirects.
#include <curl/curl.h>

#include <algorithm>
#include <memory>
#include <string>

#include "outbound/outbound.hpp"

namespace octomig::outbound {
namespace {

using namespace std::chrono_literals;

static_assert(sizeof(detail::transfer_state::error) == CURL_ERROR_SIZE);

constexpr std::size_t kBodyLimit = 64 * 1024;
constexpr auto kProgressInterval = 1s;
constexpr auto kMaxConnectTimeout = 10s;

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* p) {
  auto& st = *static_cast<detail::transfer_state*>(p);
  std::size_t bytes = size * n;
  st.body.append(data, std::min(bytes, kBodyLimit - std::min(kBodyLimit, st.body.size())));
  return bytes;  // the rest is read and dropped: a large answer is no transport error
}

int on_progress(void* p, curl_off_t, curl_off_t, curl_off_t ultotal, curl_off_t ulnow) {
  auto& st = *static_cast<detail::transfer_state*>(p);
  if (st.stop && st.stop->load(std::memory_order_acquire)) {
    st.stopped = true;
    return 1;  // CURLE_ABORTED_BY_CALLBACK
  }
  st.sent = static_cast<std::uint64_t>(std::max<curl_off_t>(ulnow, 0));
  st.total = static_cast<std::uint64_t>(std::max<curl_off_t>(ultotal, 0));
  if (st.progress && *st.progress) {
    auto now = std::chrono::steady_clock::now();
    if (now - st.last_progress >= kProgressInterval) {
      st.last_progress = now;
      (*st.progress)(st.sent, st.total);
    }
  }
  return 0;
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto b = static_cast<unsigned char>(c);
    return b < 0x20 || b == 0x7f;
  });
}

}  // namespace

void init_curl() {
  // Once per process. libcurl 7.84+ makes curl_global_init itself thread-safe where
  // curl_version_info reports CURL_VERSION_THREADSAFE; the static covers older builds for our own
  // calls. Another library calling it concurrently on such a build is the caller's to prevent.
  static const CURLcode initialised = curl_global_init(CURL_GLOBAL_DEFAULT);
  (void)initialised;  // a failure shows as curl_easy_init returning null
}

namespace detail {

void configure(void* easy, const tls_options& tls, std::chrono::seconds connect_timeout,
               transfer_state& state) {
  CURL* h = easy;
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for DNS timeouts
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, state.error);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!tls.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, tls.ca_file.c_str());
  auto connect_ms = std::chrono::milliseconds(std::max(connect_timeout, 1s));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_ms.count()));
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "octomig");
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &state);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &state);
  state.last_progress = std::chrono::steady_clock::now();
}

std::string describe(int curl_code, const transfer_state& state) {
  std::string text = state.error[0]
                         ? std::string(state.error)
                         : std::string(curl_easy_strerror(static_cast<CURLcode>(curl_code)));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

}  // namespace detail

result<get_result> http_get(const get_request& r) {
  if (!is_http_url(r.url))
    return make_error(errc::invalid_argument,
                      "'" + redact_url(r.url) + "' is not an absolute http or https URL.");
  if (has_control(r.api_key))
    return make_error(errc::invalid_argument, "The API key holds control characters.");
  init_curl();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> easy(curl_easy_init(), curl_easy_cleanup);
  if (!easy) return make_error(errc::unavailable, "libcurl could not start a transfer.");
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(nullptr, curl_slist_free_all);
  if (!r.api_key.empty()) {
    headers.reset(curl_slist_append(nullptr, ("X-Octopus-ApiKey: " + r.api_key).c_str()));
    if (!headers) return make_error(errc::unavailable, "libcurl could not build the request.");
  }

  detail::transfer_state state;
  state.stop = r.stop;
  auto timeout = std::max(r.timeout, 1s);
  detail::configure(easy.get(), r.tls, std::min(timeout, kMaxConnectTimeout), state);
  curl_easy_setopt(easy.get(), CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(easy.get(), CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(easy.get(), CURLOPT_TIMEOUT_MS,
                   static_cast<long>(std::chrono::milliseconds(timeout).count()));
  if (headers) curl_easy_setopt(easy.get(), CURLOPT_HTTPHEADER, headers.get());

  CURLcode code = curl_easy_perform(easy.get());
  if (state.stopped) return make_error(errc::unavailable, "stopped");
  if (code != CURLE_OK)
    return make_error(errc::unavailable,
                      "GET " + redact_url(r.url) + " failed: " + detail::describe(code, state));
  long status = 0;
  curl_easy_getinfo(easy.get(), CURLINFO_RESPONSE_CODE, &status);
  return get_result{static_cast<int>(status), std::move(state.body)};
}

}  // namespace octomig::outbound
