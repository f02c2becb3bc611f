// Replay: the projection rebuild in memory against the raw scan of the same events.
//
// Fills a fresh store with task streams (large batches, sync=false: the fill is set-up, not the
// figure), reopens it so that RocksDB flushes the recovered log into table files, then times over
// the same data, in each round:
//   raw     store::scan_raw()          iterate the events column family, no decoding (reference)
//   decode  store::scan(1, ...)        iterate and decode every envelope (a breakdown figure)
//   replay  store::replay_in_memory()  iterate, decode and project every event (the figure)
// The OS page cache is warm (the data was just written); the block cache is bypassed by the
// scans (fill_cache=false), so every round reads blocks again from the page cache.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_util.hpp"
#include "storage/store.hpp"

namespace {

using namespace octomig;
namespace bench = octomig::bench;

// The events of one task: queued, started, (step started, message, step finished)..., succeeded.
std::vector<events::event_body> task_events(std::uint64_t n, std::size_t count) {
  std::vector<events::event_body> out;
  out.push_back(events::task_queued{
      "MigrationPartialExport", "Export of Projects-" + std::to_string(n) + " from Spaces-1",
      "Spaces-1",
      R"({"PackageId":"Export.Projects-)" + std::to_string(n) + R"(","PackageVersion":"1.0.)" +
          std::to_string(n) + R"(","Projects":["Projects-)" + std::to_string(n) +
          R"("],"IncludeHistory":false,"EncryptPackage":true,"Password":"***"})",
      0});
  out.push_back(events::task_started{"octomig"});
  static const char* steps[] = {"Collect documents", "Build package", "Push package"};
  std::size_t s = 0;
  while (out.size() + 1 < count) {
    auto phase = (out.size() - 2) % 3;
    const char* step = steps[s % 3];
    if (phase == 0) {
      out.push_back(events::step_started{step});
    } else if (phase == 1) {
      out.push_back(
          events::message_logged{"Info", std::string(step) + ": 37 documents, 48213 bytes"});
    } else {
      out.push_back(events::step_finished{step, "done in 12 ms"});
      ++s;
    }
  }
  out.push_back(events::task_succeeded{});
  return out;
}

struct figures {
  double raw_s = 0, decode_s = 0, replay_s = 0;
};

const char* usage =
    "Usage: octomig_bench_replay [options]\n"
    "  --dir DIR              base for the temporary store (default $OCTOMIG_BENCH_DIR or /tmp)\n"
    "  --tasks N              task streams (default 100000)\n"
    "  --events-per-task N    events per task stream, at least 3 (default 10)\n"
    "  --batch N              task streams per append call during the fill (default 500)\n"
    "  --rounds N             timed rounds over the same data (default 3)\n"
    "  --only raw|decode|replay  time one of the three only (for profiling)\n"
    "  --store DIR            keep the filled store in DIR, or reuse it if DIR/db exists "
    "(profiling)\n";

}  // namespace

