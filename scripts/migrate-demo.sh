#!/usr/bin/env bash
# A whole migration between two servers, as a user runs it with the documented curl requests:
# sets up and builds, seeds a source instance, starts a source and a destination octomigd on
# loopback (embedded RocksDB stores in a temporary folder), then
#   1. POST /api/migrations/partialexport on the source: the package is pushed into the
#      destination's built-in feed;
#   2. POST /api/migrations/import on the destination as a dry run, and shows its plan;
#   3. the import itself (deleting the package once it is in);
#   4. shows what the destination now holds, collection by collection, and its task history.
# Every task is polled with GET /api/tasks/{id} until it completes. API keys and the password stay
# in files and variables and are never printed.
#
# Usage: scripts/migrate-demo.sh [--keep]
#   --keep                 leave both data directories (and the servers' logs) in place
#   OCTOMIG_BUILD_DIR=DIR  take octomigd and octomig-admin from DIR as built (default: set up and
#                          build ./build with scripts/build.sh)
#   OCTOMIG_DEMO_PASSWORD  the package's password (default: a random one)
set -euo pipefail
cd "$(dirname "$0")/.."

fail() {
  echo "FAILED: $*" >&2
  exit 1
}

keep=0
for arg in "$@"; do
  case "$arg" in
    --keep) keep=1 ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg (see --help)" >&2; exit 2 ;;
  esac
done

if [ -n "${OCTOMIG_BUILD_DIR:-}" ]; then
  ./scripts/setup.sh || fail "the set-up failed (above)"
  bin=$OCTOMIG_BUILD_DIR
else
  echo "== setting up and building (scripts/build.sh; some minutes the first time)"
  # Ninja's progress lines are left out; what the set-up installs and any error are shown.
  ./scripts/build.sh --target octomigd octomig-admin | { grep -v '^\[[0-9]*/[0-9]*\] ' || true; } ||
    fail "the set-up or the build failed (above)"
  bin=./build
fi
for exe in server/octomigd tools/octomig-admin; do
  [ -x "$bin/$exe" ] || fail "$bin/$exe is missing: build it first"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/octomig-migrate-demo-XXXXXX")
pids=()
cleanup() {
  local status=$?
  for p in "${pids[@]}"; do
    if kill -0 "$p" 2>/dev/null; then
      kill -TERM "$p"
      wait "$p" 2>/dev/null || true
    fi
  done
  if [ "$keep" = 1 ]; then
    echo "kept: the data directories and logs in $work"
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts octomigd on a free loopback port and sets `port` once its log says it listens (10 s).
port=""
start() {
  local name=$1
  port=""
  "$bin/server/octomigd" --data-dir "$work/$name" --listen 127.0.0.1:0 >/dev/null 2>"$work/$name.log" &
  pids+=($!)
  for _ in $(seq 1 200); do
    port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/api.*|\1|p' "$work/$name.log" | head -n 1)
    [ -n "$port" ] && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.05
  done
  cat "$work/$name.log" >&2
  fail "the $name octomigd did not start listening within 10 s"
}

# call METHOD URL SERVER [BODYFILE]: one request with SERVER's admin key (from its header file);
# prints the answer's body. Any HTTP error stops the demo with the server's error message.
call() {
  local method=$1 url=$2 server=$3 body=${4:-} code answer
  answer=$(mktemp "$work/answer-XXXXXX")
  local args=(-sS --max-time 30 -X "$method" -H @"$work/$server.header" -o "$answer" -w '%{http_code}')
  # --data-binary keeps the body's newlines, which its // comment needs (-d would strip them).
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary @"$body")
  code=$(curl "${args[@]}" "$url") || fail "$method $url: the server did not answer"
  if [ "$code" -lt 200 ] || [ "$code" -ge 300 ]; then
    fail "$method $url answered $code: $(jq -r '.ErrorMessage + " " + ((.Errors // []) | join("; "))' "$answer" 2>/dev/null || cat "$answer")"
  fi
  cat "$answer"
  rm -f "$answer"
}

