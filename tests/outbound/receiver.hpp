// A scripted HTTP/1.1 receiver on 127.0.0.1 and an ephemeral port, for the outbound tests: it
// answers each request with the next reply of its script, records what it was sent, and counts
// (rather than keeps) large bodies. Plain sockets and poll with bounded waits; one connection at a
// time, each closed after its one request ("Connection: close").
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace octomig::outbound_test {

struct reply {
  enum class mode {
    answer,       // read the whole request (after "100 Continue" if asked), then answer
    before_body,  // answer right after the headers, without "100 Continue" or reading the body
    hang_up,      // read the whole request, then close without a word
    stall,        // read the whole request, then say nothing until the client goes away
  };
  int status = 201;
  std::string body = "{}";
  mode how = mode::answer;
};

inline reply answer(int status, std::string body = "{}") {
  return reply{status, std::move(body), reply::mode::answer};
}
inline reply early(int status, std::string body = "{}") {
  return reply{status, std::move(body), reply::mode::before_body};
}
inline reply hang_up() {
  return reply{0, "", reply::mode::hang_up};
}
inline reply stall() {
  return reply{0, "", reply::mode::stall};
}

struct request_seen {
  std::string method, target;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::uint64_t body_bytes = 0;                // all of the body that was read
  std::string head;                            // its first bytes (up to 1 MiB)
  std::string tail;                            // its last bytes (up to 4 KiB)

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class receiver {
 public:
  // Replies in order; once the script runs out its last reply repeats.
  explicit receiver(std::vector<reply> script);
  ~receiver();
  receiver(const receiver&) = delete;
  receiver& operator=(const receiver&) = delete;

  std::uint16_t port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  std::vector<request_seen> requests() const;
  // Waits at most limit for n recorded requests; whether they arrived.
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds limit) const;
  // The largest VmRSS (KiB) of this process sampled after each MiB of body read; 0 before any.
  std::uint64_t peak_rss_kib() const { return peak_rss_kib_.load(); }

 private:
  void run();
  void serve(int fd);
  void record(request_seen r);
  // recv with 50 ms poll slices: bytes read, 0 at EOF, -1 on error, stop or 10 s of silence.
  long receive(int fd, char* buf, std::size_t size);
  // Reads until EOF (or the receive limit) so that closing sends a FIN, not a reset.
  void drain(int fd);

  std::vector<reply> script_;
  std::size_t next_ = 0;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> peak_rss_kib_{0};
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<request_seen> seen_;
  std::thread thread_;
};

// A loopback port that refuses connections: bound (so nothing else takes it) but never listening.
class closed_port {
 public:
  closed_port();
  ~closed_port();
  closed_port(const closed_port&) = delete;
  closed_port& operator=(const closed_port&) = delete;
  std::uint16_t port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// This process's resident set size in KiB (VmRSS of /proc/self/status).
std::uint64_t rss_kib();

}  // namespace octomig::outbound_test
