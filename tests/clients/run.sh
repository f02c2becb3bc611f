#!/usr/bin/env bash
# Runs clients.test.mjs (the real Octopus JavaScript clients) against the real built octomigd:
# starts it on port 0 with a temporary data directory, reads the bound port from its log, installs
# the pinned clients with `npm ci` when node_modules is missing, runs the tests, then SIGTERMs it.
# A second octomigd, seeded with octomig-admin, is the source of partial exports whose packages the
# first one receives and imports (OCTOMIG_SOURCE_URL, OCTOMIG_SOURCE_API_KEY).
# Usage: run.sh OCTOMIGD OCTOMIG_ADMIN. Exit 77 (a skip for CTest) only when node or npm is not
# installed.
set -euo pipefail

octomigd=${1:?usage: run.sh path/to/octomigd path/to/octomig-admin}
admin=${2:?usage: run.sh path/to/octomigd path/to/octomig-admin}
here=$(cd "$(dirname "$0")" && pwd)

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "SKIPPED: node and npm are needed for the real-client tests (scripts/setup.sh installs nodejs npm)"
  exit 77
fi

if [ ! -d "$here/node_modules/@octopusdeploy/api-client" ] || [ ! -d "$here/node_modules/@octopusdeploy/octopackjs" ]; then
  echo "installing the pinned clients from package-lock.json (npm ci)"
  (cd "$here" && npm ci --no-audit --no-fund)
fi

data=$(mktemp -d "${TMPDIR:-/tmp}/octomig-clients-XXXXXX")
log="$data/octomigd.log"
source_log="$data/source.log"
pids=()
cleanup() {
  for p in "${pids[@]}"; do
    if kill -0 "$p" 2>/dev/null; then
      kill -TERM "$p"
      wait "$p" || true
    fi
  done
  rm -rf "$data"
}
trap cleanup EXIT

# Waits (10 s at most) for the log line "listening on http://127.0.0.1:PORT/api" of the server
# with pid $1 logging to $2, and prints PORT.
wait_port() {
  local pid=$1 file=$2 port=""
  for _ in $(seq 1 200); do
    port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/api.*|\1|p' "$file" | head -n 1)
    [ -n "$port" ] && { echo "$port"; return 0; }
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "octomigd exited before listening:" >&2; cat "$file" >&2; return 1
    fi
    sleep 0.05
  done
  echo "octomigd did not report a port within 10 s:" >&2; cat "$file" >&2; return 1
}

# Each server pauses the first step of its migrations for up to 1 s (the source its exports, this
# one its imports), so that a waiting client sees them run.
OCTOMIG_TEST_PAUSE_IN_STEP="Open package:1000" \
  "$octomigd" --data-dir "$data/server" --listen 127.0.0.1:0 --threads 2 2>"$log" &
pids+=($!)
port=$(wait_port "${pids[-1]}" "$log")

"$admin" --data-dir "$data/source" seed --projects 3 --releases 2 --deployments 2 --log-lines 5 >/dev/null
OCTOMIG_TEST_PAUSE_IN_STEP="Collect documents:1000" \
  "$octomigd" --data-dir "$data/source" --listen 127.0.0.1:0 --threads 2 2>"$source_log" &
pids+=($!)
source_port=$(wait_port "${pids[-1]}" "$source_log")

export OCTOMIG_URL="http://127.0.0.1:$port"
OCTOMIG_API_KEY=$(head -n 1 "$data/server/admin-api-key")
export OCTOMIG_API_KEY
export OCTOMIG_SOURCE_URL="http://127.0.0.1:$source_port"
OCTOMIG_SOURCE_API_KEY=$(head -n 1 "$data/source/admin-api-key")
export OCTOMIG_SOURCE_API_KEY
cd "$here"
status=0
node --test --test-reporter=spec clients.test.mjs || status=$?
if [ "$status" -ne 0 ]; then
  echo "---- octomigd log ----"; cat "$log"
  echo "---- source octomigd log ----"; cat "$source_log"
fi
exit "$status"
