#!/usr/bin/env bash
# The .deb's maintainer scripts, run with stand-ins for adduser, deluser, getent, install, rm and
# systemctl that only record their calls (nothing on the system changes), once as if systemd were
# running and once as if not: a fresh install creates the octomig user and never enables or
# starts the service; an upgrade restarts it only if it was running; removal stops and disables
# it; a purge keeps the data.
# usage: maintainer_scripts_test.sh DEB_DIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"
deb=$(the_deb "$1")

dpkg-deb --control "$deb" "$work/control"
mkdir "$work/bin" "$work/systemd-running"
for tool in adduser deluser install rm systemctl; do
  printf '#!/bin/sh\necho "%s $*" >> "%s/calls"\n' "$tool" "$work" > "$work/bin/$tool"
done
# getent passwd octomig succeeds only when the test says the user exists.
printf '#!/bin/sh\necho "getent $*" >> "%s/calls"\n[ -n "$USER_EXISTS" ]\n' "$work" \
  > "$work/bin/getent"
chmod +x "$work/bin"/*

# run SYSTEMD USER_EXISTS SCRIPT ARGS...: runs a maintainer script and prints the calls it made.
# The script's check for a running systemd (/run/systemd/system) is pointed at a directory that
# exists for SYSTEMD=yes and at one that does not otherwise, whatever runs on this machine.
run() {
  local systemd=$1 user=$2 script=$3
  shift 3
  local marker=$work/systemd-absent
  [ "$systemd" = yes ] && marker=$work/systemd-running
  grep -q /run/systemd/system "$work/control/$script" || fail "$script never checks for systemd"
  sed "s#/run/systemd/system#$marker#g" "$work/control/$script" > "$work/$script.sh"
  : > "$work/calls"
  PATH="$work/bin:$PATH" USER_EXISTS=$user sh -e "$work/$script.sh" "$@" > "$work/out" 2>&1 \
    || fail "$script $* exited with $?: $(cat "$work/out")"
  cat "$work/calls"
}
# expect WHAT ACTUAL EXPECTED: the recorded calls are exactly the expected ones.
expect() {
  [ "$2" = "$3" ] || fail "$1: calls were
$2
expected
$3"
}

calls=$(run yes "" postinst configure "")
grep -q '^adduser .*--system.* octomig$' <<<"$calls" \
  || fail "a fresh install did not add the system user: $calls"
grep -q '^install -d -o octomig -g octomig -m 0700 /var/lib/octomig$' <<<"$calls" \
  || [ -d /var/lib/octomig ] || fail "a fresh install did not create /var/lib/octomig: $calls"
expect "fresh install, systemd running" "$(grep '^systemctl' <<<"$calls")" "systemctl daemon-reload"

calls=$(run no "" postinst configure "")
expect "fresh install, no systemd" "$(grep '^systemctl' <<<"$calls" || true)" ""

calls=$(run yes 1 postinst configure 2026.0.0-1)
if grep -q '^adduser' <<<"$calls"; then fail "an upgrade added the user again: $calls"; fi
expect "upgrade, systemd running" "$(grep '^systemctl' <<<"$calls")" \
  "systemctl daemon-reload
systemctl try-restart octomigd.service"

expect "prerm upgrade" "$(run yes 1 prerm upgrade 2026.1.0-1)" ""
expect "prerm remove, systemd running" "$(run yes 1 prerm remove)" \
  "systemctl stop octomigd.service
systemctl --quiet --no-reload disable octomigd.service"
expect "prerm remove, no systemd" "$(run no 1 prerm remove)" \
  "systemctl --quiet --no-reload disable octomigd.service"

expect "postrm purge, systemd running" "$(run yes 1 postrm purge)" "systemctl daemon-reload"
expect "postrm remove, no systemd" "$(run no 1 postrm remove)" ""
echo "ok"
