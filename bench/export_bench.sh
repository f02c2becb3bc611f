#!/usr/bin/env bash
# A partial export of every project of a seeded instance, end to end: POST
# /api/migrations/partialexport on a source octomigd (encrypted, IncludeTaskLogs, real Argon2id
# interactive limits) pushing to a destination octomigd, both on loopback. Per instance size: the
# time of each step (Collect documents, Build package, Push package) from the task's events, the
# task's total time, the documents exported and documents/s, the package's size, and the source's
# memory: VmHWM before the export (the server's baseline, after listing the projects) and after it,
# plus the highest VmRSS sampled during each step.
#
# Usage: bench/export_bench.sh [BUILD_DIR]          (default BUILD_DIR: <repo>/build-bench)
# Environment: SIZES (projects per instance, default "10 100 1000"), RELEASES (per project,
#              default 3), DEPLOYMENTS (per release, default 2), LOG_LINES (per deployment task,
#              default 50), DESTINATION (1: push to a destination octomigd, the default; 0: no
#              destination, the source publishes the package in its own feed), OCTOMIG_THREADS
#              (--threads of both servers, default 2), TIMEOUT (seconds an export may take, default
#              1800), OCTOMIG_BENCH_DIR (base of the temporary directory, default /tmp).
#
# Goal (issue 7): the source's VmHWM under 256 MiB for an export of 2 GiB of task logs, e.g.
#   SIZES=100 RELEASES=5 DEPLOYMENTS=4 LOG_LINES=10000 DESTINATION=0 bench/export_bench.sh
# (docs/performance.md §7 has the figures and how the size was chosen).
#
# The servers listen on 127.0.0.1 with port 0 (the kernel picks the port, read from the log). The
# password is a throwaway generated here; it and the destination's API key go from 0600 files into
# a 0600 request body (jq --rawfile), never on a command line, and are never printed; curl sends
# the body with --data-binary @file and the admin key with -H @file (bench/lib.sh). Both servers
# are stopped on exit (trap) and the temporary directory removed. OCTOMIG_TEST_FAST_KDF is unset:
# the key derivation costs what it costs in production.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
BUILD=${1:-$ROOT/build-bench}
SIZES=${SIZES:-10 100 1000}
RELEASES=${RELEASES:-3}
DEPLOYMENTS=${DEPLOYMENTS:-2}
LOG_LINES=${LOG_LINES:-50}
DESTINATION=${DESTINATION:-1}
THREADS=${OCTOMIG_THREADS:-2}
TIMEOUT=${TIMEOUT:-1800}
BASE=${OCTOMIG_BENCH_DIR:-/tmp}
ADMIN=$BUILD/tools/octomig-admin
OCTOMIGD=$BUILD/server/octomigd
unset OCTOMIG_TEST_FAST_KDF OCTOMIG_TEST_FAST_RETRIES OCTOMIG_TEST_PAUSE_IN_STEP OCTOMIG_TEST_PACKAGE_WRITE_LIMIT

require_exes "$ADMIN" "$OCTOMIGD"
require_tools curl jq python3 du
for n in $SIZES; do
  [[ $n =~ ^[0-9]+$ && $n -ge 1 ]] || { echo "export_bench: SIZES must be positive numbers" >&2; exit 2; }
done
[[ $TIMEOUT =~ ^[0-9]+$ && $TIMEOUT -ge 1 && $TIMEOUT -le 86400 ]] || { echo "export_bench: TIMEOUT from 1 to 86400" >&2; exit 2; }
[[ $DESTINATION == 0 || $DESTINATION == 1 ]] || { echo "export_bench: DESTINATION is 0 or 1" >&2; exit 2; }

WORK=$(mktemp -d "$BASE/octomig-bench-export-XXXXXX")
SRC_PID=""
DST_PID=""
cleanup() {
  stop_pid "$OCTO_PID" octomigd
  stop_pid "$SRC_PID" "source octomigd"
  stop_pid "$DST_PID" "destination octomigd"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

kib_of() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }
# CPU time of PID so far (user + system, all threads) in clock ticks; the name may hold spaces.
ticks_of() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
HZ=$(getconf CLK_TCK)

