// Tests of octomig-admin: the real binary runs against stores built here with the storage API, in a
// fresh temporary directory per test. A store this process keeps open read_write stands in for a
// running server. Every wait on the child is bounded and fails with a message; nothing sleeps.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "events/json.hpp"
#include "events/time_format.hpp"
#include "migration/schema.hpp"
#include "package/package.hpp"
#include "storage/data_dir.hpp"
#include "storage/documents.hpp"
#include "storage/keys.hpp"
#include "storage/store.hpp"
#include "tests/support/must.hpp"
#include "tests/support/temp_dir.hpp"

extern char** environ;

namespace {

using namespace octomig;
namespace json = boost::json;
using namespace std::chrono_literals;

constexpr auto run_limit = 20s;     // one admin command, start to exit
constexpr auto follow_limit = 10s;  // one expected line from --follow

// ---- running the binary ----

// octomig-admin as a child process with its stdout and stderr on pipes.
class admin_process {
 public:
  // env_data_dir: the value of OCTOMIG_DATA_DIR for the child; empty: unset.
  explicit admin_process(const std::vector<std::string>& args,
                         const std::string& env_data_dir = {}) {
    int out[2], err[2];
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(err, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);

    std::vector<std::string> argv_s{OCTOMIG_ADMIN};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    // The child's environment is ours without OCTOMIG_DATA_DIR, so that tests are hermetic.
    std::vector<std::string> env_s;
    for (char** e = environ; *e; ++e)
      if (std::string(*e).rfind("OCTOMIG_DATA_DIR=", 0) != 0) env_s.emplace_back(*e);
    if (!env_data_dir.empty()) env_s.push_back("OCTOMIG_DATA_DIR=" + env_data_dir);
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);

    const int rc = posix_spawn(&pid_, OCTOMIG_ADMIN, &fa, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    ::close(out[1]);
    ::close(err[1]);
    out_fd_ = out[0];
    err_fd_ = err[0];
    REQUIRE(rc == 0);
  }

  ~admin_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) ::close(out_fd_);
    if (err_fd_ >= 0) ::close(err_fd_);
  }
  admin_process(const admin_process&) = delete;
  admin_process& operator=(const admin_process&) = delete;

  // Reads the pipes until done(stdout so far) holds, or both pipes are closed, or the limit passes.
  bool read_until(const std::function<bool(const std::string&)>& done,
                  std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done(out_)) {
      if (out_fd_ < 0 && err_fd_ < 0) return false;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd fds[2];
      nfds_t n = 0;
      for (int fd : {out_fd_, err_fd_})
        if (fd >= 0) fds[n++] = pollfd{fd, POLLIN, 0};
      if (::poll(fds, n, static_cast<int>(left.count())) < 0) return false;
      for (nfds_t i = 0; i < n; ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        int& fd = fds[i].fd == out_fd_ ? out_fd_ : err_fd_;
        std::string& sink = fds[i].fd == out_fd_ ? out_ : err_;
        char buf[65536];
        ssize_t got = ::read(fd, buf, sizeof buf);
        if (got > 0) {
          sink.append(buf, static_cast<std::size_t>(got));
        } else {
          ::close(fd);
          fd = -1;
        }
      }
    }
    return true;
  }

  void signal(int sig) { ::kill(pid_, sig); }

  // Reads both pipes to their end and reaps the child: its exit code, or 128 + the signal.
  int finish(std::chrono::milliseconds limit) {
    bool ended =
        read_until([this](const std::string&) { return out_fd_ < 0 && err_fd_ < 0; }, limit);
    INFO("stdout so far: " << out_ << "\nstderr so far: " << err_);
    if (!ended) FAIL("octomig-admin did not finish within " << limit.count() << " ms");
    int status = 0;
    REQUIRE(::waitpid(pid_, &status, 0) == pid_);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1, err_fd_ = -1;
  std::string out_, err_;
};

struct run_result {
  int code;
  std::string out, err;
};

