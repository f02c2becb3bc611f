// HTTPS end to end: octomigd with a certificate from a CA made in the test (tls_certs.hpp), spoken
// to with libcurl on loopback. Covered: HTTPS only and HTTPS beside HTTP (the same answers and
// limits on both); the clients a server must fail (another CA, an expired certificate, another host
// name, TLS 1.0 and 1.1, plain HTTP on the HTTPS port), after each of which it still serves; the
// start errors that exit 2; SIGHUP (open connections kept, new ones on the new pair, a bad pair
// refused with the old one kept, reloads under load); and a migration whose destination serves
// HTTPS only.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <atomic>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/server/instance.hpp"
#include "tests/server/process.hpp"
#include "tests/server/tls_certs.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace octomig::server_test;
using namespace std::chrono_literals;

namespace {

const std::string kReloaded = "received SIGHUP; reloaded the TLS certificate";
const std::string kNotReloaded = "received SIGHUP; the TLS certificate was not reloaded";

// ---- octomigd ----

// octomigd with exactly the arguments given after its data directory (server_process always adds
// --listen, and an HTTPS-only server logs no http:// line), its log (stderr) read through a pipe.
// started once the log names the HTTPS port (and the HTTP port, when there is one); otherwise
// exit_code says how it ended and log holds what it wrote.
class tls_server {
 public:
  pid_t pid = -1;
  std::string log;
  int http_port = 0;   // 0: no plain HTTP
  int https_port = 0;  // 0: not started
  bool started = false;
  std::optional<int> exit_code;

  tls_server(const fs::path& data, std::vector<std::string> args) {
    // Only the arguments say what is served; cheap key derivation and retries keep tests quick.
    env_vars env{{"OCTOMIG_TEST_FAST_KDF", "1"}, {"OCTOMIG_TEST_FAST_RETRIES", "1"}};
    for (const char* name :
         {"OCTOMIG_LISTEN", "OCTOMIG_LISTEN_TLS", "OCTOMIG_TLS_CERT", "OCTOMIG_TLS_KEY",
          "OCTOMIG_CA_FILE", "OCTOMIG_TEST_PAUSE_IN_STEP", "OCTOMIG_TEST_PACKAGE_WRITE_LIMIT"})
      env.emplace_back(name, "");
    std::vector<std::string> all{OCTOMIGD, "--data-dir", data.string(), "--threads", "2"};
    for (auto& a : args) all.push_back(a);
    pid = spawn_logged(std::move(all), env, log_fd_);
    https_port = port_after("listening on https://127.0.0.1:");
    started = https_port > 0;
    if (started) {
      if (contains(log, "listening on http://"))
        http_port = port_after("listening on http://127.0.0.1:");
      return;
    }
    exit_code = reap(pid, clock_type::now() + 20s, log_fd_, &log);
    if (!exit_code) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    pid = -1;
    read_rest_of_log();
  }

  ~tls_server() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    if (log_fd_ >= 0) close(log_fd_);
  }
  tls_server(const tls_server&) = delete;
  tls_server& operator=(const tls_server&) = delete;

  // Reads the log until text occurs at least n times; false after limit or when the log ends.
  bool wait_for(const std::string& text, std::size_t n = 1, std::chrono::milliseconds limit = 20s) {
    const auto deadline = clock_type::now() + limit;
    while (count(text) < n) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
      if (left.count() <= 0 || !read_log(static_cast<int>(left.count()))) return false;
    }
    return true;
  }

  std::size_t count(const std::string& text) const {
    std::size_t n = 0;
    for (auto at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) ++n;
    return n;
  }

  // Reads what the log has without waiting, so that a long test never blocks octomigd on a full
  // pipe.
  void pump() {
    while (read_log(0)) {
    }
  }

  // The n-th (from 1) log line that contains text, or "".
  std::string line_with(const std::string& text, std::size_t n = 1) const {
    std::size_t at = std::string::npos;
    for (std::size_t i = 0; i < n; ++i) {
      at = log.find(text, at == std::string::npos ? 0 : at + 1);
      if (at == std::string::npos) return {};
    }
    auto begin = log.rfind('\n', at);
    begin = begin == std::string::npos ? 0 : begin + 1;
    return log.substr(begin, log.find('\n', at) - begin);
  }

  // Sends SIGHUP and waits for the log to say how this, the n-th reload, went (every reload logs
  // one line): true when it reloaded.
  bool reload(std::size_t n) {
    REQUIRE(kill(pid, SIGHUP) == 0);
    const auto deadline = clock_type::now() + 20s;
    while (count(kReloaded) + count(kNotReloaded) < n) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
      if (left.count() <= 0 || !read_log(static_cast<int>(left.count())))
        FAIL("no reload line for SIGHUP " << n << "; octomigd's log:\n" << log);
    }
    return contains(last_reload_line(), kReloaded);
  }

  // The last line that says how a reload went.
  std::string last_reload_line() const {
    auto a = log.rfind(kReloaded), b = log.rfind(kNotReloaded);
    auto at = a == std::string::npos ? b : b == std::string::npos ? a : std::max(a, b);
    if (at == std::string::npos) return {};
    auto begin = log.rfind('\n', at);
    begin = begin == std::string::npos ? 0 : begin + 1;
    return log.substr(begin, log.find('\n', at) - begin);
  }

  // SIGTERM, then the exit code (bounded); the log is then read to its end.
  int stop() {
    if (pid < 0) return exit_code.value_or(-1);
    kill(pid, SIGTERM);
    auto code = reap(pid, clock_type::now() + 20s, log_fd_, &log);
    if (!code) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      pid = -1;
      FAIL("octomigd did not exit within 20 s of SIGTERM");
    }
    pid = -1;
    exit_code = code;
    read_rest_of_log();
    return *code;
  }

 private:
  int log_fd_ = -1;

  bool read_log(int timeout_ms) {
    pollfd p{log_fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
    char buf[4096];
    ssize_t n = read(log_fd_, buf, sizeof buf);
    if (n <= 0) return false;
    log.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  // The port after prefix in the log, once its whole line has arrived; 0 when the log ends (or 20
  // s pass) first.
  int port_after(const std::string& prefix) {
    const auto deadline = clock_type::now() + 20s;
    while (true) {
      auto at = log.find(prefix);
      if (at != std::string::npos && log.find('\n', at) != std::string::npos)
        return std::stoi(log.substr(at + prefix.size()));
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
      if (left.count() <= 0 || !read_log(static_cast<int>(left.count()))) return 0;
    }
  }

  void read_rest_of_log() {
    const auto deadline = clock_type::now() + 5s;
    while (true) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
      if (left.count() <= 0 || !read_log(static_cast<int>(left.count()))) return;
    }
  }
};

