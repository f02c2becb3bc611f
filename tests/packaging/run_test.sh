#!/usr/bin/env bash
# The binaries from the .deb, extracted into a throwaway root (nothing is installed on the
# system): each prints its --help; octomigd starts on 127.0.0.1:0 with a fresh, empty data
# directory (as StateDirectory= leaves it), answers GET /api, survives SIGHUP (the unit's
# ExecReload), and stops with exit code 0 on SIGTERM (the unit's stop).
# usage: run_test.sh DEB_DIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"
deb=$(the_deb "$1")

dpkg-deb -x "$deb" "$work/root"
bin=$work/root/usr/bin
for b in octomigd octomig-admin octomig; do
  (cd "$work" && "$bin/$b" --help > "$work/$b.help") || fail "$b --help exited with $?"
  [ -s "$work/$b.help" ] || fail "$b --help printed nothing"
done
[ ! -e "$work/octomig-data" ] || fail "a --help created a data directory"

mkdir -m 0700 "$work/data"
# The server's log (stderr) comes through a pipe; reading it line by line, with a deadline,
# is how the test waits for each step, without sleeping.
coproc server { exec env -i PATH=/usr/bin:/bin "$bin/octomigd" --data-dir "$work/data" \
  --listen 127.0.0.1:0 --threads 2 2>&1; }
server_pid=$server_PID
exec {log}<&"${server[0]}"
trap 'kill -KILL "$server_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

# wait_for PATTERN: reads the log until a line matches it (and prints that line), 30 s at most.
wait_for() {
  local line deadline=$((SECONDS + 30))
  while [ "$SECONDS" -lt "$deadline" ]; do
    IFS= read -r -t $((deadline - SECONDS)) -u "$log" line || break
    echo "  log: $line" >&2
    if grep -qE -- "$1" <<<"$line"; then
      echo "$line"
      return 0
    fi
  done
  fail "octomigd did not log /$1/ within 30 s"
}

url=$(wait_for 'listening on http://127\.0\.0\.1:[0-9]+/api' \
  | grep -oE 'http://127\.0\.0\.1:[0-9]+/api')
body=$(curl -sS --max-time 10 "$url") || fail "GET $url failed"
grep -q '"Version"' <<<"$body" || fail "GET $url did not answer the API root: $body"
[ "$(stat -c %a "$work/data/admin-api-key")" = 600 ] || fail "admin-api-key is not mode 0600"

kill -HUP "$server_pid"
wait_for 'received SIGHUP' > /dev/null
curl -sS --max-time 10 "$url" > /dev/null || fail "octomigd stopped answering after SIGHUP"

kill -TERM "$server_pid"
wait_for 'stopped cleanly' > /dev/null
rc=0
wait "$server_pid" || rc=$?
[ "$rc" -eq 0 ] || fail "octomigd exited with $rc after SIGTERM"
echo "ok: $url answered, SIGHUP kept it running, SIGTERM stopped it with 0"
