#!/usr/bin/env bash
# `octomig-admin seed --projects N`: its time and the store's size, then list and get requests/s of
# octomigd on the seeded instance (issue 3, benchmarks).
#
# Usage: bench/seed_bench.sh [BUILD_DIR]          (default BUILD_DIR: <repo>/build-seed)
# Environment: PROJECTS (default 1000), DURATION (wrk -d, default 10s), CONNECTIONS (default 32),
#              OCTOMIG_THREADS (octomigd --threads, default 1), OCTOMIG_BENCH_DIR (default /tmp).
#
# octomigd listens on 127.0.0.1 with port 0, so the kernel picks a free port, which is read from its
# log. It is stopped on exit (trap) and the data directory removed. The admin API key is passed to
# wrk by value and never printed.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build-seed}
PROJECTS=${PROJECTS:-1000}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${OCTOMIG_THREADS:-1}
BASE=${OCTOMIG_BENCH_DIR:-/tmp}
ADMIN=$BUILD/tools/octomig-admin
OCTOMIGD=$BUILD/server/octomigd

for exe in "$ADMIN" "$OCTOMIGD"; do
  [[ -x $exe ]] || { echo "seed_bench: $exe is missing; build first" >&2; exit 1; }
done
for tool in wrk curl; do
  command -v "$tool" >/dev/null || { echo "seed_bench: $tool is not installed" >&2; exit 1; }
done
[[ $PROJECTS =~ ^[0-9]+$ && $PROJECTS -ge 2 ]] || { echo "seed_bench: PROJECTS must be at least 2" >&2; exit 2; }

WORK=$(mktemp -d "$BASE/octomig-bench-seed-XXXXXX")
OCTO_PID=""
cleanup() {
  if [[ -n $OCTO_PID ]] && kill -0 "$OCTO_PID" 2>/dev/null; then
    kill -TERM "$OCTO_PID" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do kill -0 "$OCTO_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$OCTO_PID" 2>/dev/null || true
    wait "$OCTO_PID" 2>/dev/null || true
  fi
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
"$OCTOMIGD" --data-dir "$WORK/data" --listen 127.0.0.1:0 --threads "$THREADS" --log-level info \
  2>"$WORK/octomigd.log" &
OCTO_PID=$!
PORT=""
for ((i = 0; i < 100; i++)); do
  PORT=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/api.*|\1|p' "$WORK/octomigd.log" | head -n1)
  [[ -n $PORT ]] && break
  kill -0 "$OCTO_PID" 2>/dev/null || break
  sleep 0.1
done
[[ -n $PORT ]] || { echo "seed_bench: octomigd did not start; its log:" >&2; cat "$WORK/octomigd.log" >&2; exit 1; }
KEY_HEADER="X-Octopus-ApiKey: $(head -n1 "$WORK/data/admin-api-key")"

MIDDLE=Projects-$((PROJECTS / 2))
LIST=/api/Spaces-1/projects?take=30
GET=/api/Spaces-1/projects/$MIDDLE
for path in "$LIST" "$GET"; do
  code=$(curl -sS -H "$KEY_HEADER" -o "$WORK/body.json" -w '%{http_code}' "http://127.0.0.1:$PORT$path")
  [[ $code == 200 ]] || { echo "seed_bench: GET $path answered $code" >&2; exit 1; }
  echo "  GET $path: 200, $(wc -c <"$WORK/body.json") bytes"
done

# wrk_rps NAME PATH: prints one line and sets RPS
wrk_rps() {
  local out non2xx p99
  out=$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -H "$KEY_HEADER" "http://127.0.0.1:$PORT$2")
  RPS=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$out")
  printf '  %-5s %10s req/s   p99 %8s   non-2xx %s\n' "$1" "$RPS" "$p99" "${non2xx:-0}"
  [[ -z $non2xx ]] || { echo "seed_bench: $1 had non-2xx answers" >&2; exit 1; }
}
echo "octomigd --threads $THREADS on port $PORT; wrk -t1 -c$CONNECTIONS -d$DURATION"
wrk -t1 -c"$CONNECTIONS" -d2s -H "$KEY_HEADER" "http://127.0.0.1:$PORT$LIST" >/dev/null  # warm-up
wrk_rps list "$LIST"
list_rps=$RPS
wrk_rps get "$GET"
get_rps=$RPS

echo "RESULT seed projects=$PROJECTS seconds=$seed_s documents=$docs tasks=$tasks store_bytes=$store_bytes list_rps=$list_rps get_rps=$get_rps"
