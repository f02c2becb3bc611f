// Durable appends: how many events per second reach the disk, synced.
//
// Reference: one writer calling storage::store::append directly, one event per synced append.
// Measured:  C concurrent appenders (CAF actors, or threads with --mode threads) sending
//            (append_atom, append_request) to the journal actor, each to its own stream with the
//            right expected version, each waiting for the reply before sending its next event.
//            The journal batches what waits in its mailbox into one synced WriteBatch (group
//            commit); its journal_stats give the average batch size.
// Each round runs the reference and every concurrency level on fresh stores under the same base
// directory, so the ratio compares runs made on the same disk within seconds of each other.
#include <atomic>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "actors/journal.hpp"
#include "actors/messages.hpp"
#include "bench/bench_util.hpp"
#include "runtime/clock.hpp"
#include "storage/store.hpp"

namespace {

using namespace octomig;
namespace bench = octomig::bench;
using done_atom = caf::atom_constant<caf::atom("done")>;

struct run_result {
  std::string what;
  std::size_t writers = 0;
  std::uint64_t events = 0;
  double seconds = 0;
  double avg_batch = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  std::uint64_t errors = 0;
  double eps() const { return seconds > 0 ? static_cast<double>(events) / seconds : 0; }
};

events::event_body sample_event(std::uint64_t i) {
  return events::message_logged{"Info",
                                "Collected document " + std::to_string(i) + " of the closure"};
}

std::string stream_name(std::size_t k) {
  return "ServerTasks-" + std::to_string(k + 1);
}

std::unique_ptr<storage::store> open_store(const std::filesystem::path& dir) {
  storage::options o;
  o.db_dir = dir / "db";
  o.sync = true;
  auto s = storage::store::open(o);
  if (!s) throw std::runtime_error(s.err().message);
  return std::move(s.value());
}

void fill_latencies(run_result& r, std::vector<double>& lat) {
  r.p50_ms = bench::percentile(lat, 50);
  r.p99_ms = bench::percentile(lat, 99);
  r.max_ms = lat.empty() ? 0 : lat.back();
}

// (a) one writer, one event per synced store::append.
run_result reference(const std::filesystem::path& base, std::uint64_t n) {
  bench::temp_dir dir(base, "octomig-bench-append-ref");
  auto st = open_store(dir.path());
  run_result r;
  r.what = "store::append, 1 event per sync";
  r.writers = 1;
  std::vector<double> lat;
  lat.reserve(n);
  auto t0 = bench::clock::now();
  for (std::uint64_t i = 0; i < n; ++i) {
    auto t = bench::clock::now();
    auto a = st->append(
        storage::append_request{stream_name(0), i, {sample_event(i)}, runtime::now_us()});
    lat.push_back(bench::seconds_since(t) * 1e3);
    if (!a) ++r.errors;
  }
  r.seconds = bench::seconds_since(t0);
  r.events = n - r.errors;
  r.avg_batch = 1;
  fill_latencies(r, lat);
  return r;
}

// (c) the ceiling of group commit without actors: one thread calling store::append with batches
// of `width` requests (one event each, one per stream), synced. Not a goal figure: it shows what
// the journal could reach if messaging and batching cost nothing.
run_result direct_batches(const std::filesystem::path& base, std::size_t width,
                          std::uint64_t per_stream) {
  bench::temp_dir dir(base, "octomig-bench-append-batch");
  auto st = open_store(dir.path());
  run_result r;
  r.what = "store::append, batches (no actors)";
  r.writers = width;
  std::vector<double> lat;
  lat.reserve(per_stream);
  auto t0 = bench::clock::now();
  for (std::uint64_t i = 0; i < per_stream; ++i) {
    std::vector<storage::append_request> reqs;
    reqs.reserve(width);
    for (std::size_t k = 0; k < width; ++k)
      reqs.push_back(
          storage::append_request{stream_name(k), i, {sample_event(i)}, runtime::now_us()});
    auto t = bench::clock::now();
    for (auto& a : st->append(reqs))
      if (!a) ++r.errors;
    lat.push_back(bench::seconds_since(t) * 1e3);
  }
  r.seconds = bench::seconds_since(t0);
  r.events = st->last_position();
  r.avg_batch = static_cast<double>(width);
  fill_latencies(r, lat);
  return r;
}

// One appender actor: sends its next append when the previous one is answered.
struct appender_ctx {
  actors::journal_actor journal;
  caf::actor report_to;
  std::string stream;
  std::uint64_t count = 0;
  std::uint64_t sent = 0;
  std::vector<double>* latencies = nullptr;
  std::atomic<std::uint64_t>* errors = nullptr;
  bench::clock::time_point started;
};

void send_next(caf::event_based_actor* self, std::shared_ptr<appender_ctx> c) {
  if (c->sent == c->count) {
    self->send(c->report_to, done_atom::value);
    self->quit();
    return;
  }
  storage::append_request r{c->stream, c->sent, {sample_event(c->sent)}, runtime::now_us()};
  c->started = bench::clock::now();
  self->request(c->journal, std::chrono::seconds(60), actors::append_atom::value, std::move(r))
      .then(
          [self, c](actors::append_reply& reply) {
            c->latencies->push_back(bench::seconds_since(c->started) * 1e3);
            if (!reply) {
              ++*c->errors;
              c->count = c->sent;  // the expected versions are now wrong: stop this appender
            } else {
              ++c->sent;
            }
            send_next(self, c);
          },
          [self, c](caf::error&) {
            ++*c->errors;
            c->count = c->sent;
            send_next(self, c);
          });
}

caf::behavior appender(caf::event_based_actor* self, std::shared_ptr<appender_ctx> c) {
  send_next(self, c);
  return {[](done_atom) {}};
}

// (b) C concurrent appenders through the journal actor.
run_result through_journal(const std::filesystem::path& base, std::size_t writers,
                           std::uint64_t per_writer, std::chrono::microseconds linger,
                           std::size_t scheduler_threads, bool use_threads) {
  bench::temp_dir dir(base, "octomig-bench-append-journal");
  auto st = open_store(dir.path());
  run_result r;
  r.what = std::string("journal, ") + (use_threads ? "threads" : "actors");
  r.writers = writers;
  std::vector<std::vector<double>> lat(writers);
  for (auto& l : lat) l.reserve(per_writer);
  std::atomic<std::uint64_t> errors{0};
  actors::journal_stats stats;
  {
    caf::actor_system_config cfg;
    cfg.set("scheduler.max-threads", scheduler_threads);
    cfg.add_message_types<caf::id_block::octomig>();
    caf::actor_system sys{cfg};
    actors::journal_options opts;
    opts.linger = linger;
    opts.stats = &stats;
    auto journal = actors::spawn_journal(sys, *st, opts);
    caf::scoped_actor self{sys};
    auto t0 = bench::clock::now();
    std::size_t finished = 0;
    if (!use_threads) {
      for (std::size_t k = 0; k < writers; ++k) {
        auto c = std::make_shared<appender_ctx>();
        c->journal = journal;
        c->report_to = caf::actor_cast<caf::actor>(self);
        c->stream = stream_name(k);
        c->count = per_writer;
        c->latencies = &lat[k];
        c->errors = &errors;
        sys.spawn(appender, c);
      }
      bool timed_out = false;
      while (finished < writers && !timed_out)
        self->receive([&](done_atom) { ++finished; },
                      caf::after(std::chrono::seconds(300)) >> [&] { timed_out = true; });
      if (timed_out) throw std::runtime_error("appenders did not finish within 300 s");
    } else {
      std::vector<std::thread> threads;
      for (std::size_t k = 0; k < writers; ++k)
        threads.emplace_back([&, k] {
          caf::scoped_actor me{sys};
          for (std::uint64_t i = 0; i < per_writer; ++i) {
            auto t = bench::clock::now();
            bool ok = false;
            me->request(
                  journal, std::chrono::seconds(60), actors::append_atom::value,
                  storage::append_request{stream_name(k), i, {sample_event(i)}, runtime::now_us()})
                .receive([&](actors::append_reply& reply) { ok = reply.ok(); },
                         [&](caf::error&) {});
            lat[k].push_back(bench::seconds_since(t) * 1e3);
            if (!ok) {
              ++errors;
              break;
            }
          }
        });
      for (auto& t : threads) t.join();
    }
    r.seconds = bench::seconds_since(t0);
    self->send(journal, actors::stop_atom::value);
    self->wait_for(journal);
  }
  std::vector<double> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  r.errors = errors.load();
  r.events = st->last_position();
  r.avg_batch = stats.batches ? static_cast<double>(stats.requests.load()) /
                                    static_cast<double>(stats.batches.load())
                              : 0;
  fill_latencies(r, all);
  return r;
}

void print(const run_result& r, double ref_eps) {
  std::printf(
      "  %-34s writers %3zu  events %7llu  %7.3f s  %9.0f events/s  x%-6.1f avg batch %6.1f  "
      "p50 %6.3f ms  p99 %6.3f ms  max %7.3f ms  errors %llu\n",
      r.what.c_str(), r.writers, static_cast<unsigned long long>(r.events), r.seconds, r.eps(),
      ref_eps > 0 ? r.eps() / ref_eps : 0.0, r.avg_batch, r.p50_ms, r.p99_ms, r.max_ms,
      static_cast<unsigned long long>(r.errors));
  std::fflush(stdout);
}

const char* usage =
    "Usage: octomig_bench_append [options]\n"
    "  --dir DIR              base for the temporary stores (default $OCTOMIG_BENCH_DIR or /tmp)\n"
    "  --rounds N             rounds, each with the reference and every level (default 3)\n"
    "  --ref-events N         events of the one-event-per-sync reference (default 3000)\n"
    "  --per-writer N         events per concurrent appender (default 2000)\n"
    "  --concurrency LIST     appenders through the journal (default 1,32,64)\n"
    "  --linger-us N          journal linger (default 200)\n"
    "  --scheduler-threads N  CAF scheduler threads (default 2)\n"
    "  --mode actors|threads  appenders as event-based actors (default) or threads\n"
    "  --no-ceiling           skip the store::append-in-batches ceiling rows\n";

}  // namespace

