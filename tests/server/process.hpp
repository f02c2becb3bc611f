// Helpers shared by the octomigd process tests: a temporary directory, octomigd as a child process
// whose log (stderr) is read through a pipe, a bounded reap of a child, octomig-admin as a child
// process, one HTTP request on loopback, a libcurl write callback and reading a small text file.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace octomig::server_test {

using clock_type = std::chrono::steady_clock;

// A fresh directory under the system's temporary directory, named prefix-XXXXXX, removed with all
// it holds at the end.
struct temp_dir {
  std::filesystem::path path;
  explicit temp_dir(const char* prefix) {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

// The text of the file p without its trailing line ends.
inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// libcurl's write callback: appends the data to the std::string at out.
inline std::size_t collect(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// In a forked child: replaces it with the program args[0], given the rest of args; exits 127 when
// that fails.
[[noreturn]] inline void exec_args(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  execv(argv[0], argv.data());
  _exit(127);
}

// Reaps pid, waiting at most until deadline: the exit code (128 + signal when killed), or nullopt.
// Each round waits on the log pipe (when there is one) or for a short tick: a bounded poll.
inline std::optional<int> reap(pid_t pid, clock_type::time_point deadline, int fd = -1,
                               std::string* out = nullptr) {
  bool open = fd >= 0;
  while (true) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (clock_type::now() >= deadline) return std::nullopt;
    pollfd p{open ? fd : -1, POLLIN, 0};
    poll(&p, 1, 20);
    if (open && (p.revents & (POLLIN | POLLHUP))) {
      char buf[4096];
      ssize_t n = read(fd, buf, sizeof buf);
      if (n > 0 && out) out->append(buf, static_cast<std::size_t>(n));
      if (n <= 0) open = false;
    }
  }
}

// Environment variables for a child: each is set, or unset when its value is empty.
using env_vars = std::vector<std::pair<std::string, std::string>>;

// A running octomigd (on loopback, any port, 2 threads, then the extra arguments, with env on top
// of this process's environment) whose log (stderr) is read through a pipe. started is false when
// it exited (or did not listen within 20 s) instead; exit_code then holds how it ended.
// Starts args[0] with args, the environment changed by env (an empty value unsets the variable),
// stdout on /dev/null and stderr on a pipe whose read end goes to log_fd. Returns the pid.
inline pid_t spawn_logged(std::vector<std::string> args, const env_vars& env, int& log_fd) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], 2);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    close(fds[0]);
    for (const auto& [name, value] : env) {
      if (value.empty())
        unsetenv(name.c_str());
      else
        setenv(name.c_str(), value.c_str(), 1);
    }
    exec_args(std::move(args));
  }
  close(fds[1]);
  log_fd = fds[0];
  return pid;
}

struct server_process {
  pid_t pid = -1;
  int log_fd = -1;
  std::string log;
  int port = 0;
  bool started = false;
  std::optional<int> exit_code;

  explicit server_process(const std::filesystem::path& data_dir,
                          std::vector<std::string> extra = {}, const env_vars& env = {}) {
    std::vector<std::string> args{
        OCTOMIGD, "--data-dir", data_dir.string(), "--listen", "127.0.0.1:0", "--threads", "2"};
    for (auto& e : extra) args.push_back(e);
    pid = spawn_logged(std::move(args), env, log_fd);
    const std::string listening = "listening on http://127.0.0.1:";
    started = wait_for_log(listening);
    if (started) {
      port = std::stoi(log.substr(log.find(listening) + listening.size()));
      return;
    }
    // It ended (its log closed) or hangs: collect how it ended, bounded.
    exit_code = reap(pid, clock_type::now() + std::chrono::seconds(20), log_fd, &log);
    if (!exit_code) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    pid = -1;
    read_rest_of_log();
  }

