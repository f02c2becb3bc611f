// octomigd as a process: first start, restart, clean shutdown on signals, flags.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include <curl/curl.h>
#include <boost/json.hpp>

#include "tests/server/process.hpp"

namespace fs = std::filesystem;
using namespace octomig::server_test;

namespace {

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

}  // namespace

TEST_CASE(
    "the first start creates the data directory, keys readable by the owner only, and a working "
    "admin key",
    "[octomigd]") {
  temp_dir dir("octomig-server");
  auto data = dir.path / "data";
  std::string installation;
  {
    server_process d(data);
    REQUIRE(d.started);
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
    REQUIRE(d.started);
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
  for (const char* flag :
       {"--data-dir", "--listen", "--threads", "--log-level", "--log-format", "--tls-cert",
        "--tls-key", "--listen-tls", "--header-timeout", "--idle-timeout", "--max-connections",
        "OCTOMIG_DATA_DIR", "OCTOMIG_LISTEN", "OCTOMIG_THREADS", "OCTOMIG_LOG_LEVEL",
        "OCTOMIG_LOG_FORMAT", "OCTOMIG_TLS_CERT", "OCTOMIG_MAX_CONNECTIONS"})
    CHECK(out.find(flag) != std::string::npos);
  CHECK(run({"--threads", "zero"}, out) == 2);
  CHECK(run({"--log-level", "loud"}, out) == 2);
  CHECK(run({"--log-format", "xml"}, out) == 2);
  CHECK(out.find("text or json") != std::string::npos);
  CHECK(run({"--header-timeout", "0"}, out) == 2);
  CHECK(run({"--max-connections", "many"}, out) == 2);
  CHECK(run({"--tls-cert", "server.pem"}, out) == 2);  // no key
  CHECK(out.find("--tls-key") != std::string::npos);
  CHECK(run({"--no-such-flag"}, out) == 2);
}

TEST_CASE("octomigd --log-format json writes one JSON object a line", "[octomigd]") {
  temp_dir dir("octomig-logformat");
  server_process d(dir.path / "data", {"--log-format", "json"});
  REQUIRE(d.started);
  std::string body;
  REQUIRE(get(d.port, "/api", "", body) == 200);
  REQUIRE(d.stop(SIGTERM) == 0);
  std::size_t lines = 0;
  std::size_t from = 0;
  for (auto nl = d.log.find('\n'); nl != std::string::npos; nl = d.log.find('\n', from)) {
    auto line = d.log.substr(from, nl - from);
    from = nl + 1;
    INFO(line);
    boost::json::error_code ec;
    auto v = boost::json::parse(line, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(v.is_object());
    CHECK(v.as_object().at("level").is_string());
    CHECK(v.as_object().at("time").is_string());
    CHECK(v.as_object().at("message").is_string());
    ++lines;
  }
  CHECK(lines >= 3);  // listening, shutting down, stopped cleanly
  CHECK(d.log.find("listening on http://127.0.0.1:") != std::string::npos);
}

TEST_CASE("octomigd refuses to start a second time on the same data directory", "[octomigd]") {
  temp_dir dir("octomig-server");
  server_process first(dir.path);
  REQUIRE(first.started);
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