int main(int argc, char** argv) {
  try {
    std::filesystem::path base = bench::default_base();
    std::size_t rounds = 3, scheduler_threads = 2;
    std::uint64_t ref_events = 3000, per_writer = 2000;
    std::vector<std::size_t> levels{1, 32, 64};
    long linger_us = 200;
    std::string mode = "actors";
    bool ceiling = true;
    for (int i = 1; i < argc; ++i) {
      std::string v;
      if (std::string(argv[i]) == "--help") return std::cout << usage, 0;
      if (std::string(argv[i]) == "--no-ceiling") {
        ceiling = false;
        continue;
      }
      if (bench::flag(argc, argv, i, "--dir", v))
        base = v;
      else if (bench::flag(argc, argv, i, "--rounds", v))
        rounds = std::stoul(v);
      else if (bench::flag(argc, argv, i, "--ref-events", v))
        ref_events = std::stoull(v);
      else if (bench::flag(argc, argv, i, "--per-writer", v))
        per_writer = std::stoull(v);
      else if (bench::flag(argc, argv, i, "--concurrency", v))
        levels = bench::parse_list(v);
      else if (bench::flag(argc, argv, i, "--linger-us", v))
        linger_us = std::stol(v);
      else if (bench::flag(argc, argv, i, "--scheduler-threads", v))
        scheduler_threads = std::stoul(v);
      else if (bench::flag(argc, argv, i, "--mode", v))
        mode = v;
      else
        return std::cerr << "unknown option " << argv[i] << "\n" << usage, 2;
    }
    if (rounds < 1 || rounds > 20 || ref_events < 1 || ref_events > 1000000 || per_writer < 1 ||
        per_writer > 1000000 || levels.empty() || (mode != "actors" && mode != "threads"))
      return std::cerr << "options out of range\n" << usage, 2;
    for (auto c : levels)
      if (c < 1 || c > 1024) return std::cerr << "concurrency from 1 to 1024\n", 2;

    std::printf("durable append benchmark: stores under %s, on %s\n", base.c_str(),
                bench::describe_fs(base).c_str());
    std::printf(
        "sync=true everywhere; journal linger %ld us; CAF scheduler threads %zu; appenders as %s\n",
        linger_us, scheduler_threads, mode.c_str());

    // results[level index] across rounds; ratio to that round's reference.
    std::vector<std::vector<run_result>> by_level(levels.size());
    std::vector<std::vector<double>> ratios(levels.size());
    std::vector<run_result> refs;
    std::vector<std::vector<run_result>> ceilings(levels.size());
    for (std::size_t round = 1; round <= rounds; ++round) {
      std::printf("round %zu\n", round);
      auto ref = reference(base, ref_events);
      print(ref, ref.eps());
      refs.push_back(ref);
      for (std::size_t li = 0; li < levels.size(); ++li) {
        auto r = through_journal(base, levels[li], per_writer, std::chrono::microseconds(linger_us),
                                 scheduler_threads, mode == "threads");
        print(r, ref.eps());
        ratios[li].push_back(r.eps() / ref.eps());
        by_level[li].push_back(r);
        if (ceiling && levels[li] > 1) {
          auto c = direct_batches(base, levels[li], std::min<std::uint64_t>(per_writer, 1000));
          print(c, ref.eps());
          ceilings[li].push_back(c);
        }
      }
    }

    // Summary: the median over the rounds of each figure (the mean of the middle two for an even
    // count).
    auto median = [](std::vector<double> v) { return bench::median(std::move(v)); };
    auto pick = [&](const std::vector<run_result>& rs, double (*f)(const run_result&)) {
      std::vector<double> v;
      for (auto& r : rs) v.push_back(f(r));
      return median(v);
    };
    double ref_eps = pick(refs, [](const run_result& r) { return r.eps(); });
    std::printf(
        "\nsummary (median of %zu rounds; ratio = per-round journal rate / that round's "
        "reference)\n",
        rounds);
    std::printf("RESULT append reference writers=1 events_per_s=%.0f p50_ms=%.3f p99_ms=%.3f\n",
                ref_eps, pick(refs, [](const run_result& r) { return r.p50_ms; }),
                pick(refs, [](const run_result& r) { return r.p99_ms; }));
    bool goal = true;
    for (std::size_t li = 0; li < levels.size(); ++li) {
      auto& rs = by_level[li];
      double eps = pick(rs, [](const run_result& r) { return r.eps(); });
      double ratio = median(ratios[li]);
      double best = 0;
      for (auto& r : rs) best = std::max(best, r.eps());
      std::uint64_t errors = 0;
      for (auto& r : rs) errors += r.errors;
      std::printf(
          "RESULT append journal writers=%zu events_per_s=%.0f best_events_per_s=%.0f ratio=%.1f "
          "avg_batch=%.1f p50_ms=%.3f p99_ms=%.3f errors=%llu\n",
          levels[li], eps, best, ratio, pick(rs, [](const run_result& r) { return r.avg_batch; }),
          pick(rs, [](const run_result& r) { return r.p50_ms; }),
          pick(rs, [](const run_result& r) { return r.p99_ms; }),
          static_cast<unsigned long long>(errors));
      if (levels[li] >= 32 && (eps < 50000 || ratio < 20 || errors)) goal = false;
      if (!ceilings[li].empty())
        std::printf(
            "RESULT append ceiling (store::append batches of %zu, no actors) events_per_s=%.0f "
            "p50_batch_ms=%.3f\n",
            levels[li], pick(ceilings[li], [](const run_result& r) { return r.eps(); }),
            pick(ceilings[li], [](const run_result& r) { return r.p50_ms; }));
    }
    std::printf(
        "GOAL append (>= 50000 events/s and >= 20x the reference at 32 and 64 writers): %s\n",
        goal ? "met" : "MISSED");
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "octomig_bench_append: " << e.what() << "\n";
    return 1;
  }
}
