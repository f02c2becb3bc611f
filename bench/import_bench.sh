#!/usr/bin/env bash
# Import and `octomig migrate`, end to end, on seeded instances with history. Two parts:
#
# import   A partial export of every project of a source octomigd (encrypted, IncludeTaskLogs,
#          real Argon2id limits) pushed into a destination octomigd, then on the destination an
#          import dry run (IsDryRun: true) and the real import (DeletePackageOnCompletion: true,
#          as `octomig migrate` sends it), each through POST /api/migrations/import. Per task:
#          its time and each step's (Open package, Plan import, Commit import, Finish import),
#          from the OccurredAt of its log lines (GET /api/tasks/{id}/details), the documents in
#          the package and documents/s, and the commit's share of the real import.
# migrate  `octomig migrate --yes --json --encrypt --include-task-logs --project <every project>`
#          between a fresh source and a fresh destination: its wall time, and how it divides into
#          the three tasks (export, dry run, import: each from its "Task queued" line to its last
#          line) and the rest (the client's polls, requests and its reading of the summaries).
#
# The figures and how to read them: docs/performance.md §8.
#
# Usage: bench/import_bench.sh [BUILD_DIR]          (default BUILD_DIR: <repo>/build-bench)
# Environment: SIZES (projects per instance, default "10 100 1000"), ROUNDS (runs per size and
#              part, default 3; the summary gives the median and min-max), PARTS (default
#              "import migrate"), RELEASES (per project, default 3), DEPLOYMENTS (per release,
#              default 2), LOG_LINES (per deployment task, default 50), OCTOMIG_THREADS (--threads
#              of both servers, default 2), TIMEOUT (seconds a task may take, default 1800),
#              LOAD_BELOW (wait until the 1-minute load average is below it, default 1.0; 0: do
#              not wait), LOAD_WAIT (at most this many seconds, polling every 30 s, default 1200;
#              the run starts anyway after it), OCTOMIG_BENCH_DIR (base of the temporary
#              directory, default /tmp).
#
# Each size is seeded once (octomig-admin seed, while no server runs) and every run starts from a
# copy of that data directory, with a new, empty destination. Every server listens on 127.0.0.1
# with port 0 and both are stopped after each run. The password is a throwaway generated here into
# a 0600 file; it and the destination's API key go from files into 0600 request bodies (jq
# --rawfile), never on a command line, and are never printed; curl sends the bodies with
# --data-binary @file and the admin keys with -H @file (bench/lib.sh); octomig reads them with
# --source-api-key-file, --dest-api-key-file and --password-file. Every loop is bounded in count
# and time. The servers are stopped on exit (trap) and the temporary directory removed.
# OCTOMIG_TEST_FAST_KDF is unset: the key derivation costs what it costs in production.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
BUILD=${1:-$ROOT/build-bench}
SIZES=${SIZES:-10 100 1000}
ROUNDS=${ROUNDS:-3}
PARTS=${PARTS:-import migrate}
RELEASES=${RELEASES:-3}
DEPLOYMENTS=${DEPLOYMENTS:-2}
LOG_LINES=${LOG_LINES:-50}
THREADS=${OCTOMIG_THREADS:-2}
TIMEOUT=${TIMEOUT:-1800}
LOAD_BELOW=${LOAD_BELOW:-1.0}
LOAD_WAIT=${LOAD_WAIT:-1200}
BASE=${OCTOMIG_BENCH_DIR:-/tmp}
ADMIN=$BUILD/tools/octomig-admin
OCTOMIGD=$BUILD/server/octomigd
OCTOMIG=$BUILD/tools/octomig
unset OCTOMIG_TEST_FAST_KDF OCTOMIG_TEST_FAST_RETRIES OCTOMIG_TEST_PAUSE_IN_STEP OCTOMIG_TEST_PACKAGE_WRITE_LIMIT
unset OCTOMIG_SOURCE_API_KEY OCTOMIG_DEST_API_KEY OCTOMIG_API_KEY OCTOMIG_PASSWORD