# poll BASE SERVER TASK SECONDS: GET /api/tasks/TASK until it is completed, printing each state as
# it is first seen; fails after SECONDS, or when the task does not end in Success.
poll() {
  local base=$1 server=$2 task=$3 limit=$4 last="" t state deadline
  echo "   polling GET /api/tasks/$task until it completes (at most $limit s)"
  deadline=$((SECONDS + limit))
  while :; do
    t=$(call GET "$base/api/tasks/$task" "$server")
    state=$(jq -r .State <<<"$t")
    if [ "$state" != "$last" ]; then
      printf '     %s  %s\n' "$(date +%T.%3N)" "$state"
      last=$state
    fi
    [ "$(jq -r .IsCompleted <<<"$t")" = true ] && break
    [ "$SECONDS" -lt "$deadline" ] || fail "$task was still $state after $limit s"
    sleep 0.2
  done
  if [ "$state" != Success ]; then
    echo "   the task's log:" >&2
    call GET "$base/api/tasks/$task/raw" "$server" | sed 's/^/     /' >&2
    fail "$task ended $state: $(jq -r '.ErrorMessage // ""' <<<"$t")"
  fi
}

# log BASE SERVER TASK REGEX: the task's log lines (GET /api/tasks/TASK/raw) that match REGEX,
# without their time and level.
log_lines() {
  call GET "$1/api/tasks/$3/raw" "$2" | grep -E "$4" | sed -E 's/^[0-9-]+ [0-9:.]+ +[A-Za-z]+ +//' || true
}

projects=("Web Portal" "Order API")
echo "== seeding a source instance: 3 projects with their environments, lifecycles, variables,"
echo "   tenants, targets, releases, deployments and deployment task logs"
"$bin/tools/octomig-admin" --data-dir "$work/source" seed --projects 3 --releases 2 --deployments 2 --log-lines 10 \
  >"$work/seed.out" || { cat "$work/seed.out" >&2; fail "the seed failed"; }
# The "Projects: 3" lines as one list, wrapped between its items, then the totals.
grep -E '^[A-Za-z]+: [0-9]+$' "$work/seed.out" | sed 's/: / /' |
  awk '{ item = $0; if (line != "" && length(line) + length(item) > 90) { print "   " line ","; line = "" }
         line = line (line == "" ? "" : ", ") item } END { if (line != "") print "   " line }'
grep -E '^ServerTasks|documents seeded' "$work/seed.out" | sed "s|$work/||; s/^/   /"
start source
src="http://127.0.0.1:$port"
start destination
dst="http://127.0.0.1:$port"
echo "   source      $src   (a seeded instance)"
echo "   destination $dst   (a new, empty instance)"

# The secrets stay in files only this script can read: curl takes its key header from one, and
# each request body is written to one.
umask 077
for server in source destination; do
  printf 'X-Octopus-ApiKey: %s\n' "$(head -n 1 "$work/$server/admin-api-key")" >"$work/$server.header"
done
if [ -n "${OCTOMIG_DEMO_PASSWORD:-}" ]; then
  password=$OCTOMIG_DEMO_PASSWORD
else
  password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
fi
# JSON string literals, so that any password or key fits in the bodies.
password_json=$(jq -Rn --arg v "$password" '$v')
destination_key_json=$(jq -Rn --arg v "$(head -n 1 "$work/destination/admin-api-key")" '$v')
hidden_password='"********"'
projects_json=$(jq -cn '$ARGS.positional' --args "${projects[@]}")

package_id=Octopus.Space.Migration
package_version=1.0.0

echo
echo "== 1. partial export: POST $src/api/migrations/partialexport"
# export_body PASSWORD KEY: the request, with the password and the key given as JSON strings.
export_body() {
  cat <<EOF
{
  "PackageId": "$package_id",
  "PackageVersion": "$package_version",
  "Password": $1,
  "Projects": $projects_json,
  "EncryptPackage": true,
  "IncludeTaskLogs": true,
  "DestinationApiKey": $2,
  "DestinationPackageFeed": "$dst"
}
EOF
}
export_body "$password_json" "$destination_key_json" >"$work/export.json"
# What is shown is the same body with stand-ins for the secrets, never the file posted.
export_body "$hidden_password" '"API-******** (the destination'"'"'s key)"' | sed 's/^/     /'
task=$(call POST "$src/api/migrations/partialexport" source "$work/export.json" | jq -r .TaskId)
echo "   -> TaskId $task"
poll "$src" source "$task" 300
log_lines "$src" source "$task" 'Collected [0-9]+ documents|Created package|Package pushed' | sed 's/^/     /'
call GET "$dst/api/Spaces-1/packages?nuGetPackageId=$package_id" destination |
  jq -r '.Items[] | "   in the destination'"'"'s feed: \(.PackageId) \(.Version), \(.PackageSizeBytes) bytes, SHA-1 \(.Hash)"'

