#!/usr/bin/env bash
# Runs clients.test.mjs (the real Octopus JavaScript clients) against the real built octomigd:
# starts it on port 0 with a temporary data directory, reads the bound port from its log, installs
# the pinned clients with `npm ci` when node_modules is missing, runs the tests, then SIGTERMs it.
# Usage: run.sh OCTOMIGD. Exit 77 (a skip for CTest) only when node or npm is not installed.
set -euo pipefail

octomigd=${1:?usage: run.sh path/to/octomigd}
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
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    wait "$pid" || true
  fi
  rm -rf "$data"
}
trap cleanup EXIT

"$octomigd" --data-dir "$data/server" --listen 127.0.0.1:0 --threads 2 2>"$log" &
pid=$!

# The log line "listening on http://127.0.0.1:PORT/api" says the server is up; wait for it, 10 s at most.
port=""
for _ in $(seq 1 200); do
  port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/api.*|\1|p' "$log" | head -n 1)
  [ -n "$port" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "octomigd exited before listening:"; cat "$log"; exit 1
  fi
  sleep 0.05
done
if [ -z "$port" ]; then
  echo "octomigd did not report a port within 10 s:"; cat "$log"; exit 1
fi

export OCTOMIG_URL="http://127.0.0.1:$port"
OCTOMIG_API_KEY=$(head -n 1 "$data/server/admin-api-key")
export OCTOMIG_API_KEY
cd "$here"
status=0
node --test --test-reporter=spec clients.test.mjs || status=$?
if [ "$status" -ne 0 ]; then
  echo "---- octomigd log ----"; cat "$log"
fi
exit "$status"