run_result run_admin(const std::vector<std::string>& args, const std::string& env_data_dir = {}) {
  admin_process p(args, env_data_dir);
  int code = p.finish(run_limit);
  return {code, p.out(), p.err()};
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The global position an event line starts with.
std::uint64_t position_of(const std::string& line) {
  return std::stoull(line);
}

// ---- the sample store ----

constexpr events::timestamp_us t0 = 1'700'000'000'000'000;  // 2023-11-14T22:13:20Z

// A data directory whose store holds a bootstrap admin key (position 1), a task that succeeded
// (ServerTasks-1, positions 2-7) and a task canceled while queued (ServerTasks-2, positions 8-10).
// `server` is the store open read_write: while it is set, the server counts as running.
struct sample_data {
  octomig::testing::temp_dir tmp{"octomig-admin-test"};
  storage::data_dir dir{tmp.path() / "data"};
  std::string master_key;
  std::unique_ptr<storage::store> server;
  static constexpr std::uint64_t event_count = 10;

  sample_data() {
    REQUIRE(storage::ensure_layout(dir).ok());
    auto mk = storage::load_or_create_master_key(dir);
    REQUIRE(mk.ok());
    master_key = *mk;
    start_server();
    REQUIRE(storage::bootstrap(*server, dir, master_key, t0).ok());
    append(
        "ServerTasks-1", 0,
        {events::task_queued{"MigrationPartialExport", "Export Projects-1", "Spaces-1",
                             R"({"PackageId":"export-1","Password":"[redacted]"})", 0},
         events::task_started{"node-1"}, events::step_started{"Collect documents"},
         events::step_finished{"Collect documents", "12 documents"},
         events::warning_raised{"Project Projects-1 has no lifecycle"}, events::task_succeeded{}},
        t0 + 1'000'000);
    append("ServerTasks-2", 0,
           {events::task_queued{"MigrationImport", "Import export-1", "Spaces-1", "{}", 0},
            events::task_cancel_requested{"admin"}, events::task_canceled{}},
           t0 + 60'000'000);
    REQUIRE(server->last_position() == event_count);
  }

  void start_server() {
    storage::options o;
    o.db_dir = dir.db();
    auto st = storage::store::open(o);
    INFO((st ? std::string() : st.err().message));
    REQUIRE(st.ok());
    server = std::move(st.value());
  }
  void stop_server() { server.reset(); }

  void append(const std::string& stream, std::uint64_t expected,
              std::vector<events::event_body> bodies, events::timestamp_us at) {
    storage::append_request r{stream, expected, std::move(bodies), at};
    auto a = server->append(r);
    INFO((a ? std::string() : a.err().message));
    REQUIRE(a.ok());
  }

  std::vector<events::envelope> all_events() const {
    auto evs = server->read(1, 1000);
    REQUIRE(evs.ok());
    return *evs;
  }

  std::vector<std::string> args(std::vector<std::string> command) const {
    command.insert(command.begin(), {"--data-dir", dir.root.string()});
    return command;
  }
};

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("events lists every event with its position, time, stream, type and summary", "[admin]") {
  sample_data d;
  auto r = run_admin(d.args({"events"}));
  INFO(r.err);
  REQUIRE(r.code == 0);
  auto lines = lines_of(r.out);
  auto evs = d.all_events();
  REQUIRE(lines.size() == evs.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    INFO(lines[i]);
    CHECK(position_of(lines[i]) == evs[i].position);
    CHECK(contains(lines[i], events::octopus_date(evs[i].timestamp)));
    CHECK(contains(lines[i], evs[i].stream));
    CHECK(contains(lines[i], events::type_name(evs[i].body)));
    CHECK(contains(lines[i], events::summary(evs[i].body)));
  }
  CHECK(contains(lines[1], "Name=MigrationPartialExport"));
  CHECK(r.err.empty());
}

TEST_CASE("events filters by stream, type, start position and count", "[admin]") {
  sample_data d;

  auto by_stream = run_admin(d.args({"events", "--stream", "ServerTasks-2"}));
  REQUIRE(by_stream.code == 0);
  auto lines = lines_of(by_stream.out);
  REQUIRE(lines.size() == 3);
  for (const auto& l : lines) CHECK(contains(l, "ServerTasks-2"));

  auto by_type = run_admin(d.args({"events", "--type", "task_queued"}));
  REQUIRE(by_type.code == 0);
  lines = lines_of(by_type.out);
  REQUIRE(lines.size() == 2);
  CHECK(position_of(lines[0]) == 2);
  CHECK(position_of(lines[1]) == 8);

  auto window = run_admin(d.args({"events", "--from", "5", "--limit", "3"}));
  REQUIRE(window.code == 0);
  lines = lines_of(window.out);
  REQUIRE(lines.size() == 3);
  CHECK(position_of(lines[0]) == 5);
  CHECK(position_of(lines[2]) == 7);

  auto both = run_admin(d.args({"events", "--stream=ServerTasks-1", "--type=task_succeeded"}));
  REQUIRE(both.code == 0);
  lines = lines_of(both.out);
  REQUIRE(lines.size() == 1);
  CHECK(position_of(lines[0]) == 7);
}

TEST_CASE("events --json prints each event as the engine's to_json, one object per line",
          "[admin]") {
  sample_data d;
  auto r = run_admin(d.args({"events", "--json"}));
  REQUIRE(r.code == 0);
  auto lines = lines_of(r.out);
  auto evs = d.all_events();
  REQUIRE(lines.size() == evs.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    INFO(lines[i]);
    json::error_code ec;
    json::value v = json::parse(lines[i], ec);
    REQUIRE_FALSE(ec);
    CHECK(v == json::value(events::to_json(evs[i])));
  }
}

TEST_CASE("task prints the projected state as text and as JSON", "[admin]") {
  sample_data d;
  auto text = run_admin(d.args({"task", "ServerTasks-1"}));
  INFO(text.err);
  REQUIRE(text.code == 0);
  CHECK(std::regex_search(text.out, std::regex(R"(\nState +Success\n)")));
  CHECK(std::regex_search(text.out, std::regex(R"(\nHasWarningsOrErrors +true\n)")));
  CHECK(contains(text.out, "ServerTasks-1"));

  auto as_json = run_admin(d.args({"task", "ServerTasks-1", "--json"}));
  REQUIRE(as_json.code == 0);
  json::error_code ec;
  json::value v = json::parse(as_json.out, ec);
  REQUIRE_FALSE(ec);
  auto stored = d.server->task("ServerTasks-1");
  REQUIRE(stored.ok());
  // A completed task's view does not depend on the clock.
  CHECK(v == json::value(events::to_json(*stored, t0)));
}

TEST_CASE("task --history replays the stream and shows the state after each event", "[admin]") {
  sample_data d;
  auto text = run_admin(d.args({"task", "ServerTasks-1", "--history"}));
  INFO(text.err);
  REQUIRE(text.code == 0);
  CHECK(text.err.empty());  // the replay agrees with the stored projection
  std::vector<std::string> states;
  std::smatch m;
  for (const auto& line : lines_of(text.out))
    if (std::regex_search(line, m, std::regex(R"(state=(\w+) version=(\d+))")))
      states.push_back(m[1]);
  CHECK(states == std::vector<std::string>{"Queued", "Executing", "Executing", "Executing",
                                           "Executing", "Success"});
  CHECK(contains(text.out, "step=Collect documents"));

  auto as_json = run_admin(d.args({"task", "ServerTasks-2", "--history", "--json"}));
  REQUIRE(as_json.code == 0);
  auto lines = lines_of(as_json.out);
  REQUIRE(lines.size() == 3);
  std::vector<std::string> json_states;
  for (const auto& l : lines) {
    json::error_code ec;
    auto v = json::parse(l, ec);
    REQUIRE_FALSE(ec);
    json_states.emplace_back(v.at("Task").at("State").as_string());
    CHECK(v.at("Event").at("Stream") == "ServerTasks-2");
  }
  CHECK(json_states == std::vector<std::string>{"Queued", "Queued", "Canceled"});
}

TEST_CASE("an unknown task is reported on stderr with exit code 1", "[admin]") {
  sample_data d;
  for (auto args : {std::vector<std::string>{"task", "ServerTasks-99"},
                    std::vector<std::string>{"task", "ServerTasks-99", "--history"}}) {
    auto r = run_admin(d.args(args));
    CHECK(r.code == 1);
    CHECK(r.out.empty());
    CHECK(contains(r.err, "ServerTasks-99"));
  }
}

TEST_CASE("projections verify passes on a sound store, and rebuild repairs a damaged one",
          "[admin]") {
  sample_data d;
  auto sound = run_admin(d.args({"projections", "verify"}));
  INFO(sound.out << sound.err);
  REQUIRE(sound.code == 0);
  CHECK(contains(sound.out, "replayed 10 events"));
  CHECK(contains(sound.out, "match"));

  // Damage the read model: a checkpoint behind the log.
  std::string behind;
  storage::keys::put_u64(behind, 3);
  REQUIRE(d.server->put_meta(storage::keys::meta_checkpoint, behind).ok());
  auto damaged = run_admin(d.args({"projections", "verify"}));
  INFO(damaged.out << damaged.err);
  CHECK(damaged.code == 1);
  CHECK(contains(damaged.out, "difference: meta: checkpoint is 3"));
  CHECK(contains(damaged.err, "projections rebuild"));

  d.stop_server();
  auto rebuilt = run_admin(d.args({"projections", "rebuild"}));
  INFO(rebuilt.out << rebuilt.err);
  REQUIRE(rebuilt.code == 0);
  CHECK(contains(rebuilt.out, "from 10 events"));
  auto again = run_admin(d.args({"projections", "verify"}));
  INFO(again.out << again.err);
  CHECK(again.code == 0);
}

TEST_CASE("apikeys create prints only the new key, which the store accepts with its role",
          "[admin]") {
  sample_data d;
  d.stop_server();
  auto admin = run_admin(d.args({"apikeys", "create", "--name", "ci", "--admin"}));
  INFO(admin.err);
  REQUIRE(admin.code == 0);
  REQUIRE(std::regex_match(admin.out, std::regex("API-[A-Z0-9]{28}\n")));
  CHECK(admin.err.empty());
  auto user = run_admin(d.args({"apikeys", "create", "--name", "reader"}));
  REQUIRE(user.code == 0);
  auto taken = run_admin(d.args({"apikeys", "create", "--name", "ci"}));
  CHECK(taken.code == 1);
  CHECK(taken.out.empty());
  CHECK(contains(taken.err, "already exists"));

  d.start_server();
  auto key_of = [](const std::string& out) { return out.substr(0, out.size() - 1); };
  auto ci = testing::must(
      d.server->api_key_by_hash(storage::hash_api_key(key_of(admin.out), d.master_key)));
  REQUIRE(ci);
  CHECK(ci->name == "ci");
  CHECK(ci->role == "admin");
  auto reader = testing::must(
      d.server->api_key_by_hash(storage::hash_api_key(key_of(user.out), d.master_key)));
  REQUIRE(reader);
  CHECK(reader->role == "user");
}

TEST_CASE("apikeys list shows name, role and creation date but never a key or a hash", "[admin]") {
  sample_data d;
  d.stop_server();
  auto created = run_admin(d.args({"apikeys", "create", "--name", "ci"}));
  REQUIRE(created.code == 0);
  const std::string bootstrap_key = read_file(d.dir.admin_key_file());

  auto r = run_admin(d.args({"apikeys", "list"}));
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 3);  // header, admin, ci
  CHECK(std::regex_search(
      lines[1], std::regex("^admin +admin +Users-1 +" + events::octopus_date(t0).substr(0, 19))));
  CHECK(std::regex_search(lines[2], std::regex(R"(^ci +user +Users-2 +\d{4}-)")));
  CHECK_FALSE(contains(r.out, "API-"));
  d.start_server();
  for (const auto& k : testing::must(d.server->api_keys()))
    CHECK_FALSE(contains(r.out, k.key_hash));
  CHECK_FALSE(contains(r.out, bootstrap_key.substr(0, bootstrap_key.size() - 1)));
}