int main(int argc, char** argv) {
  try {
    std::filesystem::path base = bench::default_base();
    std::uint64_t tasks = 100000;
    std::size_t per_task = 10, batch = 500, rounds = 3;
    std::string only, keep_dir;
    for (int i = 1; i < argc; ++i) {
      std::string v;
      if (std::string(argv[i]) == "--help") return std::cout << usage, 0;
      if (bench::flag(argc, argv, i, "--dir", v))
        base = v;
      else if (bench::flag(argc, argv, i, "--tasks", v))
        tasks = std::stoull(v);
      else if (bench::flag(argc, argv, i, "--events-per-task", v))
        per_task = std::stoul(v);
      else if (bench::flag(argc, argv, i, "--batch", v))
        batch = std::stoul(v);
      else if (bench::flag(argc, argv, i, "--rounds", v))
        rounds = std::stoul(v);
      else if (bench::flag(argc, argv, i, "--only", v))
        only = v;
      else if (bench::flag(argc, argv, i, "--store", v))
        keep_dir = v;
      else
        return std::cerr << "unknown option " << argv[i] << "\n" << usage, 2;
    }
    if (tasks < 1 || tasks > 10000000 || per_task < 3 || per_task > 1000 || batch < 1 ||
        batch > 100000 || rounds < 1 || rounds > 20 ||
        (!only.empty() && only != "raw" && only != "decode" && only != "replay"))
      return std::cerr << "options out of range\n" << usage, 2;

    bench::temp_dir tmp(base, "octomig-bench-replay");
    const std::filesystem::path dir =
        keep_dir.empty() ? tmp.path() : std::filesystem::path(keep_dir);
    std::printf("replay benchmark: store under %s, on %s\n", dir.c_str(),
                bench::describe_fs(dir).c_str());
    storage::options o;
    o.db_dir = dir / "db";
    o.sync = false;  // the fill only; nothing timed below writes
    const bool reuse = !keep_dir.empty() && std::filesystem::exists(o.db_dir);

    // ---- fill ----
    if (reuse) {
      std::printf("fill: reusing the store in %s\n", o.db_dir.c_str());
    } else {
      auto opened = storage::store::open(o);
      if (!opened) throw std::runtime_error(opened.err().message);
      auto& st = *opened.value();
      auto t0 = bench::clock::now();
      std::vector<storage::append_request> reqs;
      events::timestamp_us ts = 1767225600000000;  // 2026-01-01T00:00:00Z
      for (std::uint64_t n = 1; n <= tasks; ++n) {
        reqs.push_back(storage::append_request{"ServerTasks-" + std::to_string(n), 0,
                                               task_events(n, per_task), ts += 1000});
        if (reqs.size() == batch || n == tasks) {
          for (auto& r : st.append(reqs))
            if (!r) throw std::runtime_error("fill failed: " + r.err().message);
          reqs.clear();
        }
      }
      double s = bench::seconds_since(t0);
      std::printf(
          "fill: %llu events in %llu task streams, batches of %zu streams, sync=false: %.1f s "
          "(%.0f events/s)\n",
          static_cast<unsigned long long>(st.last_position()),
          static_cast<unsigned long long>(tasks), batch, s,
          static_cast<double>(st.last_position()) / s);
    }
    // Reopen: the write-ahead log is recovered and flushed into table files, as after a restart.
    auto opened = storage::store::open(o);
    if (!opened) throw std::runtime_error(opened.err().message);
    auto& st = *opened.value();
    const std::uint64_t total = st.last_position();
    std::uintmax_t bytes = 0;
    for (auto& f : std::filesystem::recursive_directory_iterator(o.db_dir))
      if (f.is_regular_file() && f.path().extension() == ".sst") bytes += f.file_size();
    std::printf("store: %llu events, %.1f MiB of table files (all column families)\n",
                static_cast<unsigned long long>(total), static_cast<double>(bytes) / (1 << 20));

    std::vector<figures> all;
    std::uint64_t raw_bytes = 0;
    for (std::size_t round = 1; round <= rounds; ++round) {
      figures f;
      if (only.empty() || only == "raw") {
        std::uint64_t n = 0, b = 0;
        auto t0 = bench::clock::now();
        auto s = st.scan_raw([&](std::string_view k, std::string_view v) {
          ++n;
          b += k.size() + v.size();
        });
        f.raw_s = bench::seconds_since(t0);
        if (!s || n != total)
          throw std::runtime_error("raw scan saw " + std::to_string(n) + " events");
        raw_bytes = b;
      }
      if (only.empty() || only == "decode") {
        std::uint64_t n = 0;
        auto t0 = bench::clock::now();
        auto s = st.scan(1, [&](const events::envelope&) {
          ++n;
          return true;
        });
        f.decode_s = bench::seconds_since(t0);
        if (!s || n != total)
          throw std::runtime_error("decoding scan saw " + std::to_string(n) + " events");
      }
      if (only.empty() || only == "replay") {
        auto t0 = bench::clock::now();
        auto r = st.replay_in_memory();
        f.replay_s = bench::seconds_since(t0);
        if (!r || *r != total) throw std::runtime_error("replay failed or saw a different count");
      }
      auto eps = [&](double s) { return s > 0 ? static_cast<double>(total) / s : 0.0; };
      std::printf(
          "round %zu: raw %.3f s (%.0f events/s)  decode %.3f s (%.0f events/s)  replay %.3f s "
          "(%.0f events/s)  replay/raw %.1f%%\n",
          round, f.raw_s, eps(f.raw_s), f.decode_s, eps(f.decode_s), f.replay_s, eps(f.replay_s),
          f.raw_s > 0 && f.replay_s > 0 ? 100.0 * f.raw_s / f.replay_s : 0.0);
      std::fflush(stdout);
      all.push_back(f);
    }
    if (!only.empty()) return 0;

    auto median = [&](double figures::*m) {
      std::vector<double> v;
      for (auto& f : all) v.push_back(f.*m);
      return bench::median(v);
    };
    std::vector<double> ratios;
    for (auto& f : all) ratios.push_back(f.raw_s / f.replay_s);
    double raw = static_cast<double>(total) / median(&figures::raw_s);
    double decode = static_cast<double>(total) / median(&figures::decode_s);
    double replay = static_cast<double>(total) / median(&figures::replay_s);
    double ratio = bench::median(ratios);
    std::printf(
        "\nsummary (median of %zu rounds, the mean of the middle two for an even count; the ratio "
        "is taken per round, then the median)\n",
        rounds);
    std::printf(
        "RESULT replay events=%llu raw_events_per_s=%.0f raw_mib_per_s=%.0f "
        "decode_events_per_s=%.0f "
        "replay_events_per_s=%.0f replay_over_raw=%.1f%%\n",
        static_cast<unsigned long long>(total), raw,
        static_cast<double>(raw_bytes) / (1 << 20) / median(&figures::raw_s), decode, replay,
        100.0 * ratio);
    std::printf("GOAL replay (>= 1000000 events/s and >= 30%% of the raw scan): %s\n",
                replay >= 1e6 && ratio >= 0.30 ? "met" : "MISSED");
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "octomig_bench_replay: " << e.what() << "\n";
    return 1;
  }
}
