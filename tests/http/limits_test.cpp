// Slow and idle clients cannot hold the server: the header timeout closes a connection whose
// request never completes, the idle timeout a kept-alive one that sends nothing, and
// max_connections closes one connection too many at once; each is counted in /metrics. With 200
// slow sockets open, a client polling a task is still answered at once.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "tests/http/server_fixture.hpp"

using namespace octomig;
using namespace octomig::http_test;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

// A raw loopback socket, closed when it goes.
class raw_socket {
 public:
  explicit raw_socket(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    REQUIRE(fd_ >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~raw_socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  raw_socket(const raw_socket&) = delete;
  raw_socket& operator=(const raw_socket&) = delete;

  void send_text(const std::string& text) {
    REQUIRE(::send(fd_, text.data(), text.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(text.size()));
  }
  // True once the server has closed the connection (end of stream or a reset) within `within`.
  bool closed_within(std::chrono::milliseconds within) {
    const auto until = clock_type::now() + within;
    char buf[4096];
    while (clock_type::now() < until) {
      pollfd p{fd_, POLLIN, 0};
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock_type::now());
      if (::poll(&p, 1, static_cast<int>(std::max<long>(1, left.count()))) <= 0) continue;
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return true;  // closed (0) or reset (-1)
    }
    return false;
  }

 private:
  int fd_;
};

// The value of a /metrics line ("name value"), or -1.
long long metric(server_fixture& f, const std::string& name) {
  auto r = f.client().get("/metrics", f.user_key);
  REQUIRE(r.status == 200);
  auto at = r.body.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(r.body.substr(at + name.size() + 2));
}

}  // namespace

TEST_CASE("a request header that does not arrive within the header timeout closes the connection",
          "[http][limits]") {
  fixture_options o;
  o.header_timeout = 1s;
  server_fixture f(o);
  raw_socket slow(f.port());
  slow.send_text("GET /api HTTP/1.1\r\nHost: x\r\n");  // never finished
  // Bounded: the timeout is 1 s; 5 s is far beyond it and far below the default of 60 s.
  CHECK(slow.closed_within(5000ms));
  CHECK(metric(f, "octomig_http_header_timeouts_total") == 1);
  CHECK(metric(f, "octomig_http_idle_timeouts_total") == 0);
}

TEST_CASE("a kept-alive connection idle for longer than the idle timeout is closed and counted",
          "[http][limits]") {
  fixture_options o;
  o.idle_timeout = 1s;
  server_fixture f(o);
  raw_socket idle(f.port());
  idle.send_text("GET /api HTTP/1.1\r\nHost: x\r\n\r\n");  // one request, then nothing
  CHECK(idle.closed_within(5000ms));
  CHECK(metric(f, "octomig_http_idle_timeouts_total") == 1);
  CHECK(metric(f, "octomig_http_header_timeouts_total") == 0);
}

TEST_CASE("one connection more than max_connections is closed at once and counted",
          "[http][limits]") {
  fixture_options o;
  o.max_connections = 4;
  server_fixture f(o);
  // The fixture's own client holds one keep-alive connection once it has asked something.
  REQUIRE(f.client().get("/api", f.user_key).status == 200);
  std::vector<std::unique_ptr<raw_socket>> held;
  for (int i = 0; i < 3; ++i) held.push_back(std::make_unique<raw_socket>(f.port()));
  raw_socket extra(f.port());
  CHECK(extra.closed_within(5000ms));
  // The fixture's client, on its kept-alive connection, is still served meanwhile.
  CHECK(metric(f, "octomig_http_connections_refused_total") >= 1);
  CHECK(metric(f, "octomig_http_connections_open") <= 4);
}

TEST_CASE("with 200 slow sockets open, a client polling a task is answered at once",
          "[http][limits]") {
  server_fixture f;  // the default limits: header timeout 60 s, 1024 connections
  const auto task = f.queue_task("Instant").id;
  std::vector<std::unique_ptr<raw_socket>> slow;
  for (int i = 0; i < 200; ++i) {
    slow.push_back(std::make_unique<raw_socket>(f.port()));
    slow.back()->send_text("GET /api/tasks HTTP/1.1\r\nHost: x\r\nX-Slow: ");  // never finished
  }
  // 50 polls, each far below any timeout: none waits behind the slow sockets.
  auto worst = clock_type::duration::zero();
  for (int i = 0; i < 50; ++i) {
    const auto began = clock_type::now();
    auto r = f.client().get("/api/tasks/" + task, f.user_key);
    worst = std::max(worst, clock_type::now() - began);
    REQUIRE(r.status == 200);
  }
  INFO("slowest poll: " << std::chrono::duration_cast<std::chrono::milliseconds>(worst).count()
                        << " ms");
  // A correctness bound, not a benchmark: blocked behind the slow sockets, a poll would wait for
  // the 60 s header timeout.
  CHECK(worst < 2s);
  CHECK(metric(f, "octomig_http_connections_open") >= 200);
}
