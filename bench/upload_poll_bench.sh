#!/usr/bin/env bash
# Do package uploads disturb task polling? GET /api/tasks/{id} under wrk on one octomigd, first
# alone (baseline), then while UPLOADS curl uploads of an UPLOAD_MIB MiB package run at once.
#
# Usage: bench/upload_poll_bench.sh [BUILD_DIR]          (default BUILD_DIR: <repo>/build)
# Environment: DURATION (wrk -d of each poll round, default 10s), CONNECTIONS (wrk -c, default 8),
#              UPLOADS (concurrent uploads, default 8), UPLOAD_MIB (size of the package, default 256),
#              OCTOMIG_THREADS (octomigd --threads, default 2),
#              OCTOMIG_BENCH_DIR (base of the temporary directory, default /tmp; it holds the
#              package and the data directory, i.e. about (UPLOADS + 1) * UPLOAD_MIB MiB).
#
# The data directory is seeded with one finished task (octomig_bench_seed_task) while no server
# runs; octomigd then starts on 127.0.0.1 with an ephemeral port, --threads OCTOMIG_THREADS and
# --max-concurrent-uploads UPLOADS (so that no upload gets 503). wrk runs with -t1 -cCONNECTIONS.
# Phase 1 (baseline): one wrk run of DURATION after a 1 s warm-up that is not counted.
# Phase 2 (uploads): the UPLOADS curl uploads (each a different package id, so no upload replaces
# another) start in the background and wrk starts right after them; wrk rounds of DURATION follow
# each other until every upload has ended (at most MAX_ROUNDS = 20 rounds). Phase 2's req/s is all
# its requests over all its rounds' time; its p50 and p99 are the highest of its rounds' (the first
# round is the one the uploads start in). Each upload must answer 201 with the package's size.
# upload_mb_s_total is UPLOADS * UPLOAD_MIB MiB (in MB, 10^6 bytes) over the time from the first
# upload's start to the last one's end. The server, the uploads still running and the temporary
# directory (the package, the data directory with the published packages) are removed on exit
# (trap). The API key is read from the data directory into a header file (mode 0600) and is never
# printed nor put on a command line: curl reads it with -H @file, wrk with -s bench/key_header.lua
# (OCTOMIG_KEY_HEADER_FILE names the file). The shared functions are in bench/lib.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
BUILD=${1:-$ROOT/build}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-8}
UPLOADS=${UPLOADS:-8}
UPLOAD_MIB=${UPLOAD_MIB:-256}
THREADS=${OCTOMIG_THREADS:-2}
BASE=${OCTOMIG_BENCH_DIR:-/tmp}
MAX_ROUNDS=20
GOAL_P99_MS=10
OCTOMIGD=$BUILD/server/octomigd
SEED=$BUILD/bench/octomig_bench_seed_task
TASK=ServerTasks-1
URL_PATH=/api/tasks/$TASK

require_exes "$OCTOMIGD" "$SEED"
require_tools wrk curl
[[ $UPLOADS =~ ^[0-9]+$ && $UPLOADS -ge 1 && $UPLOADS -le 64 ]] || { echo "UPLOADS from 1 to 64" >&2; exit 2; }
[[ $UPLOAD_MIB =~ ^[0-9]+$ && $UPLOAD_MIB -ge 1 && $UPLOAD_MIB -le 4096 ]] ||
  { echo "UPLOAD_MIB from 1 to 4096" >&2; exit 2; }
[[ $THREADS =~ ^[0-9]+$ && $THREADS -ge 1 && $THREADS -le 256 ]] || { echo "OCTOMIG_THREADS from 1 to 256" >&2; exit 2; }
[[ $CONNECTIONS =~ ^[0-9]+$ && $CONNECTIONS -ge 1 && $CONNECTIONS -le 1000 ]] ||
  { echo "CONNECTIONS from 1 to 1000" >&2; exit 2; }
[[ $DURATION =~ ^[0-9]+[smh]?$ ]] || { echo "DURATION: a wrk duration such as 10s" >&2; exit 2; }

# the package, the published copies and some room for the store and the logs
NEED_MIB=$(((UPLOADS + 1) * UPLOAD_MIB + 64))
FREE_MIB=$(df -Pm "$BASE" | awk 'NR == 2 {print $4}')
((FREE_MIB >= NEED_MIB)) ||
  { echo "upload_poll_bench: $BASE has $FREE_MIB MiB free, the run needs about $NEED_MIB MiB" >&2; exit 1; }

WORK=$(mktemp -d "$BASE/octomig-bench-upload-poll-XXXXXX")
UP_PIDS=()
WRK_RAW=$WORK/wrk-raw.txt