TEST_CASE("apikeys revoke removes a key by name, and an unknown name fails", "[admin]") {
  sample_data d;
  d.stop_server();
  auto created = run_admin(d.args({"apikeys", "create", "--name", "ci"}));
  REQUIRE(created.code == 0);

  auto revoked = run_admin(d.args({"apikeys", "revoke", "ci"}));
  INFO(revoked.err);
  REQUIRE(revoked.code == 0);
  auto list = run_admin(d.args({"apikeys", "list"}));
  REQUIRE(list.code == 0);
  CHECK_FALSE(std::regex_search(list.out, std::regex("\nci ")));
  CHECK(contains(list.out, "\nadmin "));

  auto unknown = run_admin(d.args({"apikeys", "revoke", "nobody"}));
  CHECK(unknown.code == 1);
  CHECK(contains(unknown.err, "nobody"));

  d.start_server();
  const std::string key = created.out.substr(0, created.out.size() - 1);
  CHECK_FALSE(testing::must(d.server->api_key_by_hash(storage::hash_api_key(key, d.master_key))));
  auto last = d.server->read(d.server->last_position(), 1);
  REQUIRE(last.ok());
  REQUIRE(last->size() == 1);
  CHECK(last->front().stream == events::system_stream);
  CHECK(std::holds_alternative<events::api_key_revoked>(last->front().body));
}

