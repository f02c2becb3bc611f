// Helpers shared by the octomigd process tests: a temporary directory, octomigd as a child process
// whose log (stderr) is read through a pipe, a bounded reap of a child, a libcurl write callback
// and reading a small text file.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

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

// A running octomigd (on loopback, any port, 2 threads, then the extra arguments) whose log
// (stderr) is read through a pipe. started is false when it exited (or did not listen within
// 20 s) instead; exit_code then holds how it ended.
struct server_process {
  pid_t pid = -1;
  int log_fd = -1;
  std::string log;
  int port = 0;
  bool started = false;
  std::optional<int> exit_code;

  explicit server_process(const std::filesystem::path& data_dir,
                          std::vector<std::string> extra = {}) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      dup2(fds[1], 2);
      int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 1);
      close(fds[0]);
      std::vector<std::string> args{
          OCTOMIGD, "--data-dir", data_dir.string(), "--listen", "127.0.0.1:0", "--threads", "2"};
      for (auto& e : extra) args.push_back(e);
      exec_args(std::move(args));
    }
    close(fds[1]);
    log_fd = fds[0];
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

}  // namespace octomig::server_test
