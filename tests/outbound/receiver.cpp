// The scripted loopback receiver of the outbound tests.
#include "tests/outbound/receiver.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <stdexcept>
#include <system_error>

#include "base/ascii.hpp"

namespace octomig::outbound_test {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kHeadKeep = 1 << 20;
constexpr std::size_t kTailKeep = 4 << 10;
constexpr std::size_t kMaxHeader = 64 << 10;
constexpr auto kSilenceLimit = 10s;

[[noreturn]] void fail(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// A TCP socket bound to 127.0.0.1 and an ephemeral port.
int bound_socket(std::uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fail("bind");
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) fail("getsockname");
  port = ntohs(addr.sin_port);
  return fd;
}

bool send_all(int fd, const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  std::size_t first = s.find_first_not_of(" \t");
  return first == std::string::npos ? std::string() : s.substr(first);
}

// Parses the request line and header fields of head (without the final blank line).
request_seen parse_head(const std::string& head) {
  request_seen r;
  std::size_t line_end = head.find("\r\n");
  std::string line = head.substr(0, line_end);
  std::size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
  r.method = line.substr(0, sp1);
  r.target = sp1 == std::string::npos ? "" : line.substr(sp1 + 1, sp2 - sp1 - 1);
  while (line_end != std::string::npos) {
    std::size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    line = head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
    if (auto colon = line.find(':'); colon != std::string::npos)
      r.headers[ascii::lower(line.substr(0, colon))] = trim(line.substr(colon + 1));
  }
  return r;
}

std::string response(const reply& rep) {
  return "HTTP/1.1 " + std::to_string(rep.status) +
         " Scripted\r\nContent-Type: application/json\r\n" +
         "Content-Length: " + std::to_string(rep.body.size()) + "\r\nConnection: close\r\n\r\n" +
         rep.body;
}

}  // namespace

std::uint64_t rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      std::uint64_t kib = 0;
      in >> kib;
      return kib;
    }
    std::getline(in, key);
  }
  return 0;
}

receiver::receiver(std::vector<reply> script) : script_(std::move(script)) {
  if (script_.empty()) throw std::invalid_argument("receiver: empty script");
  listen_fd_ = bound_socket(port_);
  if (::listen(listen_fd_, 16) != 0) fail("listen");
  thread_ = std::thread([this] { run(); });
}

receiver::~receiver() {
  stop_ = true;
  thread_.join();
  ::close(listen_fd_);
}

std::vector<request_seen> receiver::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return seen_;
}

bool receiver::wait_for_requests(std::size_t n, std::chrono::milliseconds limit) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, limit, [&] { return seen_.size() >= n; });
}

void receiver::record(request_seen r) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    seen_.push_back(std::move(r));
  }
  cv_.notify_all();
}

void receiver::run() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    serve(fd);
    ::close(fd);
  }
}

long receiver::receive(int fd, char* buf, std::size_t size) {
  auto deadline = std::chrono::steady_clock::now() + kSilenceLimit;
  while (!stop_ && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    int ready = ::poll(&p, 1, 50);
    if (ready < 0 && errno != EINTR) return -1;
    if (ready <= 0) continue;
    ssize_t n = ::recv(fd, buf, size, 0);
    if (n < 0 && errno == EINTR) continue;
    return n < 0 ? -1 : static_cast<long>(n);
  }
  return -1;
}

void receiver::drain(int fd) {
  ::shutdown(fd, SHUT_WR);
  char buf[16 << 10];
  while (receive(fd, buf, sizeof buf) > 0) {
  }
}

void receiver::serve(int fd) {
  std::string head;
  std::size_t head_end;
  char buf[64 << 10];
  while ((head_end = head.find("\r\n\r\n")) == std::string::npos) {
    if (head.size() > kMaxHeader) return;
    long n = receive(fd, buf, sizeof buf);
    if (n <= 0) return;  // not an HTTP request (a TLS hello, say) or gone
    head.append(buf, static_cast<std::size_t>(n));
  }
  std::string pending = head.substr(head_end + 4);
  request_seen seen = parse_head(head.substr(0, head_end));
  const reply rep = script_[std::min(next_, script_.size() - 1)];
  ++next_;

  if (rep.how == reply::mode::before_body) {
    record(std::move(seen));
    send_all(fd, response(rep));
    drain(fd);
    return;
  }
  if (ascii::iequals(seen.header("expect"), "100-continue") &&
      !send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n"))
    return;

  // Only Content-Length bodies: what libcurl sends for a mime post of a file and for a GET.
  std::uint64_t length = 0;
  if (auto cl = seen.header("content-length"); !cl.empty()) length = std::stoull(cl);
  std::uint64_t next_sample = 1 << 20;
  auto take = [&](const char* data, std::size_t n) {
    seen.body_bytes += n;
    if (seen.head.size() < kHeadKeep)
      seen.head.append(data, std::min(n, kHeadKeep - seen.head.size()));
    seen.tail.append(data, n);
    if (seen.tail.size() > kTailKeep) seen.tail.erase(0, seen.tail.size() - kTailKeep);
    if (seen.body_bytes >= next_sample) {
      next_sample += 1 << 20;
      std::uint64_t rss = rss_kib();
      if (rss > peak_rss_kib_.load()) peak_rss_kib_ = rss;
    }
  };
  take(pending.data(), std::min<std::uint64_t>(pending.size(), length));
  while (seen.body_bytes < length) {
    long n = receive(fd, buf, std::min<std::uint64_t>(sizeof buf, length - seen.body_bytes));
    if (n <= 0) break;
    take(buf, static_cast<std::size_t>(n));
  }
  const bool complete = seen.body_bytes == length;
  record(std::move(seen));
  if (!complete) return;

  switch (rep.how) {
    case reply::mode::answer:
      send_all(fd, response(rep));
      drain(fd);
      return;
    case reply::mode::hang_up:
      return;
    case reply::mode::stall:
      while (receive(fd, buf, sizeof buf) > 0) {
      }
      return;
    case reply::mode::before_body:
      return;
  }
}

closed_port::closed_port() {
  fd_ = bound_socket(port_);
}

closed_port::~closed_port() {
  ::close(fd_);
}

}  // namespace octomig::outbound_test