// The TCP ports pid listens on (its sockets in /proc/<pid>/fd matched with the kernel's tables).
std::set<int> listening_ports(pid_t pid) {
  std::set<std::string> inodes;
  std::error_code ec;
  for (auto it = fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::error_code lec;
    auto target = fs::read_symlink(it->path(), lec).string();
    if (!lec && target.rfind("socket:[", 0) == 0)
      inodes.insert(target.substr(8, target.size() - 9));
  }
  std::set<int> ports;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // the heading
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
          timeout >> inode;
      if (state == "0A" && inodes.count(inode))  // 0A: TCP_LISTEN
        ports.insert(std::stoi(local.substr(local.rfind(':') + 1), nullptr, 16));
    }
  }
  return ports;
}

// ---- clients ----

struct client_options {
  std::string ca_file;  // the CA bundle to trust; empty: the system's CAs
  bool verify = true;   // peer and host name verification
  long ssl_version = CURL_SSLVERSION_DEFAULT;
  std::string cipher_list;           // empty: libcurl's default
  std::vector<std::string> resolve;  // CURLOPT_RESOLVE entries, "host:port:127.0.0.1"
};

client_options trusting(const fs::path& ca_file) {
  client_options o;
  o.ca_file = ca_file.string();
  return o;
}

// One exchange's outcome as the client saw it.
struct exchange {
  CURLcode code = CURLE_OK;
  std::string error;  // libcurl's words when code is not CURLE_OK
  long status = 0;
  std::string body;
  std::string subject;          // the server certificate's, when the exchange opened a connection
  std::string tls_version;      // "TLSv1.3", ...; empty for plain HTTP
  bool session_reused = false;  // the connection resumed an earlier TLS session
  long new_connections = 0;
  double seconds = 0;
  bool ok() const { return code == CURLE_OK; }
  std::string describe() const {
    return "curl " + std::to_string(code) + " (" + error + "), status " + std::to_string(status) +
           ", body " + body.substr(0, 300);
  }
};

struct write_target {
  CURL* handle;
  exchange* out;
};

// Collects the body; on the first bytes also reads the negotiated protocol and whether the session
// was resumed, while the connection is surely in use.
std::size_t collect_body(char* data, std::size_t size, std::size_t n, void* target) {
  auto* t = static_cast<write_target*>(target);
  if (t->out->tls_version.empty()) {
    curl_tlssessioninfo* info = nullptr;
    if (curl_easy_getinfo(t->handle, CURLINFO_TLS_SSL_PTR, &info) == CURLE_OK && info &&
        info->backend == CURLSSLBACKEND_OPENSSL && info->internals) {
      auto* ssl = static_cast<SSL*>(info->internals);
      t->out->tls_version = SSL_get_version(ssl);
      t->out->session_reused = SSL_session_reused(ssl) == 1;
    }
  }
  t->out->body.append(data, size * n);
  return size * n;
}

// A libcurl easy handle: its connections stay open between calls (keep-alive) unless a call asks
// for a fresh one.
class client {
 public:
  explicit client(client_options o = {}) : options_(std::move(o)), handle_(curl_easy_init()) {
    REQUIRE(handle_ != nullptr);
  }
  ~client() { curl_easy_cleanup(handle_); }
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  exchange call(const std::string& url, const std::string& method = "GET",
                const std::string& key = "", const std::string& body = "",
                const std::vector<std::string>& headers = {}, bool fresh = false) {
    CURL* c = handle_;
    curl_easy_reset(c);  // keeps the open connections
    exchange r;
    write_target target{c, &r};
    char error[CURL_ERROR_SIZE] = "";
    curl_slist* list = curl_slist_append(nullptr, "Accept: application/json");
    if (!key.empty()) list = curl_slist_append(list, ("X-Octopus-ApiKey: " + key).c_str());
    if (!body.empty()) list = curl_slist_append(list, "Content-Type: application/json");
    for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
    curl_slist* resolve = nullptr;
    for (const auto& entry : options_.resolve) resolve = curl_slist_append(resolve, entry.c_str());
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &target);
    curl_easy_setopt(c, CURLOPT_CERTINFO, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, options_.verify ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, options_.verify ? 2L : 0L);
    if (!options_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str());
    curl_easy_setopt(c, CURLOPT_SSLVERSION, options_.ssl_version);
    if (!options_.cipher_list.empty())
      curl_easy_setopt(c, CURLOPT_SSL_CIPHER_LIST, options_.cipher_list.c_str());
    if (fresh) curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
    if (method != "GET") {
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    }
    r.code = curl_easy_perform(c);
    r.error = error[0] ? error : curl_easy_strerror(r.code);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &r.new_connections);
    curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &r.seconds);
    curl_certinfo* certs = nullptr;
    if (r.new_connections > 0 && curl_easy_getinfo(c, CURLINFO_CERTINFO, &certs) == CURLE_OK &&
        certs && certs->num_of_certs > 0)
      for (auto* e = certs->certinfo[0]; e; e = e->next)
        if (std::string(e->data).rfind("Subject:", 0) == 0) r.subject = e->data + 8;
    curl_slist_free_all(list);
    curl_slist_free_all(resolve);
    return r;
  }

 private:
  client_options options_;
  CURL* handle_;
};

