#include "actors/journal.hpp"

#include "actors/messages.hpp"

namespace octomig::actors {

events::timestamp_us now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

namespace {

void journal_loop(caf::blocking_actor* self, storage::store* st, std::chrono::microseconds linger,
                  journal_stats* stats) {
  bool running = true;
  std::size_t previous_batch = 1;
  std::vector<storage::append_request> batch;
  std::vector<caf::response_promise> promises;

  auto take = [&](append_atom, storage::append_request& r) {
    batch.push_back(std::move(r));
    promises.push_back(self->make_response_promise());
  };
  auto stop = [&](stop_atom) { running = false; };
  auto exited = [&](caf::exit_msg&) { running = false; };

  while (running) {
    self->receive(take, stop, exited);
    while (running && self->has_next_message()) self->receive(take, stop, exited);
    // Linger only while more writers are likely: the previous batch was larger than this one.
    auto deadline = std::chrono::steady_clock::now() + linger;
    while (running && batch.size() < previous_batch) {
      auto left = deadline - std::chrono::steady_clock::now();
      if (left <= decltype(left)::zero()) break;
      bool timed_out = false;
      self->receive(
          take, stop, exited,
          caf::after(std::chrono::duration_cast<std::chrono::microseconds>(left)) >>
              [&] { timed_out = true; });
      if (timed_out) break;
    }
    if (batch.empty()) continue;
    auto results = st->append(batch);
    for (std::size_t i = 0; i < promises.size(); ++i) promises[i].deliver(std::move(results[i]));
    if (stats) {
      stats->batches += 1;
      stats->requests += batch.size();
    }
    previous_batch = batch.size();
    batch.clear();
    promises.clear();
  }
}

}  // namespace

caf::actor spawn_journal(caf::actor_system& sys, storage::store& st,
                         std::chrono::microseconds linger, journal_stats* stats) {
  return sys.spawn<caf::detached>(journal_loop, &st, linger, stats);
}

}  // namespace octomig::actors
