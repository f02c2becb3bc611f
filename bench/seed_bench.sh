#!/usr/bin/env bash
# `octomig-admin seed --projects N`: its time and the store's size, then list and get requests/s of
# octomigd on the seeded instance (issue 3, benchmarks).
#
# Usage: bench/seed_bench.sh [BUILD_DIR]          (default BUILD_DIR: <repo>/build-seed)
# Environment: PROJECTS (default 1000), DURATION (wrk -d, default 10s), CONNECTIONS (default 32),
#              OCTOMIG_THREADS (octomigd --threads, default 1), OCTOMIG_BENCH_DIR (default /tmp).
#
# octomigd listens on 127.0.0.1 with port 0, so the kernel picks a free port, which is read from its
# log. It is stopped on exit (trap) and the data directory removed. The admin API key is read into a
# header file (mode 0600) and is never printed nor put on a command line: curl reads it with
# -H @file, wrk with -s bench/key_header.lua (OCTOMIG_KEY_HEADER_FILE names the file). The shared
# functions are in bench/lib.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
BUILD=${1:-$ROOT/build-seed}
PROJECTS=${PROJECTS:-1000}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${OCTOMIG_THREADS:-1}
BASE=${OCTOMIG_BENCH_DIR:-/tmp}
ADMIN=$BUILD/tools/octomig-admin
OCTOMIGD=$BUILD/server/octomigd

require_exes "$ADMIN" "$OCTOMIGD"
require_tools wrk curl
[[ $PROJECTS =~ ^[0-9]+$ && $PROJECTS -ge 2 ]] || { echo "seed_bench: PROJECTS must be at least 2" >&2; exit 2; }

WORK=$(mktemp -d "$BASE/octomig-bench-seed-XXXXXX")
cleanup() {
  stop_pid "$OCTO_PID" octomigd
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- seed ----
echo "seed --projects $PROJECTS (defaults: 2 releases, 2 deployments, 20 log lines) into $WORK/data"
t0=$(date +%s.%N)
"$ADMIN" --data-dir "$WORK/data" seed --projects "$PROJECTS" >"$WORK/seed.out"
t1=$(date +%s.%N)
seed_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
docs=$(awk '/documents seeded/ {print $1}' "$WORK/seed.out")
tasks=$(awk '/^ServerTasks:/ {print $2}' "$WORK/seed.out")
store_bytes=$(du -sb "$WORK/data/db" | cut -f1)
store_human=$(du -sh "$WORK/data/db" | cut -f1)
echo "  $seed_s s; $docs documents, $tasks tasks; store (du -sh db) $store_human"

# ---- serve it ----
start_octomigd "$WORK/data" "$WORK/octomigd.log" --threads "$THREADS" --log-level info
HDR=$WORK/apikey-header
write_key_header "$WORK/data" "$HDR"   # exports OCTOMIG_KEY_HEADER_FILE for key_header.lua
URL=http://127.0.0.1:$OCTO_PORT

MIDDLE=Projects-$((PROJECTS / 2))
LIST='/api/Spaces-1/projects?take=30'
GET=/api/Spaces-1/projects/$MIDDLE
for path in "$LIST" "$GET"; do
  code=$(curl -sS -H @"$HDR" -o "$WORK/body.json" -w '%{http_code}' "$URL$path")
  [[ $code == 200 ]] || { echo "seed_bench: GET $path answered $code" >&2; exit 1; }
  echo "  GET $path: 200, $(wc -c <"$WORK/body.json") bytes"
done

# wrk_rps NAME PATH: prints one line and sets RPS
wrk_rps() {
  wrk_measure "$URL$2" -t1 -c"$CONNECTIONS" -d"$DURATION" -s "$KEY_LUA"
  printf '  %-5s %10s req/s   p99 %8s   non-2xx %s\n' "$1" "$RPS" "$P99" "$NON2XX"
  [[ $NON2XX == 0 ]] || { echo "seed_bench: $1 had non-2xx answers" >&2; exit 1; }
}
echo "octomigd --threads $THREADS on port $OCTO_PORT; wrk -t1 -c$CONNECTIONS -d$DURATION"
wrk -t1 -c"$CONNECTIONS" -d2s -s "$KEY_LUA" "$URL$LIST" >/dev/null  # warm-up
wrk_rps list "$LIST"
list_rps=$RPS
wrk_rps get "$GET"
get_rps=$RPS

echo "RESULT seed projects=$PROJECTS seconds=$seed_s documents=$docs tasks=$tasks store_bytes=$store_bytes list_rps=$list_rps get_rps=$get_rps"