// Whether the served certificate's subject ends with CN=name (curl writes "CN = name" or
// "CN=name").
bool has_cn(const exchange& r, const std::string& name) {
  for (const auto& cn : {"CN = " + name, "CN=" + name}) {
    auto at = r.subject.rfind(cn);
    if (at != std::string::npos && at + cn.size() == r.subject.size()) return true;
  }
  return false;
}

// A server certificate's options, with CN=common_name.
leaf_options named(const std::string& common_name) {
  leaf_options o;
  o.common_name = common_name;
  return o;
}

// CURLOPT_SSLVERSION's value for the protocol versions from min to max.
long versions(long min, long max) {
  return min | max;
}

// A response body without what differs between any two answers (an error's Details.RequestId).
std::string comparable(const std::string& body) {
  json::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return body;
  if (auto* details = v.as_object().if_contains("Details"); details && details->is_object())
    details->as_object().erase("RequestId");
  return json::serialize(v);
}

// ---- a server with a certificate from the test's CA ----

// A temporary directory with the test's CA (ca.pem), a server certificate and key from it
// (server.pem, server.key) and octomigd serving HTTPS with them, besides HTTP when plain is set.
struct https_fixture {
  temp_dir dir{"octomig-tls"};
  test_ca ca{"octomig test CA"};
  fs::path ca_file = dir.path / "ca.pem";
  fs::path cert_file = dir.path / "server.pem";
  fs::path key_file = dir.path / "server.key";
  fs::path data = dir.path / "data";
  std::unique_ptr<tls_server> server;

  explicit https_fixture(const leaf_options& leaf = {}, bool plain = false, bool seeded = false) {
    replace_file(ca_file, ca.certificate());
    write_pair(ca.issue(leaf), cert_file, key_file);
    if (seeded) {
      auto r = run_tool(data, {"seed", "--projects", "2", "--releases", "1", "--deployments", "1",
                               "--log-lines", "3"});
      INFO("octomig-admin seed: " << r.all());
      REQUIRE(r.code == 0);
    }
    std::vector<std::string> args{"--listen-tls",     "127.0.0.1:0", "--tls-cert",
                                  cert_file.string(), "--tls-key",   key_file.string()};
    if (plain) args.insert(args.begin(), {"--listen", "127.0.0.1:0"});
    server = std::make_unique<tls_server>(data, args);
    INFO("octomigd's log:\n" << server->log);
    REQUIRE(server->started);
  }

  std::string https_url(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(server->https_port) + path;
  }
  std::string http_url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server->http_port) + path;
  }
  std::string key() const { return read_file(data / "admin-api-key"); }
  client_options trusting() const { return ::trusting(ca_file); }

  // A new client that trusts the CA gets GET /api on a new connection, with the certificate whose
  // CN is common_name: the server still serves.
  void check_serves(const std::string& common_name = "octomig test server") {
    client fresh(trusting());
    auto r = fresh.call(https_url("/api"));
    INFO(r.describe() << "\noctomigd's log:\n" << server->log);
    REQUIRE(r.ok());
    CHECK(r.status == 200);
    CHECK(contains(r.body, "\"Application\":\"octomig\""));
    CHECK(r.new_connections == 1);
    INFO("subject: " << r.subject);
    CHECK(has_cn(r, common_name));
  }
};

// Plain bytes to a TCP port: what came back before the connection ended (or limit passed), and
// whether it ended.
struct raw_result {
  std::string received;
  bool ended = false;
  std::chrono::milliseconds took{0};
};

raw_result send_raw(int port, const std::string& bytes, std::chrono::milliseconds limit = 5s) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  const auto start = clock_type::now();
  REQUIRE(send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
  raw_result r;
  while (clock_type::now() - start < limit) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {  // an orderly close or a reset: either way the server ended it
      r.ended = true;
      break;
    }
    r.received.append(buf, static_cast<std::size_t>(n));
  }
  r.took = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start);
  close(fd);
  return r;
}

}  // namespace

// ---- serving ----

