// octomig as a process against real octomigd processes on 127.0.0.1 (a seeded source, an empty
// destination): usage errors and exit codes, the refusal to import without a terminal, export,
// task wait/show/log, the progress line under a pseudo-terminal, migrate end to end, and no key
// or password in anything it prints.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "tests/server/process.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace octomig::server_test;
using namespace std::chrono_literals;

namespace {

constexpr auto kRunLimit = 120s;
const std::string kPassword = "Correct-Horse-Battery-9";
const char* const kSecretVariables[] = {"OCTOMIG_SOURCE_API_KEY", "OCTOMIG_DEST_API_KEY",
                                        "OCTOMIG_API_KEY", "OCTOMIG_PASSWORD"};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::size_t count_of(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

struct cli_result {
  int code = -1;
  std::string out;  // stdout (under a pseudo-terminal: everything the terminal received)
  std::string err;  // stderr
  std::string all() const { return out + err; }
};

// In a forked child, before exec: no secret of this process's environment leaks in, then env.
void child_environment(const env_vars& env) {
  for (const char* name : kSecretVariables) unsetenv(name);
  for (const auto& [name, value] : env) {
    if (value.empty())
      unsetenv(name.c_str());
    else
      setenv(name.c_str(), value.c_str(), 1);
  }
}

std::vector<std::string> cli_args(std::vector<std::string> args) {
  args.insert(args.begin(), OCTOMIG_CLI);
  return args;
}

// Runs octomig with stdin on /dev/null (no terminal), stdout and stderr kept apart; bounded.
cli_result run_cli(const std::vector<std::string>& args, const env_vars& env = {}) {
  int out_fds[2], err_fds[2];
  REQUIRE(pipe(out_fds) == 0);
  REQUIRE(pipe(err_fds) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(out_fds[1], 1);
    dup2(err_fds[1], 2);
    close(out_fds[0]);
    close(err_fds[0]);
    child_environment(env);
    exec_args(cli_args(args));
  }
  close(out_fds[1]);
  close(err_fds[1]);
  cli_result r;
  const auto deadline = clock_type::now() + kRunLimit;
  read_until_closed(out_fds[0], err_fds[0], deadline, r.out, r.err);
  auto code = reap(pid, deadline);
  if (!code) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    FAIL("octomig did not finish within 120 s; its output:\n" << r.all());
  }
  r.code = *code;
  return r;
}

// Runs octomig on a pseudo-terminal (stdin, stdout and stderr): out holds what the terminal got.
// When answer is not empty, it is typed once the question "[y/N]" has appeared. Bounded.
cli_result run_in_pty(const std::vector<std::string>& args, const env_vars& env = {},
                      const std::string& answer = "") {
  int master = -1;
  winsize size{};
  size.ws_col = 100;
  size.ws_row = 30;
  pid_t pid = forkpty(&master, nullptr, nullptr, &size);
  REQUIRE(pid >= 0);
  if (pid == 0) {
    child_environment(env);
    exec_args(cli_args(args));
  }
  cli_result r;
  const auto deadline = clock_type::now() + kRunLimit;
  bool answered = answer.empty();
  while (clock_type::now() < deadline) {
    pollfd p{master, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    ssize_t n = read(master, buf, sizeof buf);
    if (n <= 0) break;  // EIO: the terminal's other side is closed, octomig has ended
    r.out.append(buf, static_cast<std::size_t>(n));
    if (!answered && contains(r.out, "[y/N] ")) {
      const std::string line = answer + "\n";
      REQUIRE(write(master, line.data(), line.size()) == static_cast<ssize_t>(line.size()));
      answered = true;
    }
  }
  close(master);
  auto code = reap(pid, deadline);
  if (!code) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    FAIL("octomig did not finish within 120 s on its terminal; it showed:\n" << r.out);
  }
  r.code = *code;
  return r;
}

json::object object_of(const std::string& text) {
  INFO("JSON: " << text);
  json::error_code ec;
  auto v = json::parse(text, ec);
  REQUIRE_FALSE(ec);
  REQUIRE(v.is_object());
  return v.as_object();
}

std::string text_of(const json::object& o, const char* field) {
  auto* v = o.if_contains(field);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// A port on 127.0.0.1 that refuses connections for as long as this object lives: bound, never
// listening.
struct refusing_port {
  int fd = -1;
  int port = 0;
  refusing_port() {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port = ntohs(a.sin_port);
  }
  ~refusing_port() { close(fd); }
};

// A data directory (seeded with three projects, or empty) and octomigd on it, with cheap key
// derivation and retries.
class instance {
 public:
  instance(const char* prefix, bool seeded, const env_vars& extra = {})
      : dir_(prefix), data_(dir_.path / "data") {
    if (seeded) {
      auto r = run_tool(data_, {"seed", "--projects", "3", "--releases", "1", "--deployments", "1",
                                "--log-lines", "3"});
      INFO("octomig-admin seed: " << r.all());
      REQUIRE(r.code == 0);
    }
    env_vars env{{"OCTOMIG_TEST_FAST_KDF", "1"},
                 {"OCTOMIG_TEST_FAST_RETRIES", "1"},
                 {"OCTOMIG_TEST_PAUSE_IN_STEP", ""},
                 {"OCTOMIG_TEST_PACKAGE_WRITE_LIMIT", ""}};
    env.insert(env.end(), extra.begin(), extra.end());
    proc_ = std::make_unique<server_process>(data_, std::vector<std::string>{}, env);
    INFO("octomigd's log:\n" << proc_->log);
    REQUIRE(proc_->started);
    key_ = read_file(data_ / "admin-api-key");
    REQUIRE(key_.rfind("API-", 0) == 0);
  }

  const std::string& key() const { return key_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(proc_->port); }
  int port() const { return proc_->port; }
  std::string log() {
    proc_->pump(0ms);
    return proc_->log;
  }

  json::object get(const std::string& path) {
    proc_->pump(0ms);
    auto r = http_call(proc_->port, "GET", path, key_);
    INFO("GET " << path << ": " << r.status << " " << r.body);
    REQUIRE(r.status == 200);
    return object_of(r.body);
  }
  // The packages of the built-in feed, as "Id Version".
  std::vector<std::string> packages() {
    std::vector<std::string> out;
    const auto list = get("/api/Spaces-1/packages");
    for (const auto& p : list.at("Items").as_array())
      out.push_back(text_of(p.as_object(), "PackageId") + " " + text_of(p.as_object(), "Version"));
    return out;
  }
  std::int64_t count(const std::string& path) {
    return get(path).at("TotalResults").to_number<std::int64_t>();
  }
  std::int64_t exports() { return count("/api/tasks?name=MigrationPartialExport"); }
  std::int64_t projects() { return count("/api/Spaces-1/projects"); }

 private:
  temp_dir dir_;
  fs::path data_;
  std::string key_;
  std::unique_ptr<server_process> proc_;
};

// Two servers, the secrets in files and in variables, and octomig runs that never show them.
class migration_pair {
 public:
  explicit migration_pair(const env_vars& source_env = {})
      : files_("octomig-cli-secrets"),
        source_("octomig-cli-source", true, source_env),
        dest_("octomig-cli-dest", false) {
    write_secret("source-key", source_.key() + "\n");
    write_secret("dest-key", dest_.key() + "\n");
    write_secret("password", kPassword + "\n");
  }

  instance& source() { return source_; }
  instance& dest() { return dest_; }
  std::string file(const char* name) const { return (files_.path / name).string(); }
  // Every secret in the environment, for runs that take them from there.
  env_vars secret_env() const {
    return {{"OCTOMIG_SOURCE_API_KEY", source_.key()},
            {"OCTOMIG_DEST_API_KEY", dest_.key()},
            {"OCTOMIG_PASSWORD", kPassword}};
  }

  cli_result run(const std::vector<std::string>& args, const env_vars& env = {}) {
    auto r = run_cli(args, env);
    check_no_secret(r);
    return r;
  }
  cli_result run_on_terminal(const std::vector<std::string>& args, const env_vars& env = {},
                             const std::string& answer = "") {
    auto r = run_in_pty(args, env, answer);
    check_no_secret(r);
    return r;
  }

  void check_no_secret(const cli_result& r) const {
    // Not printed on failure: the output is the subject.
    for (const auto* s : {&source_.key(), &dest_.key(), &kPassword}) {
      INFO("octomig showed a secret (exit " << r.code << ")");
      CHECK_FALSE(contains(r.all(), *s));
    }
  }

 private:
  void write_secret(const char* name, const std::string& value) {
    const auto path = files_.path / name;
    std::ofstream(path) << value;
    REQUIRE(chmod(path.c_str(), 0600) == 0);
  }

  temp_dir files_;
  instance source_;
  instance dest_;
};

std::string task_id_in(const std::string& text) {
  std::smatch m;
  REQUIRE(std::regex_search(text, m, std::regex("ServerTasks-[0-9]+")));
  return m.str();
}

}  // namespace

// ---- usage and exit codes ----

TEST_CASE("--help lists the commands, the exit codes and the environment variables", "[cli]") {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--help"},
                                               {"migrate", "--help"},
                                               {"export", "--help"},
                                               {"import", "--help"},
                                               {"task", "wait", "--help"},
                                               {"task", "log", "-h"}}) {
    auto r = run_cli(args);
    INFO(r.all());
    CHECK(r.code == 0);
    CHECK(r.err.empty());
    for (const char* part : {"exit codes:", "  0  success", "  1  a task failed", "  2  bad usage",
                             "  3  a server", "  4  the question", "OCTOMIG_SOURCE_API_KEY",
                             "OCTOMIG_DEST_API_KEY", "OCTOMIG_API_KEY", "OCTOMIG_PASSWORD"})
      CHECK(contains(r.out, part));
  }
  auto general = run_cli({"--help"});
  for (const char* command : {"migrate", "export", "import", "task wait", "task show", "task log"})
    CHECK(contains(general.out, command));
  CHECK(contains(run_cli({"migrate", "--help"}).out, "--dry-run-only"));
}