TEST_CASE("while the server holds the store, reads work and writes refuse with a clear message",
          "[admin]") {
  sample_data d;  // d.server stays open read_write: the running server
  d.append("ServerTasks-3", 0,
           {events::task_queued{"MigrationImport", "Import export-2", "Spaces-1", "{}", 0}},
           t0 + 120'000'000);

  auto evs = run_admin(d.args({"events"}));
  INFO(evs.err);
  REQUIRE(evs.code == 0);
  auto lines = lines_of(evs.out);
  REQUIRE(lines.size() == 11);
  CHECK(contains(lines.back(), "ServerTasks-3"));

  auto task = run_admin(d.args({"task", "ServerTasks-3", "--json"}));
  REQUIRE(task.code == 0);
  CHECK(json::parse(task.out).at("State") == "Queued");
  auto verify = run_admin(d.args({"projections", "verify"}));
  CHECK(verify.code == 0);
  auto list = run_admin(d.args({"apikeys", "list"}));
  CHECK(list.code == 0);
  CHECK(contains(list.out, "admin"));

  const std::string master_key_before = read_file(d.dir.master_key());
  for (auto args : {std::vector<std::string>{"apikeys", "create", "--name", "ci"},
                    std::vector<std::string>{"apikeys", "revoke", "admin"},
                    std::vector<std::string>{"projections", "rebuild"}}) {
    auto r = run_admin(d.args(args));
    INFO(args.front() << " " << args[1] << ": " << r.err);
    CHECK(r.code == 1);
    CHECK(r.out.empty());
    CHECK(contains(r.err, "the server is running; stop it first"));
  }
  CHECK(read_file(d.dir.master_key()) == master_key_before);
  CHECK(testing::must(d.server->api_keys()).size() == 1);
}

