// Crash consistency: a child process appends from four threads and acknowledges every append on a
// pipe; the test kills it with SIGKILL mid-flight and reopens the store. Every acknowledged event
// must be there, the log gapless, every stream contiguous, and the read models equal to a replay.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "storage/store.hpp"
#include "tests/support/must.hpp"
#include "tests/support/store_helpers.hpp"
#include "tests/support/temp_dir.hpp"

#ifndef OCTOMIG_CRASH_CHILD
#error "OCTOMIG_CRASH_CHILD must name the crash child executable"
#endif

extern char** environ;

using namespace octomig;
using namespace octomig::events;
using octomig::testing::open_store;
using octomig::testing::temp_dir;

namespace {

using clock_type = std::chrono::steady_clock;

// The child and the read end of its stdout. Whatever happens in the test, the child does not
// outlive it: the destructor kills and reaps it.
class child_process {
 public:
  explicit child_process(const std::string& db_dir) {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    read_fd_ = fds[0];
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    std::string exe = OCTOMIG_CRASH_CHILD;
    std::vector<char*> argv{exe.data(), const_cast<char*>(db_dir.c_str()), nullptr};
    const int rc = ::posix_spawn(&pid_, exe.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);  // the child holds the only write end now: EOF means it is gone
    INFO("spawning " << exe);
    REQUIRE(rc == 0);
  }
  ~child_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      wait();
    }
    if (read_fd_ >= 0) ::close(read_fd_);
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  int fd() const { return read_fd_; }

  // Sends SIGKILL and reaps the child; returns its wait status.
  int kill_and_wait() {
    REQUIRE(::kill(pid_, SIGKILL) == 0);
    return wait();
  }

  // Reaps a child that has exited by itself.
  int wait() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
  int read_fd_ = -1;
};

std::string describe(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status));
  return "ended with status " + std::to_string(status);
}

// Acknowledged "<stream> <version>" lines, folded into the highest version per stream.
struct acks {
  std::map<std::string, std::uint64_t> highest;
  std::size_t count = 0;
  std::string partial;

  void feed(const char* data, std::size_t n) {
    partial.append(data, n);
    std::size_t start = 0;
    for (std::size_t nl; (nl = partial.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::istringstream line(partial.substr(start, nl - start));
      std::string stream;
      std::uint64_t version = 0;
      line >> stream >> version;
      INFO("line \"" << partial.substr(start, nl - start) << "\"");
      REQUIRE(version > 0);
      auto& h = highest[stream];
      CHECK(version > h);  // one writer per stream: its acknowledgements only go up
      h = std::max(h, version);
      ++count;
    }
    partial.erase(0, start);
  }
};

enum class read_result { data, eof, timeout };

// Waits at most until `deadline` for the pipe to have data, then reads what is there.
read_result read_some(int fd, acks& a, clock_type::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
  if (left.count() <= 0) return read_result::timeout;
  pollfd p{fd, POLLIN, 0};
  const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
  if (ready < 0 && errno == EINTR) return read_result::data;
  REQUIRE(ready >= 0);
  if (ready == 0) return read_result::timeout;
  char buf[4096];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  if (n < 0 && errno == EINTR) return read_result::data;
  REQUIRE(n >= 0);
  if (n == 0) return read_result::eof;
  a.feed(buf, static_cast<std::size_t>(n));
  return read_result::data;
}

}  // namespace

TEST_CASE("every acknowledged append survives a SIGKILL, and the store reopens consistent",
          "[crash]") {
  constexpr std::size_t wanted_acks = 2000;
  constexpr std::size_t minimum_acks = 100;
  temp_dir dir;
  const auto db = dir / "db";
  acks seen;
  {
    child_process child(db.string());
    const auto deadline = clock_type::now() + std::chrono::seconds(10);
    while (seen.count < wanted_acks) {
      auto r = read_some(child.fd(), seen, deadline);
      if (r == read_result::timeout) break;
      if (r == read_result::eof)
        FAIL("the crash child stopped before it was killed: it " << describe(child.wait()));
    }
    INFO("acknowledged within 10 s: " << seen.count);
    REQUIRE(seen.count >= minimum_acks);

    const int status = child.kill_and_wait();
    INFO("the child " << describe(status));
    REQUIRE(WIFSIGNALED(status));
    REQUIRE(WTERMSIG(status) == SIGKILL);
    // Lines written before the kill are acknowledgements too: read them up to EOF.
    const auto drain_deadline = clock_type::now() + std::chrono::seconds(5);
    for (;;) {
      auto r = read_some(child.fd(), seen, drain_deadline);
      REQUIRE(r != read_result::timeout);  // the write end closed with the child
      if (r == read_result::eof) break;
    }
    CHECK(seen.partial.empty());  // every line arrived whole
  }
  REQUIRE(seen.highest.size() == 4);

  auto st = open_store(db);
  const std::uint64_t last = st->last_position();
  INFO("acknowledged " << seen.count << " appends; the log ends at position " << last);

  // Positions 1..last, no gap; each stream's versions 1..n, no gap.
  std::uint64_t expected_position = 1;
  std::map<std::string, std::uint64_t> versions;
  auto scanned = st->scan(1, [&](const envelope& e) {
    if (e.position != expected_position)
      FAIL("gap: position " << e.position << " follows " << expected_position - 1);
    ++expected_position;
    auto& v = versions[e.stream];
    if (e.stream_version != v + 1)
      FAIL("stream " << e.stream << " jumps from version " << v << " to " << e.stream_version);
    v = e.stream_version;
    if (is_task_stream(e.stream) && e.stream_version > 2) {
      const auto* m = std::get_if<message_logged>(&e.body);
      REQUIRE(m);
      CHECK(m->text == e.stream + " v" + std::to_string(e.stream_version));
    }
    return true;
  });
  REQUIRE(scanned.ok());
  CHECK(expected_position - 1 == last);

  // Every acknowledged event is there, in the log, the stream index and the projections.
  for (const auto& [stream, acked] : seen.highest) {
    INFO("stream " << stream << ", acknowledged up to version " << acked);
    CHECK(versions[stream] >= acked);
    CHECK(testing::must(st->stream_version(stream)) == versions[stream]);
    auto events = st->read_stream(stream);
    REQUIRE(events.ok());
    CHECK(events->size() == versions[stream]);
    if (is_task_stream(stream)) {
      auto t = st->task(stream);
      REQUIRE(t.ok());
      CHECK(t->version == versions[stream]);
      CHECK(t->state == task_status::executing);
      CHECK(t->log_line_count == versions[stream]);
      CHECK(st->task_log(stream)->size() == versions[stream]);
    }
  }
  // The maintenance switches alternate on, off, on...: odd versions switch it on.
  CHECK(testing::must(st->maintenance()).manual == (versions[system_stream] % 2 == 1));

  auto rep = st->verify_projections();
  REQUIRE(rep.ok());
  INFO("differences:\n" << octomig::testing::lines(rep->differences));
  CHECK(rep->differences.empty());
  CHECK(rep->events == last);

  // And the reopened store takes new appends where the log ends.
  auto a = st->append(
      storage::append_request{"ServerTasks-1", versions["ServerTasks-1"], {task_succeeded{}}, 1});
  REQUIRE(a.ok());
  CHECK(a->first_position == last + 1);
}