TEST_CASE("an HTTPS-only server answers a client that trusts its CA and serves no plain HTTP",
          "[tls]") {
  https_fixture fx;
  auto& s = *fx.server;
  INFO("octomigd's log:\n" << s.log);
  CHECK(s.http_port == 0);
  CHECK_FALSE(contains(s.log, "listening on http://"));
  CHECK(contains(s.line_with("listening on https://"),
                 "listening on https://127.0.0.1:" + std::to_string(s.https_port) + "/api"));
  // Its one listening socket is the HTTPS port: plain HTTP is served nowhere.
  CHECK(listening_ports(s.pid) == std::set<int>{s.https_port});

  client c(fx.trusting());
  auto root = c.call(fx.https_url("/api"));
  INFO(root.describe());
  REQUIRE(root.ok());
  CHECK(root.status == 200);
  CHECK(contains(root.body, "\"Application\":\"octomig\""));
  CHECK(has_cn(root, "octomig test server"));
  CHECK(root.new_connections == 1);

  // An authenticated route on the same kept-alive connection.
  auto tasks = c.call(fx.https_url("/api/tasks"), "GET", fx.key());
  INFO(tasks.describe());
  CHECK(tasks.ok());
  CHECK(tasks.status == 200);
  CHECK(tasks.new_connections == 0);
  CHECK_FALSE(tasks.tls_version.empty());
  auto anonymous = c.call(fx.https_url("/api/tasks"));
  CHECK(anonymous.status == 401);

  CHECK(s.stop() == 0);
}

TEST_CASE("a server on HTTP and HTTPS answers every route and limit the same on both", "[tls]") {
  https_fixture fx({}, true, true);
  auto& s = *fx.server;
  INFO("octomigd's log:\n" << s.log);
  REQUIRE(s.http_port > 0);
  CHECK(s.http_port != s.https_port);
  CHECK(listening_ports(s.pid) == std::set<int>{s.http_port, s.https_port});
  const auto key = fx.key();

  client plain, secure(fx.trusting());
  for (const std::string path :
       {"/api", "/api/tasks", "/api/tasks?skip=1&take=2", "/api/Spaces-1/projects",
        "/api/Spaces-1/environments", "/api/tasks/ServerTasks-1/details", "/api/no-such-route"}) {
    auto a = plain.call(fx.http_url(path), "GET", key);
    auto b = secure.call(fx.https_url(path), "GET", key);
    INFO(path << "\nHTTP:  " << a.describe() << "\nHTTPS: " << b.describe());
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(a.tls_version.empty());
    CHECK_FALSE(b.tls_version.empty());
    CHECK(a.status == b.status);
    CHECK(comparable(a.body) == comparable(b.body));
  }
  // The seed's tasks are really there, so that the task list compared above is not empty.
  auto tasks = secure.call(fx.https_url("/api/tasks"), "GET", key);
  CHECK(json::parse(tasks.body).as_object().at("TotalResults").to_number<int>() > 0);

  // The same refusals: no key, headers over 16 KiB, a body over 1 MiB.
  auto a = plain.call(fx.http_url("/api/tasks"));
  auto b = secure.call(fx.https_url("/api/tasks"));
  CHECK(a.status == 401);
  CHECK(b.status == 401);
  CHECK(comparable(a.body) == comparable(b.body));

  const std::vector<std::string> huge{"X-Filler: " + std::string(20 * 1024, 'a')};
  a = plain.call(fx.http_url("/api"), "GET", key, "", huge);
  b = secure.call(fx.https_url("/api"), "GET", key, "", huge);
  {
    INFO("HTTP:  " << a.describe() << "\nHTTPS: " << b.describe());
    CHECK(a.status == 431);
    CHECK(b.status == 431);
    CHECK(comparable(a.body) == comparable(b.body));
  }

  const std::string big(2 * 1024 * 1024, ' ');
  a = plain.call(fx.http_url("/api/Spaces-1/environments"), "POST", key, big);
  b = secure.call(fx.https_url("/api/Spaces-1/environments"), "POST", key, big);
  {
    INFO("HTTP:  " << a.describe() << "\nHTTPS: " << b.describe());
    CHECK(a.status == 413);
    CHECK(b.status == 413);
    CHECK(comparable(a.body) == comparable(b.body));
  }

  // Both still serve after the refusals.
  CHECK(plain.call(fx.http_url("/api")).status == 200);
  fx.check_serves();
  CHECK(s.stop() == 0);
}

TEST_CASE("TLS 1.2 and TLS 1.3 clients are both served", "[tls]") {
  https_fixture fx;
  for (auto [version, name] :
       {std::pair{versions(CURL_SSLVERSION_TLSv1_2, CURL_SSLVERSION_MAX_TLSv1_2), "TLSv1.2"},
        std::pair{versions(CURL_SSLVERSION_TLSv1_3, CURL_SSLVERSION_MAX_TLSv1_3), "TLSv1.3"}}) {
    auto options = fx.trusting();
    options.ssl_version = version;
    client c(options);
    auto r = c.call(fx.https_url("/api"));
    INFO(name << ": " << r.describe());
    CHECK(r.ok());
    CHECK(r.status == 200);
    CHECK(r.tls_version == name);
  }
}

// ---- refusals ----

TEST_CASE("a client that trusts another CA refuses the certificate, and the server serves on",
          "[tls]") {
  https_fixture fx;
  test_ca other("another CA");
  const auto other_file = fx.dir.path / "other-ca.pem";
  replace_file(other_file, other.certificate());

  client c(trusting(other_file));
  auto r = c.call(fx.https_url("/api"));
  INFO(r.describe());
  CHECK(r.code == CURLE_PEER_FAILED_VERIFICATION);
  CHECK(contains(r.error, "unable to get local issuer certificate"));
  CHECK(r.status == 0);
  fx.check_serves();
}