cleanup() {
  local pid
  for pid in "${UP_PIDS[@]}"; do stop_pid "$pid" curl; done
  stop_pid "$OCTO_PID" octomigd
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wrk_run NAME: one wrk run against the task; prints one line and sets RPS, P50_MS, P99_MS,
# REQUESTS, SECONDS_RUN, NON2XX and SOCKET_ERRORS
wrk_run() {
  local name=$1
  wrk_measure "$URL$URL_PATH" -t1 -c"$CONNECTIONS" -d"$DURATION" -s "$KEY_LUA"
  printf '  %-24s %10s req/s   p50 %8s ms   p99 %8s ms   %8s requests in %ss   non-2xx %s%s\n' "$name" "$RPS" \
    "$P50_MS" "$P99_MS" "$REQUESTS" "$SECONDS_RUN" "$NON2XX" "${SOCKET_ERRORS:+   socket errors: $SOCKET_ERRORS}"
}

print_machine "$BASE" "the temporary directory"

# ---- the data directory: one finished task, seeded while no server runs ----
"$SEED" "$WORK/data" >/dev/null
HDR=$WORK/apikey-header
write_key_header "$WORK/data" "$HDR"   # exports OCTOMIG_KEY_HEADER_FILE for key_header.lua

start_octomigd "$WORK/data" "$WORK/octomigd.log" --threads "$THREADS" --log-level info \
  --max-concurrent-uploads "$UPLOADS"
URL=http://127.0.0.1:$OCTO_PORT
code=$(curl -sS -H @"$HDR" -o /dev/null -w '%{http_code}' "$URL$URL_PATH")
[[ $code == 200 ]] || { echo "upload_poll_bench: GET $URL_PATH answered $code" >&2; exit 1; }
echo "== octomigd --threads $THREADS --max-concurrent-uploads $UPLOADS (port $OCTO_PORT);" \
  "wrk -t1 -c$CONNECTIONS -d$DURATION --latency GET $URL_PATH"

# ---- phase 1: the poll alone ----
wrk -t1 -c"$CONNECTIONS" -d1s -s "$KEY_LUA" "$URL$URL_PATH" >/dev/null  # warm-up, not counted
wrk_run "baseline"
BASE_RPS=$RPS BASE_P50=$P50_MS BASE_P99=$P99_MS BASE_NON2XX=$NON2XX BASE_ERRORS=$SOCKET_ERRORS

# ---- phase 2: the same poll while the uploads run ----
PKG=$WORK/package.bin
BYTES=$((UPLOAD_MIB * 1024 * 1024))
echo "== writing a ${UPLOAD_MIB} MiB package of random bytes; $UPLOADS uploads of it to /api/Spaces-1/packages/raw"
head -c "$BYTES" /dev/urandom >"$PKG"

declare -a UP_START
for ((i = 1; i <= UPLOADS; i++)); do
  UP_START[i]=$(now)
  curl -sS -o "$WORK/upload-$i.json" -w '%{http_code} %{time_total}' -H @"$HDR" \
    -F "file=@$PKG;filename=Bench.Upload.1.0.$i.zip;type=application/zip" \
    "$URL/api/Spaces-1/packages/raw?overwriteMode=OverwriteExisting" >"$WORK/upload-$i.out" 2>"$WORK/upload-$i.err" &
  UP_PIDS[i]=$!
done

uploads_running() {
  local pid
  for pid in "${UP_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && return 0; done
  return 1
}

rounds=0 total_requests=0 total_seconds=0 up_p50=0 up_p99=0 up_non2xx=0 up_errors=""
while ((rounds < MAX_ROUNDS)); do
  rounds=$((rounds + 1))
  wrk_run "uploads round $rounds"
  total_requests=$((total_requests + REQUESTS))
  total_seconds=$(awk -v a="$total_seconds" -v b="$SECONDS_RUN" 'BEGIN { printf "%.3f", a + b }')
  up_p50=$(awk -v a="$up_p50" -v b="$P50_MS" 'BEGIN { print (b > a) ? b : a }')
  up_p99=$(awk -v a="$up_p99" -v b="$P99_MS" 'BEGIN { print (b > a) ? b : a }')
  up_non2xx=$((up_non2xx + NON2XX))
  [[ -n $SOCKET_ERRORS ]] && up_errors+="${up_errors:+; }round $rounds: $SOCKET_ERRORS"
  uploads_running || break
done
STOPPED_AT=$(now)  # the end of the uploads that have not ended by now (they are stopped)
if uploads_running; then
  echo "upload_poll_bench: uploads still running after $MAX_ROUNDS wrk rounds of $DURATION; stopping them" >&2
fi

failed=0 first_start="" last_end=""
printf '  %-8s %6s %10s %10s\n' upload status seconds "MB/s"
for ((i = 1; i <= UPLOADS; i++)); do
  pid=${UP_PIDS[i]}
  kill -0 "$pid" 2>/dev/null && stop_pid "$pid" curl
  rc=0
  wait "$pid" 2>/dev/null || rc=$?
  out=$(cat "$WORK/upload-$i.out" 2>/dev/null || true)
  status=${out%% *} secs=${out##* }
  [[ -n $out ]] || status=none secs=0
  ok=1
  if ((rc != 0)) || [[ $status != 201 ]]; then
    ok=0
    echo "upload_poll_bench: upload $i: curl exit $rc, HTTP $status: $(head -c 300 "$WORK/upload-$i.err" 2>/dev/null)" \
      "$(head -c 300 "$WORK/upload-$i.json" 2>/dev/null)" >&2
  elif ! grep -q "\"PackageSizeBytes\":${BYTES}[,}]" "$WORK/upload-$i.json"; then
    ok=0
    echo "upload_poll_bench: upload $i: the response does not give PackageSizeBytes $BYTES" >&2
  fi
  if ((ok)); then
    end=$(awk -v a="${UP_START[i]}" -v b="$secs" 'BEGIN { printf "%.6f", a + b }')
  else
    failed=$((failed + 1))
    [[ -n $out ]] && end=$(awk -v a="${UP_START[i]}" -v b="$secs" 'BEGIN { printf "%.6f", a + b }') || end=$STOPPED_AT
  fi
  rate=$(awk -v b="$BYTES" -v s="$secs" -v ok="$ok" 'BEGIN { if (ok && s > 0) printf "%.0f", b / 1e6 / s; else print "-" }')
  printf '  %-8s %6s %10s %10s\n' "$i" "$status" "$secs" "$rate"
  first_start=$(awk -v a="$first_start" -v b="${UP_START[i]}" 'BEGIN { print (a == "" || b < a) ? b : a }')
  last_end=$(awk -v a="$last_end" -v b="$end" 'BEGIN { print (a == "" || b > a) ? b : a }')
done
UP_PIDS=()
UP_WALL=$(awk -v a="$first_start" -v b="$last_end" 'BEGIN { printf "%.3f", b - a }')
UP_MB_S=$(awk -v n="$((UPLOADS - failed))" -v b="$BYTES" -v s="$UP_WALL" 'BEGIN { if (s > 0) printf "%.0f", n * b / 1e6 / s; else print 0 }')
UP_RPS=$(awk -v r="$total_requests" -v s="$total_seconds" 'BEGIN { if (s > 0) printf "%.2f", r / s; else print 0 }')
PUBLISHED=$(find "$WORK/data/feed" -path "$WORK/data/feed/.incoming" -prune -o -type f -name 'Bench.Upload.*' -print | wc -l)
INCOMING=$(find "$WORK/data/feed/.incoming" -type f 2>/dev/null | wc -l)
echo "  uploads: $((UPLOADS - failed)) of $UPLOADS answered 201 in ${UP_WALL}s from the first start to the last end (${UP_MB_S} MB/s in all);" \
  "the poll ran $rounds round(s), ${total_seconds}s; package files in the feed: $PUBLISHED, left in .incoming: $INCOMING"
(( $(awk -v u="$UP_WALL" -v p="$total_seconds" 'BEGIN { print (2 * u < p) }') )) &&
  echo "  note: the uploads covered less than half of the poll's time; a shorter DURATION measures them more closely"

problems=$(grep -c -E '^[^ ]+ (WARN|ERROR) ' "$WORK/octomigd.log" || true)
if ((problems > 0)); then
  echo "upload_poll_bench: the octomigd log has $problems warning or error line(s); the first ones:" >&2
  grep -E '^[^ ]+ (WARN|ERROR) ' "$WORK/octomigd.log" | head -n 5 >&2
fi

goal=MET
awk -v p="$up_p99" -v g="$GOAL_P99_MS" 'BEGIN { exit !(p < g) }' || goal=MISSED
if ((failed > 0)); then
  echo "upload_poll_bench: $failed of $UPLOADS uploads failed" >&2
  goal=MISSED
fi
if ((BASE_NON2XX + up_non2xx > 0)); then
  echo "upload_poll_bench: the poll got $((BASE_NON2XX + up_non2xx)) non-2xx responses" >&2
  goal=MISSED
fi
[[ -n $BASE_ERRORS$up_errors ]] &&
  echo "upload_poll_bench: wrk socket errors: ${BASE_ERRORS:+baseline: $BASE_ERRORS}${up_errors:+ uploads: $up_errors}" >&2

echo
echo "summary (uploads phase: req/s over all its rounds, p50 and p99 the highest of its rounds')"
echo "RESULT upload_poll phase=baseline rps=$BASE_RPS p50_ms=$BASE_P50 p99_ms=$BASE_P99 non2xx=$BASE_NON2XX"
echo "RESULT upload_poll phase=uploads uploads=$UPLOADS upload_mib=$UPLOAD_MIB upload_mb_s_total=$UP_MB_S" \
  "upload_wall_s=$UP_WALL rps=$UP_RPS p50_ms=$up_p50 p99_ms=$up_p99 rounds=$rounds non2xx=$up_non2xx failed_uploads=$failed"
echo "GOAL upload_poll (p99 of the poll under $UPLOADS concurrent $UPLOAD_MIB MiB uploads < $GOAL_P99_MS ms): $goal"
((failed == 0)) || exit 1
