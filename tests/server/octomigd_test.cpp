// octomigd as a process: first start, restart, clean shutdown on signals, flags.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <curl/curl.h>
#include <boost/json.hpp>

namespace fs = std::filesystem;

namespace {

struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "octomig-server-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// A running octomigd whose log (stderr) is read through a pipe.
struct server_process {
  pid_t pid = -1;
  int log_fd = -1;
  std::string log;
  int port = 0;

  explicit server_process(const fs::path& data_dir, std::vector<std::string> extra = {}) {
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
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(fds[1]);
    log_fd = fds[0];
    REQUIRE(wait_for_log("listening on http://127.0.0.1:"));
    auto at = log.find("listening on http://127.0.0.1:") +
              std::string("listening on http://127.0.0.1:").size();
    port = std::stoi(log.substr(at));
  }

  // Reads the log until it contains text; false after the limit or when the log ends.
  bool wait_for_log(const std::string& text,
                    std::chrono::seconds limit = std::chrono::seconds(20)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (log.find(text) == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{log_fd, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      char buf[4096];
      ssize_t n = read(log_fd, buf, sizeof buf);
      if (n <= 0) return false;
      log.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }

  // Sends sig and waits (bounded) for the exit status.
  int stop(int sig = SIGTERM) {
    kill(pid, sig);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      pid_t r = waitpid(pid, &status, WNOHANG);
      if (r == pid) {
        pid = -1;
        wait_for_log("\n\n", std::chrono::seconds(0));
        char buf[4096];
        ssize_t n;
        while ((n = read(log_fd, buf, sizeof buf)) > 0)
          log.append(buf, static_cast<std::size_t>(n));
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      pollfd p{log_fd, POLLIN, 0};
      poll(&p, 1, 20);  // wakes early on log output; bounded by the deadline above
      char buf[4096];
      if (p.revents & POLLIN) {
        ssize_t n = read(log_fd, buf, sizeof buf);
        if (n > 0) log.append(buf, static_cast<std::size_t>(n));
      }
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    pid = -1;
    FAIL("octomigd did not exit within 20 s of the signal");
    return -1;
  }

  ~server_process() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      int status;
      waitpid(pid, &status, 0);
    }
    if (log_fd >= 0) close(log_fd);
  }
};

std::size_t collect(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

long get(int port, const std::string& path, const std::string& key, std::string& body) {
  CURL* c = curl_easy_init();
  std::string url = "http://127.0.0.1:" + std::to_string(port) + path;
  curl_slist* headers = nullptr;
  std::string h = "X-Octopus-ApiKey: " + key;
  if (!key.empty()) headers = curl_slist_append(headers, h.c_str());
  body.clear();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
  long status = 0;
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  return status;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

TEST_CASE(
    "the first start creates the data directory, keys readable by the owner only, and a working "
    "admin key",
    "[octomigd]") {
  temp_dir dir;
  auto data = dir.path / "data";
  std::string installation;
  {
    server_process d(data);
    for (const char* f : {"master.key", "admin-api-key"}) {
      struct stat st {};
      REQUIRE(stat((data / f).c_str(), &st) == 0);
      CHECK((st.st_mode & 0777) == 0600);
    }
    auto key = read_file(data / "admin-api-key");
    REQUIRE(key.rfind("API-", 0) == 0);
    CHECK(key.size() >= 4 + 26);
    CHECK(d.log.find(key) == std::string::npos);  // the log says where the key is, never the key
    CHECK(d.log.find("admin-api-key") != std::string::npos);
    std::string body;
    REQUIRE(get(d.port, "/api", "", body) == 200);
    installation = std::string(boost::json::parse(body).at("InstallationId").as_string());
    CHECK(get(d.port, "/api/tasks", key, body) == 200);
    CHECK(get(d.port, "/api/tasks", "", body) == 401);
    CHECK(d.stop(SIGTERM) == 0);
    CHECK(d.log.find("stopped cleanly") != std::string::npos);
  }
  SECTION("a later start reuses the installation id and the keys") {
    auto key_before = read_file(data / "admin-api-key");
    server_process d(data);
    CHECK(d.log.find("created an admin API key") == std::string::npos);
    std::string body;
    REQUIRE(get(d.port, "/api", "", body) == 200);
    CHECK(std::string(boost::json::parse(body).at("InstallationId").as_string()) == installation);
    CHECK(read_file(data / "admin-api-key") == key_before);
    CHECK(get(d.port, "/api/tasks", key_before, body) == 200);
    CHECK(d.stop(SIGINT) == 0);
  }
}

TEST_CASE("octomigd documents its flags and refuses bad ones", "[octomigd]") {
  auto run = [](std::vector<std::string> args, std::string& out) {
    std::string cmd = std::string(OCTOMIGD);
    for (auto& a : args) cmd += " '" + a + "'";
    cmd += " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    char buf[4096];
    std::size_t n;
    out.clear();
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  std::string out;
  CHECK(run({"--help"}, out) == 0);
  for (const char* flag : {"--data-dir", "--listen", "--threads", "--log-level", "OCTOMIG_DATA_DIR",
                           "OCTOMIG_LISTEN", "OCTOMIG_THREADS", "OCTOMIG_LOG_LEVEL"})
    CHECK(out.find(flag) != std::string::npos);
  CHECK(run({"--threads", "zero"}, out) == 2);
  CHECK(run({"--log-level", "loud"}, out) == 2);
  CHECK(run({"--no-such-flag"}, out) == 2);
}

TEST_CASE("octomigd refuses to start a second time on the same data directory", "[octomigd]") {
  temp_dir dir;
  server_process first(dir.path);
  std::string cmd =
      std::string(OCTOMIGD) + " --data-dir '" + dir.path.string() + "' --listen 127.0.0.1:0 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  std::string out;
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);
  CHECK(out.find("cannot open the store") != std::string::npos);
  CHECK(first.stop() == 0);
}