TEST_CASE("an expired server certificate fails verification", "[tls]") {
  leaf_options expired;
  expired.common_name = "expired";
  expired.not_before = -std::chrono::hours(48);
  expired.not_after = -std::chrono::hours(24);
  https_fixture fx(expired);

  client c(fx.trusting());
  auto r = c.call(fx.https_url("/api"));
  INFO(r.describe());
  CHECK(r.code == CURLE_PEER_FAILED_VERIFICATION);
  CHECK(contains(r.error, "certificate has expired"));
  CHECK(r.status == 0);

  // The server is fine otherwise: a client that does not verify is served, with that certificate.
  auto options = fx.trusting();
  options.verify = false;
  client careless(options);
  auto served = careless.call(fx.https_url("/api"));
  INFO(served.describe());
  CHECK(served.status == 200);
  CHECK(has_cn(served, "expired"));
}

TEST_CASE("a certificate for another host name fails host name verification on 127.0.0.1",
          "[tls]") {
  leaf_options other_host;
  other_host.common_name = "other.example";
  other_host.dns_names = {"other.example"};
  other_host.ip_addresses = {};
  https_fixture fx(other_host);

  client c(fx.trusting());
  auto r = c.call(fx.https_url("/api"));
  INFO(r.describe());
  CHECK(r.code == CURLE_PEER_FAILED_VERIFICATION);
  CHECK(contains(r.error, "127.0.0.1"));
  CHECK(r.status == 0);

  // The same certificate verifies for the name it was made for.
  auto options = fx.trusting();
  options.resolve = {"other.example:" + std::to_string(fx.server->https_port) + ":127.0.0.1"};
  client named(options);
  auto served =
      named.call("https://other.example:" + std::to_string(fx.server->https_port) + "/api");
  INFO(served.describe());
  CHECK(served.ok());
  CHECK(served.status == 200);
  CHECK(has_cn(served, "other.example"));
}

TEST_CASE("TLS 1.0 and 1.1 clients are refused by the server, which serves on", "[tls]") {
  https_fixture fx;
  for (auto [version, name] :
       {std::pair{versions(CURL_SSLVERSION_TLSv1_0, CURL_SSLVERSION_MAX_TLSv1_0), "TLS 1.0"},
        std::pair{versions(CURL_SSLVERSION_TLSv1_0, CURL_SSLVERSION_MAX_TLSv1_1), "TLS 1.0 or 1.1"},
        std::pair{versions(CURL_SSLVERSION_TLSv1_1, CURL_SSLVERSION_MAX_TLSv1_1), "TLS 1.1"}}) {
    auto options = fx.trusting();
    options.ssl_version = version;
    // Security level 0, so that this client offers the old protocols whatever the system's OpenSSL
    // configuration allows: the refusal checked below must be the server's.
    options.cipher_list = "DEFAULT:@SECLEVEL=0";
    client c(options);
    auto r = c.call(fx.https_url("/api"));
    INFO(name << ": " << r.describe());
    CHECK(r.code == CURLE_SSL_CONNECT_ERROR);
    // The server's alert, not the client's own refusal ("no protocols available").
    CHECK(contains(r.error, "alert protocol version"));
    CHECK(r.status == 0);
    fx.check_serves();
  }
}

TEST_CASE("plain HTTP sent to the HTTPS port gets no HTTP answer and the connection ends at once",
          "[tls]") {
  https_fixture fx;
  auto r = send_raw(fx.server->https_port,
                    "GET /api HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n");
  INFO("received " << r.received.size() << " bytes in " << r.took.count() << " ms");
  CHECK(r.ended);
  CHECK(r.took < 2s);
  CHECK(r.received.find("HTTP/") == std::string::npos);
  fx.check_serves();

  // libcurl speaking HTTP to it fails the same way, and quickly.
  client c;
  auto plain = c.call("http://127.0.0.1:" + std::to_string(fx.server->https_port) + "/api");
  INFO(plain.describe());
  CHECK_FALSE(plain.ok());
  CHECK(plain.status == 0);
  CHECK(plain.seconds < 2.0);
  fx.check_serves();
}

// ---- start errors ----

namespace {

struct start_error {
  const char* what;
  std::vector<std::string> args;
  std::vector<std::string> message;  // parts of the one error line
};

// Runs octomigd with args on a fresh data directory under dir: it must exit 2, say every part of
// message in one line on stderr, listen nowhere and print no private key.
void check_start_error(const fs::path& dir, const start_error& e, const std::string& key_pem) {
  static int n = 0;
  tls_server s(dir / ("data-" + std::to_string(++n)), e.args);
  INFO(e.what << "; octomigd's stderr:\n" << s.log);
  CHECK_FALSE(s.started);
  CHECK(s.exit_code == 2);
  CHECK_FALSE(contains(s.log, "listening on"));
  REQUIRE_FALSE(e.message.empty());
  auto line = s.line_with(e.message.front());
  for (const auto& part : e.message) {
    INFO("the error line should contain: " << part);
    CHECK(contains(line, part));
  }
  CHECK_FALSE(contains(s.log, "PRIVATE KEY"));
  // Not one line of the key's base64.
  std::istringstream lines(key_pem);
  for (std::string l; std::getline(lines, l);)
    if (l.size() > 16 && l.rfind("-----", 0) != 0) CHECK_FALSE(contains(s.log, l));
}

}  // namespace