TEST_CASE("bad usage exits 2 with what is wrong and nothing on stdout", "[cli]") {
  struct bad {
    std::vector<std::string> args;
    const char* says;
  };
  const std::vector<bad> cases = {
      {{}, "no command given"},
      {{"frobnicate"}, "unknown command 'frobnicate'"},
      {{"export", "--source", "http://127.0.0.1:1", "--project", "P", "--frob"},
       "unknown option --frob"},
      {{"export", "--project", "P", "--source"}, "--source needs a value"},
      {{"migrate", "--source", "http://127.0.0.1:1", "--dest", "http://127.0.0.1:1"},
       "missing --project"},
      {{"import", "--dest", "127.0.0.1:1", "--package-id", "P", "--package-version", "1.0.0"},
       "http:// or https://"},
      {{"task", "show", "ServerTasks-x", "--server", "http://127.0.0.1:1"}, "task id"},
      {{"task", "wait", "ServerTasks-1", "--server", "http://127.0.0.1:1", "--timeout", "-5"},
       "--timeout"},
      {{"migrate", "--password", "Hunter2-Secret"}, "--password-file"},
      {{"export", "--source", "http://admin:Hunter2-Secret@127.0.0.1:1", "--project", "P"},
       "credentials"},
  };
  for (const auto& c : cases) {
    auto r = run_cli(c.args);
    INFO("octomig " << [&] {
      std::string s;
      for (const auto& a : c.args) s += a + " ";
      return s;
    }() << "\n" << r.all());
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK(contains(r.err, c.says));
    CHECK_FALSE(contains(r.err, "Hunter2-Secret"));
  }
}

