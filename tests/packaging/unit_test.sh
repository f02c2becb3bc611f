#!/usr/bin/env bash
# The systemd unit: systemd-analyze verify accepts it (with ExecStart pointed at the built
# octomigd, since verify checks that the binary exists), the hardening the service promises is
# all there, and systemd's own exposure score stays at the level it has now.
# usage: unit_test.sh UNIT_FILE OCTOMIGD
set -euo pipefail
. "$(dirname "$0")/lib.sh"
unit=$1 octomigd=$2

command -v systemd-analyze >/dev/null \
  || fail "systemd-analyze is missing (scripts/setup.sh installs systemd)"
grep -q '^ExecStart=/usr/bin/octomigd --data-dir /var/lib/octomig ' "$unit" \
  || fail "ExecStart does not run /usr/bin/octomigd --data-dir /var/lib/octomig"

mkdir "$work/units"
sed "s#^ExecStart=/usr/bin/octomigd #ExecStart=$octomigd #" "$unit" > "$work/units/octomigd.service"
# verify exits 0 on some problems it only prints, so any output at all is a failure.
out=$(systemd-analyze verify "$work/units/octomigd.service" 2>&1) \
  || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify printed: $out"

for setting in \
  'User=octomig' 'StateDirectory=octomig' 'EnvironmentFile=-/etc/default/octomigd' \
  'Restart=on-failure' 'ExecReload=/bin/kill -HUP $MAINPID' 'NoNewPrivileges=yes' \
  'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' 'PrivateDevices=yes' \
  'ProtectKernelTunables=yes' 'ProtectKernelModules=yes' 'ProtectKernelLogs=yes' \
  'ProtectControlGroups=yes' 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' \
  'RestrictNamespaces=yes' 'LockPersonality=yes' 'MemoryDenyWriteExecute=yes' \
  'RestrictRealtime=yes' 'SystemCallArchitectures=native' 'CapabilityBoundingSet=' \
  'UMask=0077' 'WantedBy=multi-user.target'; do
  grep -qxF "$setting" "$unit" || fail "the unit lacks the line '$setting'"
done
grep -q '^LimitNOFILE=[0-9]' "$unit" || fail "the unit sets no LimitNOFILE"

# --threshold fails the command when the overall exposure (0-100 here, 10x the printed 0.0-10.0)
# is above it; the unit scores 1.5 now.
systemd-analyze security --offline=true --threshold=15 --no-pager \
  "$work/units/octomigd.service" > "$work/security.txt" 2>&1 \
  || fail "systemd-analyze security: exposure above 1.5: $(tail -1 "$work/security.txt")"
echo "ok: $(tail -1 "$work/security.txt")"