TEST_CASE("a missing, unreadable, mismatched or non-PEM certificate or key exits 2 and says why",
          "[tls]") {
  temp_dir dir("octomig-tls-start");
  test_ca ca("octomig test CA");
  const auto pair = ca.issue();
  auto other_options = named("other");
  other_options.key = key_kind::rsa_2048;
  const auto other = ca.issue(other_options);
  const auto cert = (dir.path / "server.pem").string();
  const auto key = (dir.path / "server.key").string();
  const auto other_key = (dir.path / "other.key").string();
  const auto missing = (dir.path / "missing.pem").string();
  const auto not_pem = (dir.path / "not-pem.txt").string();
  const auto empty = (dir.path / "empty.pem").string();
  write_pair(pair, cert, key);
  replace_file(other_key, other.private_key);
  replace_file(not_pem, "this is not a PEM file\n");
  replace_file(empty, "");
  auto tls = [](const std::string& c, const std::string& k) {
    return std::vector<std::string>{"--listen-tls", "127.0.0.1:0", "--tls-cert", c, "--tls-key", k};
  };

  const std::vector<start_error> cases{
      {"a missing certificate",
       tls(missing, key),
       {"the TLS certificate file " + missing + " does not exist"}},
      {"a missing key", tls(cert, missing), {"the TLS key file " + missing + " does not exist"}},
      {"a key that belongs to another certificate",
       tls(cert, other_key),
       {"the TLS key " + other_key + " does not belong to the certificate " + cert}},
      {"a certificate file that is not PEM",
       tls(not_pem, key),
       {"the TLS certificate file " + not_pem + " holds no usable PEM certificate"}},
      {"an empty certificate file",
       tls(empty, key),
       {"the TLS certificate file " + empty + " holds no usable PEM certificate"}},
      {"a key file that is not PEM",
       tls(cert, not_pem),
       {"the TLS key file " + not_pem + " holds no usable PEM private key"}},
      {"the key given as the certificate",
       tls(key, key),
       {"the TLS certificate file " + key + " holds no usable PEM certificate"}},
      {"the certificate given as the key",
       tls(cert, cert),
       {"the TLS key file " + cert + " holds no usable PEM private key"}},
      {"a directory as the key",
       tls(cert, dir.path.string()),
       {"the TLS key file " + dir.path.string()}},
      {"--listen-tls without --tls-cert",
       {"--listen-tls", "127.0.0.1:0", "--tls-key", key},
       {"HTTPS needs both --tls-cert and --tls-key"}},
      {"--listen-tls without either file",
       {"--listen-tls", "127.0.0.1:0"},
       {"HTTPS needs both --tls-cert and --tls-key"}},
      {"--tls-cert without --tls-key",
       {"--listen", "127.0.0.1:0", "--tls-cert", cert},
       {"HTTPS needs both --tls-cert and --tls-key"}},
  };
  for (const auto& e : cases) check_start_error(dir.path, e, pair.private_key + other.private_key);

  // An unreadable key; root reads any file, so this needs an ordinary user.
  if (geteuid() != 0) {
    const auto locked = (dir.path / "locked.key").string();
    replace_file(locked, pair.private_key);
    REQUIRE(chmod(locked.c_str(), 0) == 0);
    check_start_error(dir.path,
                      {"an unreadable key",
                       tls(cert, locked),
                       {"the TLS key file " + locked + " cannot be read"}},
                      pair.private_key);
  } else {
    WARN("running as root, which reads any file: the unreadable key is not tried");
  }
}

TEST_CASE("a directory given as the TLS key is not said to be missing", "[tls]") {
  // octomigd checks is_regular_file and reports every path that is not a regular file as one that
  // "does not exist", which sends the user looking for a path that is there.
  temp_dir dir("octomig-tls-start");
  test_ca ca("octomig test CA");
  const auto cert = (dir.path / "server.pem").string();
  const auto key_dir = dir.path / "keys";
  fs::create_directory(key_dir);
  write_pair(ca.issue(), cert, key_dir / "server.key");
  tls_server s(dir.path / "data",
               {"--listen-tls", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key_dir.string()});
  INFO("octomigd's stderr:\n" << s.log);
  CHECK(s.exit_code == 2);
  CHECK_FALSE(contains(s.line_with(key_dir.string()), "does not exist"));
}

// ---- reloads ----