TEST_CASE("a missing key or password exits 2 naming where it was looked for", "[cli]") {
  temp_dir files("octomig-cli-keys");
  const auto empty_file = (files.path / "empty").string();
  std::ofstream(empty_file) << "\n";
  const std::vector<std::string> task{"task", "show", "ServerTasks-1", "--server",
                                      "http://127.0.0.1:1"};

  auto r = run_cli(task);
  CHECK(r.code == 2);
  CHECK(contains(r.err, "OCTOMIG_API_KEY or OCTOMIG_DEST_API_KEY"));

  auto with_file = task;
  with_file.insert(with_file.end(), {"--api-key-file", empty_file});
  r = run_cli(with_file);
  CHECK(r.code == 2);
  CHECK(contains(r.err, "is empty"));

  with_file.back() = (files.path / "missing").string();
  r = run_cli(with_file);
  CHECK(r.code == 2);
  CHECK(contains(r.err, "cannot read"));

  // The keys are there, the password is not.
  r = run_cli({"export", "--source", "http://127.0.0.1:1", "--project", "P"},
              {{"OCTOMIG_SOURCE_API_KEY", "API-NOTAKEY"}});
  CHECK(r.code == 2);
  CHECK(contains(r.err, "--password-file F or set OCTOMIG_PASSWORD"));
  CHECK_FALSE(contains(r.all(), "API-NOTAKEY"));
}

