// The crash test's victim. Opens the store in argv[1] and appends from four threads, each to its
// own stream with small batches and its own expected version; after every acknowledged append it
// writes "<stream> <last version>\n" to stdout, which the test reads through a pipe until it
// kills this process with SIGKILL. Exits by itself after a while in case nobody does.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "storage/store.hpp"

using namespace octomig;
using namespace octomig::events;

namespace {

std::atomic<bool> failed{false};

// One line per write(2): a pipe write of at most PIPE_BUF bytes is atomic, so lines of different
// threads never interleave, and nothing waits in a user-space buffer when the kill comes.
bool acknowledge(const std::string& stream, std::uint64_t version) {
  std::string line = stream + " " + std::to_string(version) + "\n";
  return ::write(STDOUT_FILENO, line.data(), line.size()) == static_cast<ssize_t>(line.size());
}

std::vector<event_body> next_batch(const std::string& stream, std::uint64_t version) {
  std::vector<event_body> out;
  if (stream == system_stream) {
    // Alternating maintenance switches, one or two per batch.
    const std::size_t n = 1 + version % 2;
    for (std::size_t i = 0; i < n; ++i) {
      if ((version + i) % 2 == 0)
        out.push_back(maintenance_entered{""});
      else
        out.push_back(maintenance_left{""});
    }
    return out;
  }
  if (version == 0)
    return {task_queued{"CrashTest", "appends until killed", "Spaces-1", "{}", 0},
            task_started{"crash-child"}};
  const std::size_t n = 1 + version % 3;  // batches of one to three events
  for (std::size_t i = 1; i <= n; ++i)
    out.push_back(message_logged{"Info", stream + " v" + std::to_string(version + i)});
  return out;
}

void writer(storage::store& st, std::string stream, std::chrono::steady_clock::time_point until) {
  std::uint64_t version = 0;
  while (!failed && std::chrono::steady_clock::now() < until) {
    storage::append_request r{stream, version, next_batch(stream, version), 1490043617000000};
    auto a = st.append(r);
    if (!a) {
      std::fprintf(stderr, "crash_child: append to %s failed: %s\n", stream.c_str(),
                   a.err().message.c_str());
      failed = true;
      return;
    }
    version = a->last_version;
    if (!acknowledge(stream, version)) return;  // the reader has gone
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <db dir>\n", argv[0]);
    return 2;
  }
  storage::options o;
  o.db_dir = argv[1];
  auto st = storage::store::open(o);
  if (!st) {
    std::fprintf(stderr, "crash_child: %s\n", st.err().message.c_str());
    return 1;
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::vector<std::thread> threads;
  for (const char* stream : {"ServerTasks-1", "ServerTasks-2", "ServerTasks-3", system_stream})
    threads.emplace_back(writer, std::ref(**st), std::string(stream), until);
  for (auto& t : threads) t.join();
  return failed ? 1 : 0;
}