TEST_CASE(
    "SIGHUP keeps open connections, gives new ones the new certificate, and keeps the old one "
    "when the new pair does not load",
    "[tls]") {
  leaf_options first;
  first.common_name = "first";
  https_fixture fx(first);
  auto& s = *fx.server;

  client kept(fx.trusting());
  auto before = kept.call(fx.https_url("/api"));
  INFO(before.describe());
  REQUIRE(before.ok());
  CHECK(before.new_connections == 1);
  CHECK(has_cn(before, "first"));
  // Before the SIGHUP a second connection of this client resumes the first one's session.
  {
    auto again = kept.call(fx.https_url("/api"), "GET", "", "", {}, true);
    INFO(again.describe());
    CHECK(again.status == 200);
    CHECK(again.new_connections == 1);
    CHECK(again.session_reused);
  }

  // A good new pair (with an RSA key this time).
  leaf_options second;
  second.common_name = "second";
  second.key = key_kind::rsa_2048;
  write_pair(fx.ca.issue(second), fx.cert_file, fx.key_file);
  {
    INFO("octomigd's log:\n" << s.log);
    REQUIRE(s.reload(1));
  }
  auto after = kept.call(fx.https_url("/api"));
  INFO(after.describe());
  CHECK(after.ok());
  CHECK(after.status == 200);
  CHECK(after.new_connections == 0);  // the connection opened before the SIGHUP
  fx.check_serves("second");
  // A new connection from the client that holds a session from before the SIGHUP gets a full
  // handshake with the new certificate, not a resumption of the old session.
  auto resumed = kept.call(fx.https_url("/api"), "GET", "", "", {}, true);
  {
    INFO(resumed.describe() << "\nsubject: " << resumed.subject);
    CHECK(resumed.status == 200);
    CHECK(resumed.new_connections == 1);
    CHECK_FALSE(resumed.session_reused);
    CHECK(has_cn(resumed, "second"));
  }

  // Bad pairs: each is refused with an error line, and "second" stays.
  const auto third = fx.ca.issue(named("third"));
  const auto stranger = fx.ca.issue(named("stranger"));
  struct bad_pair {
    std::string certificate, private_key;
    std::string why;  // in the error line
  };
  const std::vector<bad_pair> bad{
      {third.certificate, stranger.private_key, "does not belong to the certificate"},
      {"not a certificate\n", third.private_key, "holds no usable PEM certificate"},
      {third.certificate, "", "holds no usable PEM private key"},
  };
  std::size_t reloads = 1;
  for (const auto& pair : bad) {
    write_pair({pair.certificate, pair.private_key}, fx.cert_file, fx.key_file);
    INFO("octomigd's log:\n" << s.log);
    CHECK_FALSE(s.reload(++reloads));
    const auto line = s.last_reload_line();
    INFO("the reload's line: " << line);
    CHECK(contains(line, "ERROR"));
    CHECK(contains(line, "the old one stays"));
    CHECK(contains(line, pair.why));
    CHECK_FALSE(contains(s.log, "PRIVATE KEY"));
    fx.check_serves("second");
    auto still = kept.call(fx.https_url("/api"));
    INFO(still.describe());
    CHECK(still.ok());
    CHECK(still.new_connections == 0);
  }

  // A good pair after the bad ones is taken.
  write_pair(fx.ca.issue(named("fourth")), fx.cert_file, fx.key_file);
  CHECK(s.reload(++reloads));
  fx.check_serves("fourth");
  CHECK(s.stop() == 0);
}

TEST_CASE("requests from several threads never fail while SIGHUP reloads the certificate",
          "[tls][load]") {
  leaf_options a_options, b_options;
  a_options.common_name = "pair A";
  b_options.common_name = "pair B";
  https_fixture fx(a_options);
  auto& s = *fx.server;
  const auto a = fx.ca.issue(a_options), b = fx.ca.issue(b_options);

  constexpr int kThreads = 3;
  constexpr int kReloads = 6;
  constexpr int kBetweenReloads = 10;  // requests per thread, at least, before each reload
  constexpr int kMaxPerThread = 5000;  // a bound, should the reloads stall
  std::mutex mu;
  std::condition_variable progress;
  long done = 0;                      // guarded by mu
  std::vector<std::string> failures;  // guarded by mu
  std::atomic<bool> stop{false};
  std::vector<std::unique_ptr<client>> clients;  // made here: Catch2's checks are for this thread
  for (int t = 0; t < kThreads; ++t) clients.push_back(std::make_unique<client>(fx.trusting()));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      client& c = *clients[t];
      for (int i = 0; i < kMaxPerThread && !stop; ++i) {
        // Every other request on a new connection, so that handshakes run across the reloads.
        auto r = c.call(fx.https_url("/api"), "GET", "", "", {}, (i + t) % 2 == 0);
        std::lock_guard<std::mutex> lock(mu);
        if (!r.ok() || r.status != 200) failures.push_back(r.describe());
        ++done;
        progress.notify_all();
      }
    });

  long at_last_reload = 0;
  for (int n = 1; n <= kReloads; ++n) {
    {
      // Each reload happens while requests run: some have finished since the previous one.
      std::unique_lock<std::mutex> lock(mu);
      CHECK(progress.wait_for(lock, 10s,
                              [&] { return done >= at_last_reload + kBetweenReloads * kThreads; }));
      at_last_reload = done;
    }
    const auto& next = n % 2 ? b : a;
    write_pair(next, fx.cert_file, fx.key_file);
    INFO("octomigd's log:\n" << s.log);
    CHECK(s.reload(static_cast<std::size_t>(n)));
    fx.check_serves(n % 2 ? "pair B" : "pair A");
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    CHECK(progress.wait_for(lock, 10s,
                            [&] { return done >= at_last_reload + kBetweenReloads * kThreads; }));
  }
  stop = true;
  for (auto& t : threads) t.join();
  s.pump();
  INFO("requests: " << done << "; first failure: " << (failures.empty() ? "" : failures.front()));
  CHECK(failures.empty());
  CHECK(done >= (kReloads + 1) * kBetweenReloads * kThreads);
  CHECK(s.count(kNotReloaded) == 0);
  CHECK(s.stop() == 0);
}

// ---- a migration over HTTPS ----