TEST_CASE("an unreachable server, a refused key and a TLS failure exit 3", "[cli]") {
  refusing_port closed;
  const env_vars key{{"OCTOMIG_API_KEY", "API-WRONGKEY0000000000000000"}};
  auto r = run_cli({"task", "show", "ServerTasks-1", "--server",
                    "http://127.0.0.1:" + std::to_string(closed.port)},
                   key);
  INFO(r.all());
  CHECK(r.code == 3);
  CHECK(contains(r.err, "did not answer GET /api/tasks/ServerTasks-1"));

  instance server("octomig-cli-server", false);
  r = run_cli({"task", "show", "ServerTasks-1", "--server", server.url()}, key);
  INFO(r.all());
  CHECK(r.code == 3);
  CHECK(contains(r.err, "refused its API key"));
  CHECK(contains(r.err, "(401)"));
  CHECK_FALSE(contains(r.all(), "API-WRONGKEY"));

  // https to a server that speaks plain HTTP: the handshake fails.
  r = run_cli({"task", "show", "ServerTasks-1", "--server",
               "https://127.0.0.1:" + std::to_string(server.port())},
              key);
  INFO(r.all());
  CHECK(r.code == 3);
  CHECK(contains(r.err, "TLS"));

  // A task that does not exist: the server answers 404, a refused request.
  r = run_cli({"task", "show", "ServerTasks-999", "--server", server.url(), "--json"},
              {{"OCTOMIG_API_KEY", server.key()}});
  INFO(r.all());
  CHECK(r.code == 2);
  auto report = object_of(r.out);
  CHECK(report.at("ExitCode").to_number<int>() == 2);
  CHECK(contains(text_of(report, "Error"), "(404)"));
}

TEST_CASE("a request the server refuses with 400 exits 2 with its errors", "[cli]") {
  migration_pair servers;
  auto r = servers.run({"export", "--source", servers.source().url(), "--project", "Web Portal",
                        "No Such Project", "Nor This One"},
                       servers.secret_env());
  INFO(r.all());
  CHECK(r.code == 2);
  CHECK(contains(r.err, "(400)"));
  CHECK(contains(r.err, "  - The project 'No Such Project' does not exist"));
  CHECK(contains(r.err, "  - The project 'Nor This One' does not exist"));
  CHECK(servers.source().exports() == 0);
}

// ---- migrate's question ----