print_machine "$BASE" "the temporary stores"
echo "octomigd --threads $THREADS; seed per project: $RELEASES releases, $DEPLOYMENTS deployments per release, $LOG_LINES log lines per deployment task; destination: $([[ $DESTINATION == 1 ]] && echo "a second octomigd" || echo "none (the source's own feed)")"
echo

# The throwaway export password, in a 0600 file.
( umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=\n' >"$WORK/password" )

for n in $SIZES; do
  src=$WORK/src-$n dst=$WORK/dst-$n
  echo "== $n projects"
  t0=$(now)
  "$ADMIN" --data-dir "$src" seed --projects "$n" --releases "$RELEASES" --deployments "$DEPLOYMENTS" \
    --log-lines "$LOG_LINES" >"$WORK/seed-$n.out"
  t1=$(now)
  seed_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
  seeded_docs=$(awk '/documents seeded/ {print $1}' "$WORK/seed-$n.out")
  seeded_tasks=$(awk '/^ServerTasks:/ {print $2}' "$WORK/seed-$n.out")
  seeded_lines=$(awk '/^ServerTasks:/ {print $(NF-2)}' "$WORK/seed-$n.out")
  store_bytes=$(du -sb "$src/db" | cut -f1)
  echo "seed: $seed_s s; $seeded_docs documents, $seeded_tasks tasks, $seeded_lines log lines; store (du -sb db) $store_bytes B ($(du -sh "$src/db" | cut -f1))"

  target=()
  if [[ $DESTINATION == 1 ]]; then
    start_octomigd "$dst" "$WORK/dst-$n.log" --threads "$THREADS" --max-upload-bytes $((64 << 30))
    DST_PID=$OCTO_PID DST_PORT=$OCTO_PORT OCTO_PID=""
    target=(--arg feed "http://127.0.0.1:$DST_PORT" --rawfile dstkey "$dst/admin-api-key")
  fi
  start_octomigd "$src" "$WORK/src-$n.log" --threads "$THREADS"
  SRC_PID=$OCTO_PID SRC_PORT=$OCTO_PORT OCTO_PID=""
  URL=http://127.0.0.1:$SRC_PORT
  HDR=$WORK/key-header-$n
  write_key_header "$src" "$HDR"

  curl -fsS -H @"$HDR" -o "$WORK/projects-$n.json" "$URL/api/Spaces-1/projects?take=100000"
  jq '[.Items[].Name]' "$WORK/projects-$n.json" >"$WORK/names-$n.json"
  names=$(jq length "$WORK/names-$n.json")
  [[ $names == "$n" ]] || { echo "export_bench: the source lists $names projects, not $n" >&2; exit 1; }
  list_hwm=$(kib_of "$SRC_PID" VmHWM)
  # Listing every project raises VmHWM by itself (one response of all of them): restart the
  # source so that its baseline is a server that has answered one small request only.
  stop_pid "$SRC_PID" "source octomigd"
  SRC_PID=""
  start_octomigd "$src" "$WORK/src-$n.log" --threads "$THREADS"
  SRC_PID=$OCTO_PID SRC_PORT=$OCTO_PORT OCTO_PID=""
  URL=http://127.0.0.1:$SRC_PORT
  curl -fsS -H @"$HDR" -o /dev/null "$URL/api/tasks?take=1"
  base_hwm=$(kib_of "$SRC_PID" VmHWM)
  base_rss=$(kib_of "$SRC_PID" VmRSS)
  echo "source VmHWM after listing the $n projects (take=100000): $list_hwm KiB; restarted"

  # The request body, 0600: the password and the destination's key come from files.
  ( umask 077
    jq -n --rawfile pw "$WORK/password" --slurpfile names "$WORK/names-$n.json" "${target[@]}" \
      '{PackageId: "Bench.Export", PackageVersion: "1.0.0", Password: ($pw | rtrimstr("\n")),
        Projects: $names[0], EncryptPackage: true, IncludeTaskLogs: true}
       + (if $ARGS.named.feed then {DestinationPackageFeed: $ARGS.named.feed,
                                    DestinationApiKey: ($ARGS.named.dstkey | split("\n")[0])}
          else {} end)' >"$WORK/body-$n.json" )

  cpu0=$(ticks_of "$SRC_PID")
  t_post=$(now)
  code=$(curl -sS -o "$WORK/echo-$n.json" -w '%{http_code}' -H @"$HDR" -H 'Content-Type: application/json' \
    --data-binary @"$WORK/body-$n.json" "$URL/api/migrations/partialexport")
  [[ $code == 200 ]] || { echo "export_bench: the export request answered $code:" >&2; cat "$WORK/echo-$n.json" >&2; exit 1; }
  rm -f "$WORK/body-$n.json"
  task=$(jq -r .TaskId "$WORK/echo-$n.json")

  # Until the task ends (TIMEOUT at most): VmRSS every 0.1 s with the time, the state every 1 s.
  : >"$WORK/rss-$n.txt"
  state=""
  for ((i = 0; i < TIMEOUT * 10; i++)); do
    printf '%s %s\n' "$(now)" "$(kib_of "$SRC_PID" VmRSS)" >>"$WORK/rss-$n.txt"
    if ((i % 10 == 0)); then
      state=$(curl -fsS -H @"$HDR" "$URL/api/tasks/$task" | jq -r .State)
      case $state in Success | Failed | Canceled | TimedOut) break ;; esac
    fi
    sleep 0.1
  done
  t_end=$(now)
  cpu1=$(ticks_of "$SRC_PID")
  cpu_s=$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz }')
  after_hwm=$(kib_of "$SRC_PID" VmHWM)
  after_rss=$(kib_of "$SRC_PID" VmRSS)
  curl -fsS -H @"$HDR" -o "$WORK/details-$n.json" "$URL/api/tasks/$task/details"
  if [[ $state != Success ]]; then
    echo "export_bench: $task ended as '${state:-still running after $TIMEOUT s}'; its log:" >&2
    jq -r '.ActivityLogs[0].LogElements[].MessageText' "$WORK/details-$n.json" >&2 || true
    exit 1
  fi
  "$ADMIN" --data-dir "$src" events --stream "$task" --json >"$WORK/events-$n.jsonl"

  # The figures: step times from the events' timestamps (ms), RSS samples per step, counts.
  python3 - "$WORK/events-$n.jsonl" "$WORK/rss-$n.txt" "$WORK/details-$n.json" "$n" "$base_hwm" \
    "$after_hwm" "$base_rss" "$after_rss" "$t_post" "$t_end" "$seed_s" "$store_bytes" "$seeded_lines" \
    "$cpu_s" <<'PY'