  // Reads the log until it contains text; false after the limit or when the log ends.
  bool wait_for_log(const std::string& text,
                    std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    auto deadline = clock_type::now() + limit;
    while (log.find(text) == std::string::npos) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
      if (left.count() <= 0) return false;
      if (!read_log(static_cast<int>(left.count()))) return false;
    }
    return true;
  }

  // Reads what the log has, waiting up to wait for the first of it: a test that polls the server
  // ticks with this, so that a long run never blocks octomigd on a full pipe. Once the log has
  // ended (octomigd is gone) it only waits, so that a polling loop keeps its pace.
  void pump(std::chrono::milliseconds wait = std::chrono::milliseconds(20)) {
    auto until = clock_type::now() + wait;
    int timeout = static_cast<int>(wait.count());
    while (log_fd >= 0 && read_log(timeout)) timeout = 0;
    if (timeout > 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock_type::now());
      if (left.count() > 0) poll(nullptr, 0, static_cast<int>(left.count()));
    }
  }

  // The log line that contains text, or "".
  std::string line_with(const std::string& text) const {
    auto at = log.find(text);
    if (at == std::string::npos) return {};
    auto begin = log.rfind('\n', at);
    begin = begin == std::string::npos ? 0 : begin + 1;
    auto end = log.find('\n', at);
    return log.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
  }

  // Sends sig and waits (bounded) for the exit status; the log is then read to its end.
  int stop(int sig = SIGTERM) {
    if (pid < 0) return exit_code.value_or(-1);
    kill(pid, sig);
    auto code = reap(pid, clock_type::now() + std::chrono::seconds(20), log_fd, &log);
    if (!code) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      pid = -1;
      FAIL("octomigd did not exit within 20 s of signal " << sig);
    }
    pid = -1;
    exit_code = code;
    read_rest_of_log();
    return *code;
  }

  ~server_process() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    if (log_fd >= 0) close(log_fd);
  }
  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;

 private:
  // Waits up to timeout_ms for log output and appends one read of it; false on timeout or when
  // the log has ended.
  bool read_log(int timeout_ms) {
    pollfd p{log_fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
    char buf[4096];
    ssize_t n = read(log_fd, buf, sizeof buf);
    if (n <= 0) return false;
    log.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  // After the exit: what octomigd wrote last, up to the end of the log (bounded by 5 s).
  void read_rest_of_log() {
    auto deadline = clock_type::now() + std::chrono::seconds(5);
    while (true) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
      if (left.count() <= 0 || !read_log(static_cast<int>(left.count()))) return;
    }
  }
};

// ---- octomig-admin ----

struct tool_result {
  int code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
  std::string all() const { return out + err; }
};

// Runs octomig-admin --data-dir data args (bounded by 60 s); stdout and stderr kept apart
// (apikeys create prints a key on stdout, which a test never shows).
// Reads a child's stdout and stderr pipes into out and err until both close or the deadline
// passes, then closes them.
inline void read_until_closed(int out_fd, int err_fd, clock_type::time_point deadline,
                              std::string& out, std::string& err) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  std::string* sinks[2] = {&out, &err};
  int open = 2;
  while (open > 0 && clock_type::now() < deadline) {
    if (poll(fds, 2, 100) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(n));
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open;
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) close(f.fd);
}

inline tool_result run_tool(const std::filesystem::path& data, std::vector<std::string> args) {
  int out_fds[2], err_fds[2];
  REQUIRE(pipe(out_fds) == 0);
  REQUIRE(pipe(err_fds) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(out_fds[1], 1);
    dup2(err_fds[1], 2);
    close(out_fds[0]);
    close(err_fds[0]);
    std::vector<std::string> all{OCTOMIG_ADMIN, "--data-dir", data.string()};
    for (auto& a : args) all.push_back(a);
    exec_args(std::move(all));
  }
  close(out_fds[1]);
  close(err_fds[1]);
  tool_result r;
  auto deadline = clock_type::now() + std::chrono::seconds(60);
  read_until_closed(out_fds[0], err_fds[0], deadline, r.out, r.err);
  auto code = reap(pid, deadline);
  if (!code) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    FAIL("octomig-admin did not finish within 60 s");
  }
  r.code = *code;
  return r;
}

// ---- HTTP ----

struct http_result {
  long status = 0;  // 0: no answer within 10 s
  std::string body;
};

// One request to 127.0.0.1:port, with the key (when not empty) as X-Octopus-ApiKey and the body
// (when not empty) as JSON. A POST without a body sends Content-Length: 0.
inline http_result http_call(int port, const std::string& method, const std::string& path,
                             const std::string& key, const std::string& body = "") {
  CURL* c = curl_easy_init();
  REQUIRE(c != nullptr);
  http_result r;
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + path;
  curl_slist* headers = curl_slist_append(nullptr, "Accept: application/json");
  if (!key.empty()) headers = curl_slist_append(headers, ("X-Octopus-ApiKey: " + key).c_str());
  if (!body.empty()) headers = curl_slist_append(headers, "Content-Type: application/json");
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  if (method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  return r;
}

}  // namespace octomig::server_test