TEST_CASE("migrate refuses to start without a terminal and without --yes", "[cli]") {
  migration_pair servers;
  auto r = servers.run({"migrate", "--source", servers.source().url(), "--dest",
                        servers.dest().url(), "--project", "Web Portal", "--source-api-key-file",
                        servers.file("source-key"), "--dest-api-key-file", servers.file("dest-key"),
                        "--password-file", servers.file("password")});
  INFO(r.all());
  CHECK(r.code == 2);
  CHECK(contains(r.err, "pass --yes"));
  CHECK(r.out.empty());
  // Nothing was exported: the source has no export task, the destination no package.
  CHECK(servers.source().exports() == 0);
  CHECK(servers.dest().packages().empty());
}

// ---- export and tasks ----

TEST_CASE("export pushes a package from one real server to another and prints its ids", "[cli]") {
  migration_pair servers;
  auto r = servers.run({"export", "--source", servers.source().url() + "/api/", "--project",
                        "Web Portal", "--project", "Order API", "--dest", servers.dest().url(),
                        "--package-version", "1.0.0-clitest", "--encrypt", "--api-key-file",
                        servers.file("source-key"), "--dest-api-key-file", servers.file("dest-key"),
                        "--password-file", servers.file("password")});
  INFO(r.all() << "\nsource's log:\n" << servers.source().log());
  REQUIRE(r.code == 0);
  const auto id = task_id_in(r.out);
  CHECK(contains(r.out, "TaskId          " + id + "\n"));
  CHECK(contains(r.out, "PackageId       Octopus.Space.Migration\n"));
  CHECK(contains(r.out, "PackageVersion  1.0.0-clitest\n"));
  CHECK(servers.dest().packages() ==
        std::vector<std::string>{"Octopus.Space.Migration 1.0.0-clitest"});
  // Without a terminal: plain progress lines, no control characters, the final state last.
  CHECK(contains(r.err, "export " + id + "  Success  00:00:"));
  CHECK_FALSE(contains(r.err, "\r"));
  CHECK_FALSE(contains(r.err, "\x1b"));
  auto task = servers.source().get("/api/tasks/" + id);
  CHECK(text_of(task, "State") == "Success");
  CHECK(task.at("Arguments").as_object().at("EncryptPackage").as_bool());
}

TEST_CASE("export --json prints one JSON object, and without --dest the source keeps the package",
          "[cli]") {
  migration_pair servers;
  auto r = servers.run(
      {"export", "--source", servers.source().url(), "--project", "Inventory Service", "--json"},
      servers.secret_env());
  INFO(r.all());
  REQUIRE(r.code == 0);
  auto report = object_of(r.out);
  CHECK(text_of(report, "Command") == "export");
  CHECK(text_of(report, "PackageId") == "Octopus.Space.Migration");
  const auto version = text_of(report, "PackageVersion");
  CHECK(std::regex_match(version, std::regex("1\\.0\\.0-[a-z]{8}")));
  CHECK(report.at("Destination").is_null());
  CHECK(report.at("ExitCode").to_number<int>() == 0);
  CHECK(report.at("Error").is_null());
  const auto& tasks = report.at("Tasks").as_array();
  REQUIRE(tasks.size() == 1);
  CHECK(text_of(tasks[0].as_object(), "State") == "Success");
  CHECK(text_of(tasks[0].as_object(), "TaskId") == text_of(report, "TaskId"));
  CHECK(servers.source().packages() ==
        std::vector<std::string>{"Octopus.Space.Migration " + version});
  CHECK(servers.dest().packages().empty());
}

