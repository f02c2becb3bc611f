#!/usr/bin/env bash
# A partial export between two servers, as a user runs it: sets up and builds, seeds a source
# instance, starts a source and a destination octomigd on loopback, posts the documented
# partial-export request to the source, polls the task as the Octopus.Client PowerShell example
# does (GET /api/tasks/{id} until it is completed), then shows the task log and the package in the
# destination's built-in feed. API keys and the password are read from files and never printed.
#
# Usage: scripts/export-demo.sh [--keep]   (--keep leaves the two data directories in place)
set -euo pipefail
cd "$(dirname "$0")/.."
keep=0
[ "${1:-}" = "--keep" ] && keep=1

./scripts/build.sh --target octomigd octomig-admin >/dev/null
bin=./build

work=$(mktemp -d "${TMPDIR:-/tmp}/octomig-export-demo-XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do
    if kill -0 "$p" 2>/dev/null; then
      kill -TERM "$p"
      wait "$p" 2>/dev/null || true
    fi
  done
  if [ "$keep" = 1 ]; then echo "data directories kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# Starts octomigd on a free loopback port and sets port once its log says it listens (10 s).
port=""
start() {
  local dir=$1 log=$2
  port=""
  "$bin/server/octomigd" --data-dir "$dir" --listen 127.0.0.1:0 >/dev/null 2>"$log" &
  pids+=($!)
  for _ in $(seq 1 200); do
    port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/api.*|\1|p' "$log" | head -n 1)
    [ -n "$port" ] && return 0
    sleep 0.05
  done
  echo "octomigd did not start:" >&2
  cat "$log" >&2
  return 1
}

# The value of a top-level string field of a small JSON document ("" when null or absent).
field() {
  sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" | head -n 1
}

echo "== seeding a source instance (3 projects with releases, deployments and task logs)"
"$bin/tools/octomig-admin" --data-dir "$work/source" seed --projects 3 --releases 2 --deployments 2 --log-lines 10
start "$work/source" "$work/source.log"
src="http://127.0.0.1:$port"
start "$work/destination" "$work/destination.log"
dst="http://127.0.0.1:$port"
echo "source      $src"
echo "destination $dst"

# The keys stay in files: curl reads its header from one, and the body is written to a file that
# only this script reads.
umask 077
printf 'X-Octopus-ApiKey: %s\n' "$(head -n 1 "$work/source/admin-api-key")" >"$work/source.header"
printf 'X-Octopus-ApiKey: %s\n' "$(head -n 1 "$work/destination/admin-api-key")" >"$work/destination.header"
printf 'Demo1234\n' >"$work/password"
cat >"$work/export.json" <<EOF
{
  "PackageId": "Octopus.Space.Migration",
  "PackageVersion": "1.0.0",
  "Password": "$(cat "$work/password")",
  "Projects": ["Web Portal", "Order API"],
  "EncryptPackage": true,
  "IncludeTaskLogs": true,
  "DestinationApiKey": "$(head -n 1 "$work/destination/admin-api-key")",
  "DestinationPackageFeed": "$dst"
}
EOF

echo
echo "== POST $src/api/migrations/partialexport"
echo '   {"PackageId": "Octopus.Space.Migration", "PackageVersion": "1.0.0", "Password": "…",'
echo '    "Projects": ["Web Portal", "Order API"], "EncryptPackage": true, "IncludeTaskLogs": true,'
echo "    \"DestinationApiKey\": \"API-… (the destination's)\", \"DestinationPackageFeed\": \"$dst\"}"
answer=$(curl -sS -H @"$work/source.header" -H 'Content-Type: application/json' \
  --data-binary @"$work/export.json" "$src/api/migrations/partialexport")
echo "   -> $answer"
task=$(printf '%s' "$answer" | field TaskId)
[ -n "$task" ] || { echo "no TaskId in the answer" >&2; exit 1; }

echo
echo "== polling GET /api/tasks/$task until it completes (at most 120 s)"
last=""
state=""
for _ in $(seq 1 600); do
  t=$(curl -sS -H @"$work/source.header" "$src/api/tasks/$task")
  state=$(printf '%s' "$t" | field State)
  if [ "$state" != "$last" ]; then
    echo "   $(date +%T.%3N)  $state"
    last=$state
  fi
  case "$t" in *'"IsCompleted":true'*) break ;; esac
  sleep 0.2
done

echo
echo "== the task log"
curl -sS -H @"$work/source.header" "$src/api/tasks/$task/raw" | sed 's/^/   /'

echo
echo "== the destination's built-in feed: GET $dst/api/Spaces-1/packages"
curl -sS -H @"$work/destination.header" "$dst/api/Spaces-1/packages" |
  grep -o '"PackageId":"[^"]*","NuGetPackageId":"[^"]*","Version":"[^"]*"\|"PackageSizeBytes":[0-9]*\|"Hash":"[^"]*"' |
  sed 's/^/   /'

echo
echo "== what the package holds (octomig-admin package inspect, with the password)"
pkg=$(ls "$work/destination/feed/Spaces-1/"*.zip 2>/dev/null | head -n 1 || true)
if [ -n "$pkg" ]; then
  "$bin/tools/octomig-admin" package inspect "$pkg" --password-file "$work/password" |
    sed -n '1,12p;/^password/,$p' | sed 's/^/   /' | head -n 60
fi

[ "$state" = "Success" ] || { echo "the export ended $state" >&2; exit 1; }
echo
echo "The export succeeded: the package is in the destination's feed, ready for an import."