namespace {

const std::string kPassword = "Birdperson-Tls-Passw0rd-3";

json::object export_body(const std::string& feed, const std::string& key,
                         const std::string& version) {
  return json::object{{"PackageId", "Demo.Migration"}, {"PackageVersion", version},
                      {"Password", kPassword},         {"Projects", json::array{"Web Portal"}},
                      {"EncryptPackage", true},        {"IncludeTaskLogs", true},
                      {"DestinationApiKey", key},      {"DestinationPackageFeed", feed}};
}

// GET over HTTPS that must answer 200 with a JSON object.
json::object get_json(client& c, https_fixture& fx, const std::string& path) {
  fx.server->pump();
  auto r = c.call(fx.https_url(path), "GET", fx.key());
  INFO("GET " << path << ": " << r.describe());
  REQUIRE(r.ok());
  REQUIRE(r.status == 200);
  return object_of({r.status, r.body});
}

}  // namespace

TEST_CASE(
    "an export to a destination that serves HTTPS only fails on a source that does not trust its "
    "CA "
    "and succeeds on one that does, and the import is posted over HTTPS",
    "[tls][migration]") {
  https_fixture destination;
  const auto dest_key = destination.key();
  const std::string feed = "https://127.0.0.1:" + std::to_string(destination.server->https_port);
  client to_destination(destination.trusting());
  instance source("octomig-tls-src", true);

  // Without the CA: the push fails on verification, at once, and says so without a secret.
  source.start();
  {
    auto echo = source.start_export(export_body(feed, dest_key, "1.0.0"));
    const auto id = text_of(echo, "TaskId");
    auto task = source.wait_until_ended(id);
    const auto message = text_of(task, "ErrorMessage");
    const auto log = joined(source.log_of(id));
    INFO("ErrorMessage: " << message << "\ntask log:\n" << log);
    CHECK(text_of(task, "State") == "Failed");
    CHECK(contains(message, "TLS"));
    CHECK(contains(message, "certificate"));
    CHECK(contains(message, "unable to get local issuer certificate"));
    CHECK(contains(message, feed));
    for (const auto& text : {message, log, source.log(), destination.server->log}) {
      CHECK_FALSE(contains(text, dest_key));
      CHECK_FALSE(contains(text, kPassword));
    }
    auto packages = get_json(to_destination, destination, "/api/Spaces-1/packages");
    CHECK(packages.at("Items").as_array().empty());
  }
  source.stop();

  // With the CA: the package arrives, and the success callback reaches an HTTPS receiver (the
  // destination's root document answers a GET with 200) with the same CA.
  source.start({{"OCTOMIG_CA_FILE", destination.ca_file.string()}});
  {
    auto request = export_body(feed, dest_key, "1.0.1");
    request["SuccessCallbackUri"] = feed + "/api?from=octomig-tls-test";
    auto echo = source.start_export(request);
    const auto id = text_of(echo, "TaskId");
    auto task = source.wait_until_ended(id);
    INFO("ErrorMessage: " << text_of(task, "ErrorMessage") << "\ntask log:\n"
                          << joined(source.log_of(id)));
    REQUIRE(text_of(task, "State") == "Success");
    auto lines = source.wait_for_line(id, "Success callback delivered (200)");
    INFO("task log:\n" << joined(lines));
    CHECK(std::none_of(lines.begin(), lines.end(),
                       [](const std::string& l) { return contains(l, "callback abandoned"); }));
  }
  auto packages = get_json(to_destination, destination, "/api/Spaces-1/packages");
  const auto& items = packages.at("Items").as_array();
  REQUIRE(items.size() == 1);
  CHECK(text_of(items[0].as_object(), "PackageId") == "Demo.Migration");
  CHECK(text_of(items[0].as_object(), "Version") == "1.0.1");

  // The import, posted and followed over HTTPS.
  const auto body = json::serialize(json::object{{"PackageId", "Demo.Migration"},
                                                 {"PackageVersion", "1.0.1"},
                                                 {"Password", kPassword},
                                                 {"IsEncryptedPackage", true}});
  auto posted =
      to_destination.call(destination.https_url("/api/migrations/import"), "POST", dest_key, body);
  INFO("POST /api/migrations/import: " << posted.status << " " << posted.body);
  REQUIRE(posted.ok());
  REQUIRE(posted.status == 200);
  const auto id = text_of(object_of({posted.status, posted.body}), "TaskId");
  REQUIRE(id.rfind("ServerTasks-", 0) == 0);
  const auto deadline = clock_type::now() + task_limit;
  json::object task;
  while (true) {
    task = get_json(to_destination, destination, "/api/tasks/" + id);
    const auto state = text_of(task, "State");
    if (state == "Success" || state == "Failed" || state == "Canceled" || state == "TimedOut")
      break;
    if (clock_type::now() >= deadline) FAIL("the import " << id << " is still " << state);
    poll(nullptr, 0, 20);  // a polling tick, not a synchronisation
  }
  INFO("import: " << json::serialize(task));
  CHECK(text_of(task, "State") == "Success");
  auto projects = get_json(to_destination, destination, "/api/Spaces-1/projects");
  std::set<std::string> names;
  for (const auto& p : projects.at("Items").as_array())
    names.insert(text_of(p.as_object(), "Name"));
  CHECK(names.count("Web Portal") == 1);

  destination.server->pump();
  for (const auto& text : {source.log(), destination.server->log}) {
    CHECK_FALSE(contains(text, dest_key));
    CHECK_FALSE(contains(text, kPassword));
  }
  source.stop();
  CHECK(destination.server->stop() == 0);
}