require_exes "$ADMIN" "$OCTOMIGD"
[[ " $PARTS " == *" migrate "* ]] && require_exes "$OCTOMIG"
require_tools curl jq python3
for n in $SIZES; do
  [[ $n =~ ^[0-9]+$ && $n -ge 1 ]] || { echo "$BENCH_NAME: SIZES must be positive numbers" >&2; exit 2; }
done
for p in $PARTS; do
  [[ $p == import || $p == migrate ]] || { echo "$BENCH_NAME: PARTS holds import and/or migrate" >&2; exit 2; }
done
[[ $ROUNDS =~ ^[0-9]+$ && $ROUNDS -ge 1 && $ROUNDS -le 100 ]] || { echo "$BENCH_NAME: ROUNDS from 1 to 100" >&2; exit 2; }
[[ $TIMEOUT =~ ^[0-9]+$ && $TIMEOUT -ge 1 && $TIMEOUT -le 86400 ]] || { echo "$BENCH_NAME: TIMEOUT from 1 to 86400" >&2; exit 2; }
[[ $LOAD_WAIT =~ ^[0-9]+$ && $LOAD_WAIT -le 86400 ]] || { echo "$BENCH_NAME: LOAD_WAIT from 0 to 86400" >&2; exit 2; }
[[ $LOAD_BELOW =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "$BENCH_NAME: LOAD_BELOW is a number" >&2; exit 2; }

WORK=$(mktemp -d "$BASE/octomig-bench-import-XXXXXX")
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

load1() { cut -d' ' -f1 /proc/loadavg; }
below() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

# Waits (LOAD_WAIT seconds at most, a look every 30 s) for the 1-minute load to go below LOAD_BELOW.
if [[ $LOAD_BELOW != 0 ]] && ! below "$(load1)" "$LOAD_BELOW"; then
  echo "waiting (at most $LOAD_WAIT s) for the 1-minute load average ($(load1)) to go below $LOAD_BELOW" >&2
  for ((waited = 0; waited < LOAD_WAIT; waited += 30)); do
    sleep 30
    below "$(load1)" "$LOAD_BELOW" && break
  done
  if below "$(load1)" "$LOAD_BELOW"; then
    echo "load average below $LOAD_BELOW after about $waited s of waiting"
  else
    echo "NOTE: the 1-minute load average was still $(load1) after $LOAD_WAIT s; measuring anyway"
  fi
fi
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
echo "start: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); load average $LOAD_START"
echo "code: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "(not a git checkout)")$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo ", with uncommitted changes")"
print_machine "$BASE" "the temporary stores"
echo "octomigd --threads $THREADS; seed per project: $RELEASES releases, $DEPLOYMENTS deployments per release, $LOG_LINES log lines per deployment task; $ROUNDS runs per size and part"
echo

# The throwaway password, in a 0600 file.
( umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=\n' >"$WORK/password" )

# The figures of one run, from the tasks' details: python3 "$WORK/figures.py" MODE ARGS...
cat >"$WORK/figures.py" <<'PY'
import json, sys
from datetime import datetime

def lines(path):
    d = json.load(open(path))
    out = []
    for a in d["ActivityLogs"]:
        for e in a["LogElements"]:
            out.append((datetime.fromisoformat(e["OccurredAt"]).timestamp(), e["MessageText"]))
    return out

def first(ls, prefix):
    for t, m in ls:
        if m.startswith(prefix): return t
    raise SystemExit("no log line starts with %r" % prefix)

def text(ls, prefix):
    for t, m in ls:
        if m.startswith(prefix): return m
    raise SystemExit("no log line starts with %r" % prefix)

def task_ms(ls):  # "Task started" to "Task completed successfully"
    return (first(ls, "Task completed successfully") - first(ls, "Task started")) * 1000

def import_figures(ls):
    s = {k: first(ls, "Step started: " + k) for k in ("Open package", "Plan import", "Commit import", "Finish import")}
    f = {k: first(ls, "Step finished: " + k) for k in s}
    end = first(ls, "Task completed successfully")
    return {
        "total": task_ms(ls),
        "open": (f["Open package"] - s["Open package"]) * 1000,
        "plan": (f["Plan import"] - s["Plan import"]) * 1000,
        # the commit's batch is written with "Step finished: Commit import"'s append: it ends
        # when the next step starts
        "commit": (s["Finish import"] - s["Commit import"]) * 1000,
        "commit_step": (f["Commit import"] - s["Commit import"]) * 1000,
        "finish": (f["Finish import"] - s["Finish import"]) * 1000,
        "to_end": (end - f["Finish import"]) * 1000,
    }

def package_documents(ls):
    # "Step finished: Open package (N documents, M tasks)"
    m = text(ls, "Step finished: Open package (")
    inner = m[m.index("(") + 1:m.rindex(")")].split(", ")
    return int(inner[0].split()[0]), int(inner[1].split()[0])

mode = sys.argv[1]
if mode == "import":
    n, run, exp_f, dry_f, imp_f = sys.argv[2:]
    exp, dry, imp = lines(exp_f), lines(dry_f), lines(imp_f)
    d, i = import_figures(dry), import_figures(imp)
    docs, tasks = package_documents(imp)
    total = docs + tasks
    built = text(exp, "Package ")
    size = int(built.split(" built: ")[1].split()[0])
    print("RESULT import projects=%s run=%s documents=%d tasks=%d package_bytes=%d export_ms=%.0f "
          "dry_ms=%.0f dry_open_ms=%.0f dry_plan_ms=%.0f dry_commit_ms=%.0f dry_finish_ms=%.0f "
          "dry_docs_per_s=%.0f imp_ms=%.0f imp_open_ms=%.0f imp_plan_ms=%.0f imp_commit_ms=%.0f "
          "imp_commit_step_ms=%.0f imp_finish_ms=%.0f imp_docs_per_s=%.0f commit_docs_per_s=%.0f "
          "commit_share_pct=%.1f"
          % (n, run, docs, tasks, size, task_ms(exp), d["total"], d["open"], d["plan"], d["commit"],
             d["finish"], total / (d["total"] / 1000), i["total"], i["open"], i["plan"], i["commit"],
             i["commit_step"], i["finish"], total / (i["total"] / 1000),
             total / (i["commit"] / 1000), 100 * i["commit"] / i["total"]))
elif mode == "migrate":
    n, run, t0, t1, rc, exp_f, dry_f, imp_f, dry_get, imp_get = sys.argv[2:]
    wall = (float(t1) - float(t0)) * 1000
    spans = {}
    for key, f in (("export", exp_f), ("dry", dry_f), ("import", imp_f)):
        ls = lines(f)
        spans[key] = (ls[0][0], ls[-1][0])  # "Task queued" .. the last line
    busy = sum((b - a) * 1000 for a, b in spans.values())
    out = "RESULT migrate projects=%s run=%s exit=%s wall_ms=%.0f" % (n, run, rc, wall)
    for key in ("export", "dry", "import"):
        ms = (spans[key][1] - spans[key][0]) * 1000
        out += " %s_ms=%.0f %s_pct=%.1f" % (key, ms, key, 100 * ms / wall)
    out += " rest_ms=%.0f rest_pct=%.1f" % (wall - busy, 100 * (wall - busy) / wall)
    # the rest, in its parts: before the export is queued, between the tasks, after the import
    out += " lead_ms=%.0f gap_export_dry_ms=%.0f gap_dry_import_ms=%.0f tail_ms=%.0f" % (
        (spans["export"][0] - float(t0)) * 1000, (spans["dry"][0] - spans["export"][1]) * 1000,
        (spans["import"][0] - spans["dry"][1]) * 1000, (float(t1) - spans["import"][1]) * 1000)
    out += " get_dry_details_ms=%.0f get_import_details_ms=%.0f" % (float(dry_get) * 1000, float(imp_get) * 1000)
    print(out)
PY

# start_pair N RUN: a copy of the seeded store as the source, a new destination; both started.
start_pair() {
  local n=$1 run=$2
  src=$WORK/src-$n-$run dst=$WORK/dst-$n-$run
  cp -a "$WORK/seed-$n" "$src"
  # The logs exist before the servers start: start_octomigd may read one before the background
  # shell has opened it.
  : >"$WORK/dst-$n-$run.log"
  : >"$WORK/src-$n-$run.log"
  start_octomigd "$dst" "$WORK/dst-$n-$run.log" --threads "$THREADS" --max-upload-bytes $((64 << 30))
  DST_PID=$OCTO_PID DST_PORT=$OCTO_PORT OCTO_PID=""
  start_octomigd "$src" "$WORK/src-$n-$run.log" --threads "$THREADS"
  SRC_PID=$OCTO_PID SRC_PORT=$OCTO_PORT OCTO_PID=""
  SRC_URL=http://127.0.0.1:$SRC_PORT DST_URL=http://127.0.0.1:$DST_PORT
  write_key_header "$src" "$WORK/src-key-header"
  write_key_header "$dst" "$WORK/dst-key-header"
}

stop_pair() {
  stop_pid "$SRC_PID" "source octomigd"
  SRC_PID=""
  stop_pid "$DST_PID" "destination octomigd"
  DST_PID=""
  rm -rf "$src" "$dst"
}

# post URL HEADER BODY OUT: POST BODY (a 0600 file, removed after) as JSON; its answer in OUT.
post() {
  local code
  code=$(curl -sS -o "$4" -w '%{http_code}' -H @"$2" -H 'Content-Type: application/json' \
    --data-binary @"$3" "$1")
  rm -f "$3"
  [[ $code == 200 || $code == 201 ]] || { echo "$BENCH_NAME: POST $1 answered $code:" >&2; cat "$4" >&2; exit 1; }
}

# wait_task URL HEADER TASK OUT: polls the task every 0.2 s (TIMEOUT at most) until it completes,
# then writes its details into OUT; exits unless it ended in Success.
wait_task() {
  local url=$1 hdr=$2 task=$3 out=$4 state="" i
  for ((i = 0; i < TIMEOUT * 5; i++)); do
    state=$(curl -fsS -H @"$hdr" "$url/api/tasks/$task" | jq -r .State)
    case $state in Success | Failed | Canceled | TimedOut) break ;; esac
    sleep 0.2
  done
  curl -fsS -H @"$hdr" -o "$out" "$url/api/tasks/$task/details"
  if [[ $state != Success ]]; then
    echo "$BENCH_NAME: $task ended as '${state:-still running after $TIMEOUT s}'; its log:" >&2
    jq -r '.ActivityLogs[0].LogElements[].MessageText' "$out" | tail -n 40 >&2 || true
    exit 1
  fi
}

# import_body DRY_RUN FILE: the import request (0600), the password from its file.
import_body() {
  ( umask 077
    jq -n --rawfile pw "$WORK/password" --argjson dry "$1" \
      '{PackageId: "Bench.Import", PackageVersion: "1.0.0", Password: ($pw | rtrimstr("\n")),
        IsDryRun: $dry, IsEncryptedPackage: true, OverwriteExisting: false}
       + (if $dry then {} else {DeletePackageOnCompletion: true} end)' >"$2" )
}

import_run() {  # import_run N RUN
  local n=$1 run=$2 task
  start_pair "$n" "$run"
  ( umask 077
    jq -n --rawfile pw "$WORK/password" --slurpfile names "$WORK/names-$n.json" \
      --arg feed "$DST_URL" --rawfile dstkey "$dst/admin-api-key" \
      '{PackageId: "Bench.Import", PackageVersion: "1.0.0", Password: ($pw | rtrimstr("\n")),
        Projects: $names[0], EncryptPackage: true, IncludeTaskLogs: true,
        DestinationPackageFeed: $feed, DestinationApiKey: ($dstkey | split("\n")[0])}' >"$WORK/body.json" )
  post "$SRC_URL/api/migrations/partialexport" "$WORK/src-key-header" "$WORK/body.json" "$WORK/echo.json"
  task=$(jq -r .TaskId "$WORK/echo.json")
  wait_task "$SRC_URL" "$WORK/src-key-header" "$task" "$WORK/export-$n-$run.json"

  import_body true "$WORK/body.json"
  post "$DST_URL/api/migrations/import" "$WORK/dst-key-header" "$WORK/body.json" "$WORK/echo.json"
  task=$(jq -r .TaskId "$WORK/echo.json")
  wait_task "$DST_URL" "$WORK/dst-key-header" "$task" "$WORK/dry-$n-$run.json"

  import_body false "$WORK/body.json"
  post "$DST_URL/api/migrations/import" "$WORK/dst-key-header" "$WORK/body.json" "$WORK/echo.json"
  task=$(jq -r .TaskId "$WORK/echo.json")
  wait_task "$DST_URL" "$WORK/dst-key-header" "$task" "$WORK/import-$n-$run.json"

  local got
  got=$(curl -fsS -H @"$WORK/dst-key-header" "$DST_URL/api/Spaces-1/projects?take=0" | jq .TotalResults)
  [[ $got == "$n" ]] || { echo "$BENCH_NAME: the destination has $got projects after the import, not $n" >&2; exit 1; }
  python3 "$WORK/figures.py" import "$n" "$run" "$WORK/export-$n-$run.json" "$WORK/dry-$n-$run.json" \
    "$WORK/import-$n-$run.json" | tee -a "$WORK/results.txt"
  stop_pair
}

migrate_run() {  # migrate_run N RUN
  local n=$1 run=$2 t0 t1 rc=0 role url hdr id
  local -A took=()
  start_pair "$n" "$run"
  local names=()
  mapfile -t names < <(jq -r '.[]' "$WORK/names-$n.json")
  t0=$(now)
  "$OCTOMIG" migrate --source "$SRC_URL" --dest "$DST_URL" --encrypt --include-task-logs --yes --json \
    --source-api-key-file "$src/admin-api-key" --dest-api-key-file "$dst/admin-api-key" \
    --password-file "$WORK/password" --timeout "$TIMEOUT" --project "${names[@]}" \
    </dev/null >"$WORK/migrate-$n-$run.json" 2>"$WORK/migrate-$n-$run.err" || rc=$?
  t1=$(now)
  if [[ $rc != 0 ]]; then
    echo "$BENCH_NAME: octomig migrate exited $rc:" >&2
    tail -n 20 "$WORK/migrate-$n-$run.err" >&2
    jq -c '{ExitCode, Error, Tasks}' "$WORK/migrate-$n-$run.json" >&2 || true
    exit 1
  fi
  for role in export dry import; do  # the roles in octomig's --json: export, "import (dry run)", import
    id=$(jq -r --arg r "${role/dry/import (dry run)}" '.Tasks[] | select(.Role == $r) | .TaskId' "$WORK/migrate-$n-$run.json")
    [[ -n $id ]] || { echo "$BENCH_NAME: octomig's --json names no '$role' task" >&2; exit 1; }
    if [[ $role == export ]]; then url=$SRC_URL hdr=$WORK/src-key-header; else url=$DST_URL hdr=$WORK/dst-key-header; fi
    # the time of one GET of the whole details, as octomig reads them for the plan and the summary
    took[$role]=$(curl -fsS -H @"$hdr" -o "$WORK/m-$role-$n-$run.json" -w '%{time_total}' "$url/api/tasks/$id/details")
  done
  local got
  got=$(curl -fsS -H @"$WORK/dst-key-header" "$DST_URL/api/Spaces-1/projects?take=0" | jq .TotalResults)
  [[ $got == "$n" ]] || { echo "$BENCH_NAME: the destination has $got projects after migrate, not $n" >&2; exit 1; }
  python3 "$WORK/figures.py" migrate "$n" "$run" "$t0" "$t1" "$rc" "$WORK/m-export-$n-$run.json" \
    "$WORK/m-dry-$n-$run.json" "$WORK/m-import-$n-$run.json" "${took[dry]}" "${took[import]}" | tee -a "$WORK/results.txt"
  stop_pair
}

: >"$WORK/results.txt"
for n in $SIZES; do
  echo "== $n projects"
  "$ADMIN" --data-dir "$WORK/seed-$n" seed --projects "$n" --releases "$RELEASES" --deployments "$DEPLOYMENTS" \
    --log-lines "$LOG_LINES" >"$WORK/seed-$n.out"
  echo "seed: $(awk '/documents seeded/' "$WORK/seed-$n.out"); $(awk '/^ServerTasks:/' "$WORK/seed-$n.out")"
  # The project names, from a source started once on a copy (the seed itself stays unopened).
  start_pair "$n" 0
  curl -fsS -H @"$WORK/src-key-header" "$SRC_URL/api/Spaces-1/projects?take=100000" | jq '[.Items[].Name]' >"$WORK/names-$n.json"
  stop_pair
  [[ $(jq length "$WORK/names-$n.json") == "$n" ]] || { echo "$BENCH_NAME: the source lists $(jq length "$WORK/names-$n.json") projects, not $n" >&2; exit 1; }
  for part in $PARTS; do
    for ((run = 1; run <= ROUNDS; run++)); do
      "${part}_run" "$n" "$run"
    done
  done
  rm -rf "$WORK/seed-$n"
  echo
done

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
echo "end: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); load average $LOAD_END (at the start: $LOAD_START)"
echo
echo "== summary: median (min-max) of $ROUNDS runs"
python3 - "$WORK/results.txt" <<'PY'
import sys, statistics
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    kv = dict(x.split("=", 1) for x in f[2:])
    rows.setdefault((f[1], int(kv["projects"])), []).append(kv)
def cell(runs, key, unit="", pct=False):
    v = [float(r[key]) for r in runs]
    fmt = (lambda x: "%.1f" % x) if pct else (lambda x: "{:,.0f}".format(x))
    m = statistics.median(v)
    return "%s%s (%s–%s)" % (fmt(m), unit, fmt(min(v)), fmt(max(v)))
def table(part, header, cols):
    sizes = sorted(n for (p, n) in rows if p == part)
    if not sizes: return
    print("| projects | " + " | ".join(header) + " |")
    print("|---" * (len(header) + 1) + "|")
    for n in sizes:
        runs = rows[(part, n)]
        print("| {:,} | ".format(n) + " | ".join(c(runs) for c in cols) + " |")
    print()
ms = lambda k: (lambda r: cell(r, k, " ms"))
ps = lambda k: (lambda r: cell(r, k, " %", True))
num = lambda k: (lambda r: cell(r, k))
docs = lambda r: "{:,} (+{:,} tasks)".format(int(r[0]["documents"]), int(r[0]["tasks"]))
print("dry run (IsDryRun: true)")
table("import", ["documents", "Open package", "Plan import", "Commit import", "Finish import", "task", "documents/s"],
      [docs, ms("dry_open_ms"), ms("dry_plan_ms"), ms("dry_commit_ms"), ms("dry_finish_ms"), ms("dry_ms"), num("dry_docs_per_s")])
print("import (the commit: Step started: Commit import -> Step started: Finish import)")
table("import", ["Open package", "Plan import", "Commit import", "Finish import", "task", "documents/s (task)", "documents/s (commit)", "commit's share"],
      [ms("imp_open_ms"), ms("imp_plan_ms"), ms("imp_commit_ms"), ms("imp_finish_ms"), ms("imp_ms"), num("imp_docs_per_s"), num("commit_docs_per_s"), ps("commit_share_pct")])
print("the export before them, and the package")
table("import", ["export task", "package bytes"], [ms("export_ms"), num("package_bytes")])
print("octomig migrate --yes: wall time and its parts (each task from its \"Task queued\" line to its last line; the rest: the client)")
table("migrate", ["wall", "export", "dry run", "import", "rest", "before the export", "export -> dry run", "dry run -> import", "after the import"],
      [ms("wall_ms"), ms("export_ms"), ms("dry_ms"), ms("import_ms"), ms("rest_ms"),
       ms("lead_ms"), ms("gap_export_dry_ms"), ms("gap_dry_import_ms"), ms("tail_ms")])
print("one GET /api/tasks/{id}/details of the dry run and of the import, after migrate (curl's time_total)")
table("migrate", ["dry run's details", "import's details"], [ms("get_dry_details_ms"), ms("get_import_details_ms")])
print("octomig migrate --yes: the shares of the wall time")
table("migrate", ["export", "dry run", "import", "rest"],
      [ps("export_pct"), ps("dry_pct"), ps("import_pct"), ps("rest_pct")])
PY
echo "== the runs"
cat "$WORK/results.txt"