TEST_CASE("task wait, show and log follow a real task", "[cli]") {
  migration_pair servers;
  auto exported = servers.run({"export", "--source", servers.source().url(), "--project",
                               "Web Portal", "--package-version", "2.0.0"},
                              servers.secret_env());
  INFO(exported.all());
  REQUIRE(exported.code == 0);
  const auto id = task_id_in(exported.out);
  const env_vars key{{"OCTOMIG_API_KEY", servers.source().key()}};
  const std::string url = servers.source().url();

  auto wait = servers.run({"task", "wait", id, "--server", url}, key);
  INFO(wait.all());
  CHECK(wait.code == 0);
  CHECK(wait.out == id + "  Success\n");

  auto show = servers.run({"task", "show", id, "--server", url}, key);
  INFO(show.all());
  CHECK(show.code == 0);
  CHECK(contains(show.out, "Id                  " + id + "\n"));
  CHECK(contains(show.out, "Name                MigrationPartialExport\n"));
  CHECK(contains(show.out, "State               Success\n"));
  CHECK(contains(show.out, "ErrorMessage        -\n"));

  auto shown = servers.run({"task", "show", id, "--server", url, "--json"}, key);
  auto task = object_of(shown.out).at("Task").as_object();
  CHECK(text_of(task, "State") == "Success");
  CHECK(task.at("IsCompleted").as_bool());

  auto log = servers.run({"task", "log", id, "--server", url}, key);
  INFO(log.all());
  CHECK(log.code == 0);
  CHECK(contains(log.out, "No destination was given: published Octopus.Space.Migration.2.0.0"));

  auto lines = servers.run({"task", "log", id, "--server", url, "--json"}, key);
  auto report = object_of(lines.out);
  const auto& all = report.at("Lines").as_array();
  REQUIRE_FALSE(all.empty());
  CHECK(text_of(all[0].as_object(), "Category") == "Info");
  CHECK_FALSE(text_of(all[0].as_object(), "OccurredAt").empty());
}

TEST_CASE("a task that fails exits 1 with its ErrorMessage", "[cli]") {
  migration_pair servers;
  // The destination refuses the key the source pushes with, so the export's last step fails.
  temp_dir files("octomig-cli-wrong");
  const auto wrong = (files.path / "wrong-key").string();
  std::ofstream(wrong) << "API-NOTTHEDESTINATIONSKEY00000\n";
  auto r = servers.run({"export", "--source", servers.source().url(), "--project", "Web Portal",
                        "--dest", servers.dest().url(), "--dest-api-key-file", wrong},
                       servers.secret_env());
  INFO(r.all());
  CHECK(r.code == 1);
  const auto id = task_id_in(r.err);
  CHECK(contains(r.err, "export " + id + " ended Failed: "));
  CHECK(contains(r.err, "octomig task log " + id));
  CHECK_FALSE(contains(r.all(), "API-NOTTHEDESTINATIONSKEY"));

  auto wait = servers.run({"task", "wait", id, "--server", servers.source().url(), "--json"},
                          {{"OCTOMIG_API_KEY", servers.source().key()}});
  INFO(wait.all());
  CHECK(wait.code == 1);
  auto report = object_of(wait.out);
  CHECK(text_of(report, "State") == "Failed");
  CHECK_FALSE(text_of(report, "ErrorMessage").empty());
  CHECK(report.at("ExitCode").to_number<int>() == 1);
}

TEST_CASE("on a terminal the progress line is rewritten in place until the final state", "[cli]") {
  // The source pauses in "Build package" for 1.5 s, so that the line is redrawn several times.
  migration_pair servers(env_vars{{"OCTOMIG_TEST_PAUSE_IN_STEP", "Build package:1500"}});
  auto r = servers.run_on_terminal({"export", "--source", servers.source().url(), "--project",
                                    "Web Portal", "--dest", servers.dest().url()},
                                   servers.secret_env());
  INFO(r.out);
  REQUIRE(r.code == 0);
  const auto id = task_id_in(r.out);
  // Each redraw returns to the start of the line and clears what was left of the last one.
  CHECK(count_of(r.out, "\rexport " + id + "  ") >= 3);
  CHECK(count_of(r.out, "\x1b[K") >= 3);
  CHECK(contains(r.out, "\rexport " + id + "  Executing  Paused for a test  00:00:0"));
  CHECK(contains(r.out, "\rexport " + id + "  Success  00:00:0"));
  CHECK(contains(r.out, "PackageVersion  1.0.0-"));
  CHECK(servers.dest().packages().size() == 1);
}

