#include "actors/journal.hpp"

#include <optional>

namespace octomig::actors {
namespace {

void journal_loop(caf::blocking_actor* self, storage::store* st, journal_options opts) {
  bool running = true;
  std::size_t previous_batch = 1;
  std::vector<storage::append_request> batch;
  std::vector<caf::typed_response_promise<append_reply>> promises;
  std::vector<std::optional<caf::timestamp>> deadlines;

  // Both forms of append join the batch; the promise is answered once the batch is written.
  auto join = [&](storage::append_request& r, std::optional<caf::timestamp> deadline) {
    batch.push_back(std::move(r));
    deadlines.push_back(deadline);
    promises.push_back(self->make_response_promise<append_reply>());
    return promises.back();
  };
  auto take = [&](append_atom, storage::append_request& r) { return join(r, std::nullopt); };
  auto take_until = [&](append_atom, storage::append_request& r, caf::timestamp deadline) {
    return join(r, deadline);
  };
  auto stop = [&](stop_atom) { running = false; };
  auto exited = [&](caf::exit_msg&) { running = false; };
  // take, take_until and stop are the journal's interface: this fails to compile if they drift
  // apart.
  const journal_actor::behavior_type checked{take, take_until, stop};
  static_cast<void>(checked);

  while (running) {
    self->receive(take, take_until, stop, exited);
    while (running && self->has_next_message()) self->receive(take, take_until, stop, exited);
    // Linger only while more writers are likely: the previous batch was larger than this one.
    auto deadline = std::chrono::steady_clock::now() + opts.linger;
    while (running && batch.size() < previous_batch) {
      auto left = deadline - std::chrono::steady_clock::now();
      if (left <= decltype(left)::zero()) break;
      bool timed_out = false;
      self->receive(
          take, take_until, stop, exited,
          caf::after(std::chrono::duration_cast<std::chrono::microseconds>(left)) >>
              [&] { timed_out = true; });
      if (timed_out) break;
    }
    if (batch.empty()) continue;
    if (opts.before_write) opts.before_write();
    // Appends past their deadline are refused now and never written: their callers have given up.
    const auto now = caf::make_timestamp();
    std::vector<storage::append_request> live;
    std::vector<std::size_t> live_index;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (deadlines[i] && *deadlines[i] < now) {
        promises[i].deliver(append_reply(
            make_error(errc::unavailable,
                       "the journal could not write this append in time; nothing of it "
                       "was written")));
        continue;
      }
      live.push_back(std::move(batch[i]));
      live_index.push_back(i);
    }
    auto results = st->append(live);
    for (std::size_t j = 0; j < live_index.size(); ++j)
      promises[live_index[j]].deliver(append_reply(std::move(results[j])));
    if (opts.stats) {
      opts.stats->batches += 1;
      opts.stats->requests += batch.size();
    }
    previous_batch = batch.size();
    batch.clear();
    promises.clear();
    deadlines.clear();
  }
}

}  // namespace

journal_actor spawn_journal(caf::actor_system& sys, storage::store& st, journal_options opts) {
  return caf::actor_cast<journal_actor>(
      sys.spawn<caf::detached>(journal_loop, &st, std::move(opts)));
}

}  // namespace octomig::actors
