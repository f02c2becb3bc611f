#!/usr/bin/env bash
# Builds the benchmarks and runs durable appends, replay, GET /api/tasks/{id} under wrk and a partial
# export of 10, 100 and 1,000 projects, then prints a summary. The figures and how to read them are
# in docs/performance.md. (bench/upload_bench.sh, bench/seed_bench.sh and octomig_bench_package
# take longer and run separately: see there.)
#
# Usage: bench/run_all.sh [BUILD_DIR]        (default <repo>/build-bench; configured if missing)
# Environment: JOBS (build parallelism, default 2), OCTOMIG_BENCH_DIR (temporary stores, default
# /tmp), and whatever bench/http_bench.sh and bench/export_bench.sh read (DURATION, ROUNDS,
# OCTOMIG_THREADS_LIST; SIZES, RELEASES, DEPLOYMENTS, LOG_LINES).
# Extra arguments for the two C++ benchmarks: APPEND_ARGS, REPLAY_ARGS.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
BUILD=${1:-$ROOT/build-bench}
JOBS=${JOBS:-2}
LOG=$(mktemp -d "${OCTOMIG_BENCH_DIR:-/tmp}/octomig-bench-logs-XXXXXX")

if [[ ! -f $BUILD/build.ninja && ! -f $BUILD/Makefile ]]; then
  gen=()
  command -v ninja >/dev/null && gen=(-G Ninja)
  cmake -S "$ROOT" -B "$BUILD" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DOCTOMIG_TESTS=OFF -DOCTOMIG_BENCH=ON
fi
cmake --build "$BUILD" -j"$JOBS" --target octomigd octomig-admin octomig_bench_append octomig_bench_replay octomig_bench_seed_task

print_machine "${OCTOMIG_BENCH_DIR:-/tmp}" "the temporary stores"

echo "== durable appends"
# shellcheck disable=SC2086
"$BUILD/bench/octomig_bench_append" ${APPEND_ARGS:-} | tee "$LOG/append.txt"
echo "== replay"
# shellcheck disable=SC2086
"$BUILD/bench/octomig_bench_replay" ${REPLAY_ARGS:-} | tee "$LOG/replay.txt"
echo "== GET /api/tasks/{id} under wrk"
"$ROOT/bench/http_bench.sh" "$BUILD" | tee "$LOG/http.txt"
echo "== partial export"
"$ROOT/bench/export_bench.sh" "$BUILD" | tee "$LOG/export.txt"

echo
echo "== summary (load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
grep -h -E '^(RESULT|GOAL) ' "$LOG/append.txt" "$LOG/replay.txt" "$LOG/http.txt" "$LOG/export.txt"
echo "(full output in $LOG)"