import json, sys
from datetime import datetime
(events_file, rss_file, details_file, n, base_hwm, after_hwm, base_rss, after_rss, t_post, t_end,
 seed_s, store_bytes, seeded_lines, cpu_s) = sys.argv[1:]
def t(ev):
    return datetime.fromisoformat(ev["Time"]).timestamp()
events = [json.loads(l) for l in open(events_file) if l.strip()]
start = {}; finish = {}; first = last = None; collected = built = None
for e in events:
    d = e["Data"]
    if e["Type"] == "task_started": first = t(e)
    elif e["Type"] == "step_started": start[d["Step"]] = t(e)
    elif e["Type"] == "step_finished": finish[d["Step"]] = t(e)
    elif e["Type"] in ("task_succeeded", "task_failed"): last = t(e)
    elif e["Type"] == "documents_collected": collected = d
    elif e["Type"] == "package_built": built = d
rss = []
for line in open(rss_file):
    a, b = line.split()
    if b: rss.append((float(a), int(b)))
lines = [x["MessageText"] for x in json.load(open(details_file))["ActivityLogs"][0]["LogElements"]]
tasks = 0
for l in lines:
    s = l.strip()
    if s.startswith("Task.") and s.rstrip("0123456789").endswith("."):
        tasks = int(s[len(s.rstrip("0123456789")):])
docs = sum(collected["Counts"].values()) + tasks
steps = ["Collect documents", "Build package", "Push package"]
total_ms = (last - first) * 1000
print("step                   ms     max VmRSS sampled (KiB)")
out = []
for s in steps:
    ms = (finish[s] - start[s]) * 1000
    peak = max([k for (ts, k) in rss if start[s] <= ts <= finish[s]] or [0])
    print(f"{s:<20} {ms:8.0f}   {peak if peak else '(no sample: under 0.1 s)'}")
    out.append((s, ms, peak))
secs = total_ms / 1000
print(f"task (started -> succeeded) {total_ms:.0f} ms; request to end seen by the poll "
      f"{float(t_end) - float(t_post):.1f} s; source CPU time (user + system) over that {cpu_s} s")
print(f"documents: {sum(collected['Counts'].values())} collected + {tasks} tasks = {docs} "
      f"({docs / secs:.0f} documents/s over the whole task); task logs {collected['TaskLogs']} "
      f"({seeded_lines} seeded log lines in the instance)")
print(f"package: {built['SizeBytes']} B ({built['SizeBytes'] / 2**20:.1f} MiB), encrypted={built['Encrypted']}")
print(f"source VmHWM: {base_hwm} KiB before the export (VmRSS {base_rss}), {after_hwm} KiB after "
      f"(VmRSS {after_rss}): +{(int(after_hwm) - int(base_hwm)) / 1024:.1f} MiB")
print("RESULT export projects=%s seed_s=%s store_bytes=%s documents=%d task_logs=%d collect_ms=%.0f "
      "build_ms=%.0f push_ms=%.0f total_ms=%.0f docs_per_s=%.0f package_bytes=%d "
      "cpu_s=%s base_hwm_kib=%s hwm_kib=%s collect_rss_kib=%d build_rss_kib=%d push_rss_kib=%d"
      % (n, seed_s, store_bytes, docs, collected["TaskLogs"], out[0][1], out[1][1], out[2][1],
         total_ms, docs / secs, built["SizeBytes"], cpu_s, base_hwm, after_hwm, out[0][2], out[1][2], out[2][2]))
PY
  if [[ $DESTINATION == 1 ]]; then
    dst_key_hdr=$WORK/dst-key-header
    write_key_header "$dst" "$dst_key_hdr"
    got=$(curl -fsS -H @"$dst_key_hdr" "http://127.0.0.1:$DST_PORT/api/Spaces-1/packages" |
      jq '[.Items[] | select(.PackageId == "Bench.Export")] | length')
    [[ $got == 1 ]] || { echo "export_bench: the destination's feed has no Bench.Export package" >&2; exit 1; }
    echo "destination: Bench.Export 1.0.0 is in its feed"
    write_key_header "$src" "$HDR"
  fi
  if ((after_hwm < 256 * 1024)); then goal=met; else goal=MISSED; fi
  echo "GOAL export_rss projects=$n (source VmHWM after the export < 256 MiB; $((after_hwm / 1024)) MiB): $goal"
  stop_pid "$SRC_PID" "source octomigd"
  SRC_PID=""
  stop_pid "$DST_PID" "destination octomigd"
  DST_PID=""
  rm -rf "$src" "$dst"
  echo
done