TEST_CASE("events --follow prints an event appended after it started and stops on SIGTERM",
          "[admin]") {
  sample_data d;
  admin_process follower(d.args({"events", "--follow", "--type", "task_queued"}));
  auto has_line_with = [](const std::string& part) {
    return [part](const std::string& out) { return contains(out, part); };
  };
  bool started = follower.read_until(has_line_with("Import export-1"), follow_limit);
  INFO("stdout: " << follower.out() << "\nstderr: " << follower.err());
  REQUIRE(started);  // the existing events are printed before the new one is appended

  d.append("ServerTasks-3", 0,
           {events::task_queued{"MigrationImport", "Import export-2", "Spaces-1", "{}", 0}},
           t0 + 120'000'000);
  bool followed = follower.read_until(has_line_with("Import export-2"), follow_limit);
  INFO("stdout: " << follower.out() << "\nstderr: " << follower.err());
  REQUIRE(followed);

  follower.signal(SIGTERM);
  CHECK(follower.finish(run_limit) == 0);
  auto lines = lines_of(follower.out());
  REQUIRE(lines.size() == 3);
  CHECK(position_of(lines[2]) == sample_data::event_count + 1);
}

TEST_CASE("a missing data directory or store is a clear error and creates nothing", "[admin]") {
  octomig::testing::temp_dir tmp{"octomig-admin-test"};
  const auto missing = tmp.path() / "missing";
  for (auto args : {std::vector<std::string>{"events"},
                    std::vector<std::string>{"apikeys", "create", "--name", "ci"},
                    std::vector<std::string>{"projections", "rebuild"}}) {
    args.insert(args.begin(), {"--data-dir", missing.string()});
    auto r = run_admin(args);
    CHECK(r.code == 1);
    CHECK(contains(r.err, "no data directory"));
  }
  CHECK_FALSE(std::filesystem::exists(missing));

  const auto empty = tmp.path() / "empty";
  std::filesystem::create_directory(empty);
  for (auto args : {std::vector<std::string>{"apikeys", "list"},
                    std::vector<std::string>{"apikeys", "create", "--name", "ci"}}) {
    args.insert(args.begin(), {"--data-dir", empty.string()});
    auto r = run_admin(args);
    CHECK(r.code == 1);
    CHECK(contains(r.err, "no store"));
  }
  CHECK(std::filesystem::is_empty(empty));
}

