// `events`: the log, filtered, as text or JSON lines, and optionally followed as the server
// appends.
#include <pthread.h>
#include <signal.h>

#include <boost/json.hpp>
#include <cerrno>
#include <ctime>
#include <iostream>
#include <limits>

#include "events/json.hpp"
#include "tools/admin_commands.hpp"
#include "tools/admin_print.hpp"
#include "tools/admin_store.hpp"

namespace octomig::admin {
namespace {

// How long --follow waits for a stop signal before it looks for new events again.
constexpr long follow_poll_ns = 100'000'000;

struct event_filter {
  std::string stream;  // empty: any
  std::string type;    // empty: any
  bool matches(const events::envelope& e) const {
    return (stream.empty() || e.stream == stream) &&
           (type.empty() || type == events::type_name(e.body));
  }
};

}  // namespace

status run_events(const invocation& inv) {
  const event_filter filter{inv.text("--stream"), inv.text("--type")};
  const std::uint64_t limit = inv.number("--limit", std::numeric_limits<std::uint64_t>::max());
  const bool as_json = inv.has("--json");
  const bool follow = inv.has("--follow");

  // --follow ends on SIGINT or SIGTERM. The signals are blocked before the store starts its
  // threads, which inherit the mask, so that they stay pending until sigtimedwait takes them
  // between polls.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  if (follow) pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto opened = open_for_reading(inv.dir);
  if (!opened) return opened.err();
  storage::store& store = **opened;

  std::uint64_t next = inv.number("--from", 1);
  std::uint64_t printed = 0;
  auto print_new = [&]() -> status {
    if (printed >= limit) return ok_status();
    auto s = store.scan(next, [&](const events::envelope& e) {
      next = e.position + 1;
      if (!filter.matches(e)) return true;
      if (as_json)
        std::cout << boost::json::serialize(events::to_json(e)) << '\n';
      else
        std::cout << event_line(e) << '\n';
      return ++printed < limit;
    });
    std::cout.flush();
    return s;
  };

  if (auto s = print_new(); !s) return s;
  while (follow && printed < limit) {
    const timespec wait{0, follow_poll_ns};
    const int sig = sigtimedwait(&stop_signals, nullptr, &wait);
    if (sig == SIGINT || sig == SIGTERM) break;
    if (sig < 0 && errno != EAGAIN && errno != EINTR)
      return make_error(errc::io_error, "cannot wait for signals while following the log");
    if (auto s = store.catch_up(); !s) return s;
    if (auto s = print_new(); !s) return s;
  }
  return ok_status();
}

}  // namespace octomig::admin