# import_body PASSWORD DRYRUN COMMENT [EXTRA]: the import request as the documentation's raw
# request has it: IsDryRun as a string, followed by a // comment, and a trailing comma.
import_body() {
  cat <<EOF
{
    "PackageId": "$package_id",
    "PackageVersion": "$package_version",
    "Password": $1,
    "IsDryRun": "$2", // $3
    "IsEncryptedPackage": true,${4:-}
}
EOF
}

echo
echo "== 2. import, dry run: POST $dst/api/migrations/import"
comment="set to false once the plan below looks right"
import_body "$password_json" true "$comment" >"$work/dry-run.json"
import_body "$hidden_password" true "$comment" | sed 's/^/     /'
task=$(call POST "$dst/api/migrations/import" destination "$work/dry-run.json" | jq -r .TaskId)
echo "   -> TaskId $task"
poll "$dst" destination "$task" 300
echo "   the plan (GET /api/tasks/$task/raw):"
plan=$(log_lines "$dst" destination "$task" 'create [0-9]+, overwrite [0-9]+, skip [0-9]+$|Totals:')
[ -n "$plan" ] || fail "the dry run's log has no plan"
sed 's/^/     /' <<<"$plan"
count=$(call GET "$dst/api/Spaces-1/projects?take=0" destination | jq .TotalResults)
echo "   projects on the destination after the dry run: $count"

echo
echo "== 3. import: POST $dst/api/migrations/import"
comment="the plan was reviewed"
delete='
    "DeletePackageOnCompletion": true,'
import_body "$password_json" false "$comment" "$delete" >"$work/import.json"
import_body "$hidden_password" false "$comment" "$delete" | sed 's/^/     /'
task=$(call POST "$dst/api/migrations/import" destination "$work/import.json" | jq -r .TaskId)
echo "   -> TaskId $task"
poll "$dst" destination "$task" 300
log_lines "$dst" destination "$task" 'Writing [0-9]+ documents|Totals:|deleted from' | sed 's/^/     /'
left=$(call GET "$dst/api/Spaces-1/packages?nuGetPackageId=$package_id" destination | jq .TotalResults)
echo "   packages $package_id left in the destination's feed: $left"

echo
echo "== 4. the destination now (GET /api/Spaces-1/<collection>)"
# Every REST collection the root document links to, in its order, with its count and names.
call GET "$dst/api" destination |
  jq -r '.Links | to_entries[] | select(.value | test("^/api/Spaces-1/[a-z]+\\{/id")) |
         "\(.key) \(.value | capture("^/api/Spaces-1/(?<r>[a-z]+)").r)"' |
  while read -r name route; do
    [ "$route" = tasks ] && continue
    list=$(call GET "$dst/api/Spaces-1/$route?take=2147483647" destination)
    total=$(jq .TotalResults <<<"$list")
    [ "$total" = 0 ] && continue
    names=$(jq -r '[.Items[] | .Name // (.Version | strings) // .Id] | unique | join(", ")' <<<"$list")
    [ "${#names}" -gt 72 ] && names="${names:0:70}…"
    printf '   %-20s %3s  %s\n' "$name" "$total" "$names"
  done
call GET "$src/api/Spaces-1/projects?take=2147483647" source |
  jq -r '"   (the source has \(.TotalResults) projects: \([.Items[].Name] | join(", ")); only the \('"${#projects[@]}"') exported came over)"'

echo
echo "== 5. the destination's task history: GET $dst/api/tasks"
call GET "$dst/api/tasks?take=2147483647" destination >"$work/tasks.json"
jq -r '"   \(.TotalResults) tasks: \([.Items[] | select(.Name != "MigrationImport")] | length) imported with their logs, and the 2 imports",
       (.Items[] | "   \(.Id | . + (" " * (15 - length)))  \(.State | . + (" " * (7 - length)))  \(.Name | . + (" " * (15 - length)))  \(.Description)")' \
  "$work/tasks.json"
deploy=$(jq -r '[.Items[] | select(.Name == "Deploy")] | last | .Id // empty' "$work/tasks.json")
if [ -n "$deploy" ]; then
  echo "   an imported deployment's log, GET /api/tasks/$deploy/raw (first lines):"
  call GET "$dst/api/tasks/$deploy/raw" destination | head -n 4 | cut -c 1-100 | sed 's/^/     /'
fi

echo
exported=$(printf '%s and ' "${projects[@]}")
echo "The migration succeeded: the destination has ${exported% and }, everything they depend on,"
echo "and their releases, deployments and task history."