TEST_CASE("the data directory comes from OCTOMIG_DATA_DIR when --data-dir is absent", "[admin]") {
  sample_data d;
  auto r = run_admin({"events", "--type", "api_key_created"}, d.dir.root.string());
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(lines_of(r.out).size() == 1);
}

TEST_CASE("--help lists the commands, and usage errors exit with code 2", "[admin]") {
  auto help = run_admin({"--help"});
  REQUIRE(help.code == 0);
  for (const char* c : {"events", "task", "projections verify", "projections rebuild",
                        "apikeys create", "apikeys list", "apikeys revoke", "OCTOMIG_DATA_DIR"})
    CHECK(contains(help.out, c));
  auto events_help = run_admin({"events", "--help"});
  REQUIRE(events_help.code == 0);
  CHECK(contains(events_help.out, "--follow"));

  for (auto args :
       {std::vector<std::string>{}, std::vector<std::string>{"frobnicate"},
        std::vector<std::string>{"projections"}, std::vector<std::string>{"events", "--limit", "x"},
        std::vector<std::string>{"events", "--limit", "0"},
        std::vector<std::string>{"events", "--type", "no_such_event"},
        std::vector<std::string>{"events", "--bogus"},
        std::vector<std::string>{"events", "--json=yes"}, std::vector<std::string>{"task"},
        std::vector<std::string>{"task", "Tasks-1"},
        std::vector<std::string>{"task", "ServerTasks-1", "extra"},
        std::vector<std::string>{"apikeys", "create"},
        std::vector<std::string>{"apikeys", "revoke"}}) {
    auto r = run_admin(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    INFO("octomig-admin " << joined << "\n" << r.err);
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK(contains(r.err, "usage:"));
  }
}

// ---- seed ----

namespace {

const std::vector<std::string> small_seed = {
    "seed", "--projects", "3", "--releases", "2", "--deployments", "2", "--log-lines", "5"};

std::vector<std::string> seed_args(const storage::data_dir& dir,
                                   std::vector<std::string> extra = {}) {
  std::vector<std::string> a{"--data-dir", dir.root.string()};
  a.insert(a.end(), small_seed.begin(), small_seed.end());
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

// A seeded store opened as a reader of a stopped server, with the documents API over it.
struct seeded {
  std::unique_ptr<storage::store> store;
  std::unique_ptr<storage::documents> docs;

  explicit seeded(const storage::data_dir& dir) {
    auto mk = storage::load_or_create_master_key(dir);
    REQUIRE(mk.ok());
    storage::options o;
    o.db_dir = dir.db();
    o.mode = storage::open_mode::read_only;
    auto st = storage::store::open(o);
    INFO((st ? std::string() : st.err().message));
    REQUIRE(st.ok());
    store = std::move(st.value());
    docs = std::make_unique<storage::documents>(*store, *mk);
  }

  std::vector<json::object> list(const std::string& collection) const {
    auto l = docs->list("Spaces-1", collection, {});
    INFO(collection << ": " << (l ? std::string() : l.err().message));
    REQUIRE(l.ok());
    return *l;
  }

  // Every document as the API shows it, every task and every log line, as text.
  std::string listing() const {
    std::string out;
    for (const auto& c : migration::collections()) {
      if (!c.stored) continue;
      for (const auto& d : list(c.name)) out += c.name + " " + json::serialize(d) + "\n";
    }
    auto tasks = store->tasks({});
    REQUIRE(tasks.ok());
    for (const auto& t : *tasks) {
      out += json::serialize(events::to_json(t, t0)) + "\n";
      auto log = store->task_log(t.id);
      REQUIRE(log.ok());
      for (const auto& l : *log)
        out += l.category + " " + std::to_string(l.occurred_at) + " " + l.text + "\n";
    }
    return out;
  }
};

}  // namespace

TEST_CASE("seed fills a new data directory with every collection and deployments' history tasks",
          "[admin][seed]") {
  octomig::testing::temp_dir tmp{"octomig-seed-test"};
  storage::data_dir dir{tmp.path() / "data"};
  auto r = run_admin(seed_args(dir));
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(contains(r.out, "Projects: 3"));
  CHECK(std::filesystem::exists(dir.master_key()));
  CHECK(std::filesystem::exists(dir.admin_key_file()));  // bootstrapped as octomigd would

  {
    seeded s(dir);
    for (const auto& c : migration::collections()) {
      if (!c.stored) continue;
      INFO(c.name);
      CHECK_FALSE(s.list(c.name).empty());
    }
    CHECK(s.list("Projects").size() == 3);
    CHECK(s.list("Releases").size() == 6);
    const auto deployments = s.list("Deployments");
    REQUIRE(deployments.size() == 12);
    for (const auto& d : deployments) {
      const std::string task_id(d.at("TaskId").as_string());
      INFO(json::serialize(d));
      auto t = s.store->task(task_id);
      REQUIRE(t.ok());
      CHECK((t->state == events::task_status::success || t->state == events::task_status::failed));
      CHECK(t->name == "Deploy");
      CHECK(contains(t->description, "to "));
      CHECK(t->completed_time > t->start_time);
      CHECK(t->start_time > t->queue_time);
      CHECK(contains(t->arguments_json, std::string(d.at("Id").as_string())));
      CHECK(t->log_line_count == 5);
      auto log = s.store->task_log(task_id);
      REQUIRE(log.ok());
      REQUIRE(log->size() == 5);
      const bool ok = t->state == events::task_status::success;
      CHECK(log->back().category == (ok ? "Highlight" : "Error"));
      for (const auto& l : *log) {
        CHECK(l.occurred_at >= t->start_time);
        CHECK(l.occurred_at <= t->completed_time);
      }
    }
    // Sensitive variables are sealed: the API shows them without a value.
    std::size_t sensitive = 0;
    for (const auto& vs : s.list("VariableSets"))
      for (const auto& v : vs.at("Variables").as_array())
        if (v.at("IsSensitive").as_bool()) {
          ++sensitive;
          CHECK(v.at("Value").is_null());
        }
    CHECK(sensitive >= 3);
  }

  // The reference index the seed's writes kept matches one built from the seeded documents.
  auto verify = run_admin({"--data-dir", dir.root.string(), "projections", "verify"});
  INFO(verify.out << verify.err);
  CHECK(verify.code == 0);
  CHECK(contains(verify.out, "checked the indexes of"));
}

TEST_CASE("the same --seed gives the same instance, and another seed another one",
          "[admin][seed]") {
  octomig::testing::temp_dir tmp{"octomig-seed-test"};
  storage::data_dir a{tmp.path() / "a"}, b{tmp.path() / "b"}, c{tmp.path() / "c"};
  REQUIRE(run_admin(seed_args(a, {"--seed", "7"})).code == 0);
  REQUIRE(run_admin(seed_args(b, {"--seed", "7"})).code == 0);
  REQUIRE(run_admin(seed_args(c, {"--seed", "8"})).code == 0);
  const std::string la = seeded(a).listing();
  CHECK(contains(la, "ServerTasks-12"));
  CHECK(la == seeded(b).listing());
  CHECK(la != seeded(c).listing());
}

TEST_CASE("seed refuses a running server's store and a store that already holds an instance",
          "[admin][seed]") {
  sample_data d;  // d.server stays open read_write: the running server
  auto running = run_admin(seed_args(d.dir));
  CHECK(running.code == 1);
  CHECK(running.out.empty());
  CHECK(contains(running.err, "the server is running; stop it first"));
  d.stop_server();

  // The sample store has tasks but no documents: seeding it works, and numbers tasks after its own.
  auto first = run_admin(seed_args(d.dir));
  INFO(first.err);
  REQUIRE(first.code == 0);
  auto again = run_admin(seed_args(d.dir));
  CHECK(again.code == 1);
  CHECK(contains(again.err, "already holds documents"));
  seeded s(d.dir);
  for (const auto& dep : s.list("Deployments"))
    CHECK(storage::task_number(std::string(dep.at("TaskId").as_string())) > 2);
}

// ---- package inspect ----

namespace {

// A package of two documents (one with a secret) and a task log, written by the package module.
std::filesystem::path write_package(const std::filesystem::path& dir, bool encrypt) {
  package::writer_options o;
  o.file = dir / (encrypt ? "Inspect.1.0.0-e.zip" : "Inspect.1.0.0.zip");
  o.package_id = "Inspect";
  o.package_version = encrypt ? "1.0.0-e" : "1.0.0";
  o.producer_version = "2026.1.0";
  o.source_installation_id = "test";
  o.encrypt = encrypt;
  o.kdf = package::min_kdf_limits;
  auto w = testing::must(package::writer::create(o, "Demo1234"));
  testing::must(
      w->add_document(*migration::find_collection("Environments"), "Environments-1",
                      boost::json::parse(R"({"Id":"Environments-1","Name":"Dev"})").as_object()));
  testing::must(w->add_document(
      *migration::find_collection("Accounts"), "Accounts-1",
      boost::json::parse(
          R"({"Id":"Accounts-1","Name":"Deploy user","AccountType":"UsernamePassword",
                             "Password":{"HasValue":true,"NewValue":"hunter2-secret"}})")
          .as_object()));
  testing::must(w->add_task_log("ServerTasks-1", boost::json::parse(R"({"Lines":[]})")));
  return testing::must(w->finish()).file;
}

}  // namespace

TEST_CASE(
    "package inspect shows the manifest and verifies digests, and with the password lists "
    "the documents",
    "[admin][package]") {
  octomig::testing::temp_dir tmp{"octomig-admin-package"};
  for (bool encrypt : {false, true}) {
    INFO("encrypted: " << encrypt);
    auto file = write_package(tmp.path(), encrypt);
    auto plain = run_admin({"package", "inspect", file.string()});
    CHECK(plain.code == 0);
    CHECK(contains(plain.out, "package     Inspect"));
    CHECK(contains(plain.out, "digests     every entry matches the manifest"));
    CHECK_FALSE(contains(plain.out, "Deploy user"));  // documents need the password

    std::ofstream(tmp.path() / "pw") << "Demo1234\n";
    auto opened = run_admin(
        {"package", "inspect", file.string(), "--password-file", (tmp.path() / "pw").string()});
    CHECK(opened.code == 0);
    CHECK(contains(opened.out, "password    matches the check value"));
    CHECK(contains(opened.out, "Accounts-1  Deploy user"));
    CHECK(contains(opened.out, "Environments-1  Dev"));
    CHECK(contains(opened.out, "task logs   1 read"));
    CHECK_FALSE(contains(opened.out + opened.err, "hunter2-secret"));
    CHECK_FALSE(contains(opened.out + opened.err, "Demo1234"));

    std::ofstream(tmp.path() / "bad") << "wrong\n";
    auto wrong = run_admin(
        {"package", "inspect", file.string(), "--password-file", (tmp.path() / "bad").string()});
    CHECK(wrong.code == 1);
    CHECK(contains(wrong.err, "The password does not match"));
  }
}

TEST_CASE("package inspect refuses a file that is not a migration package", "[admin][package]") {
  octomig::testing::temp_dir tmp{"octomig-admin-package"};
  std::ofstream(tmp.path() / "not.zip") << "this is not a zip";
  auto r = run_admin({"package", "inspect", (tmp.path() / "not.zip").string()});
  CHECK(r.code == 1);
  CHECK_FALSE(r.err.empty());
}