// ---- migrate end to end (needs POST /api/migrations/import on the destination) ----

TEST_CASE("migrate --dry-run-only shows the plan and imports nothing", "[cli][import]") {
  migration_pair servers;
  auto r = servers.run({"migrate", "--source", servers.source().url(), "--dest",
                        servers.dest().url(), "--project", "Web Portal", "--dry-run-only", "--json",
                        "--source-api-key-file", servers.file("source-key"), "--dest-api-key-file",
                        servers.file("dest-key"), "--password-file", servers.file("password")});
  INFO(r.all() << "\ndestination's log:\n" << servers.dest().log());
  REQUIRE(r.code == 0);
  auto report = object_of(r.out);
  CHECK(report.at("Import").is_null());
  const auto& plan = report.at("Plan").as_object();
  CHECK(plan.at("DryRun").as_bool());
  REQUIRE(plan.at("Totals").is_object());
  const auto& totals = plan.at("Totals").as_object();
  CHECK(totals.at("Create").to_number<std::int64_t>() > 0);
  CHECK(totals.at("Overwrite").to_number<std::int64_t>() == 0);
  CHECK(totals.at("Tasks").is_number());
  CHECK_FALSE(plan.at("Collections").as_array().empty());
  const auto& tasks = report.at("Tasks").as_array();
  REQUIRE(tasks.size() == 2);
  CHECK(text_of(tasks[1].as_object(), "Role") == "import (dry run)");
  CHECK(contains(r.err, "Nothing was imported (--dry-run-only)"));
  // Nothing was written; the package waits in the destination's feed.
  CHECK(servers.dest().projects() == 0);
  CHECK(servers.dest().packages().size() == 1);
}

TEST_CASE("migrate --yes exports, plans, imports and prints what it created", "[cli][import]") {
  migration_pair servers;
  auto r = servers.run({"migrate", "--source", servers.source().url(), "--dest",
                        servers.dest().url(), "--project", "Web Portal", "Order API", "--yes"},
                       servers.secret_env());
  INFO(r.all() << "\ndestination's log:\n" << servers.dest().log());
  REQUIRE(r.code == 0);
  CHECK(contains(r.out, "Exported Octopus.Space.Migration 1.0.0-"));
  CHECK(contains(r.out, "a dry run on " + servers.dest().url()));
  CHECK(std::regex_search(r.out, std::regex("\n     Project\\.+create 2, overwrite 0, skip 0\n")));
  CHECK(std::regex_search(r.out, std::regex("\nTotals: create [0-9]+, overwrite 0, skip [0-9]+")));
  CHECK(contains(r.out, "Imported into " + servers.dest().url()));
  CHECK(std::regex_search(r.out,
                          std::regex("\n     Project\\.+created 2, overwritten 0, skipped 0\n")));
  CHECK(std::regex_search(r.out,
                          std::regex("\nTotals: created [0-9]+, overwritten 0, skipped [0-9]+")));
  CHECK(servers.dest().projects() == 2);
  // DeletePackageOnCompletion: the feed is empty again.
  CHECK(servers.dest().packages().empty());
}

TEST_CASE("migrate asks on a terminal and a no imports nothing", "[cli][import]") {
  migration_pair servers;
  auto r = servers.run_on_terminal({"migrate", "--source", servers.source().url(), "--dest",
                                    servers.dest().url(), "--project", "Web Portal"},
                                   servers.secret_env(), "n");
  INFO(r.out);
  CHECK(r.code == 4);
  CHECK(contains(r.out, "Import into " + servers.dest().url() + "? [y/N] "));
  CHECK(contains(r.out, "nothing was imported"));
  CHECK(servers.dest().projects() == 0);
  CHECK(servers.dest().packages().size() == 1);
}
