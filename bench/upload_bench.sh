#!/usr/bin/env bash
# Package upload throughput and memory: a SIZE_MIB package pushed with curl -F to a real octomigd on
# loopback, against `cp` of the same file on the same disk in the same run, and octomigd's peak RSS
# during the uploads against its RSS when idle.
#
# Usage: bench/upload_bench.sh [BUILD_DIR]          (default BUILD_DIR: <repo>/build-bench)
# Environment: SIZE_MIB (default 1024), ROUNDS (default 3), OCTOMIG_BENCH_DIR (base of the
#              temporary directory, default /tmp; put it on the disk you want to measure).
#
# Goals (issue 3): upload MB/s at least 50 % of cp's, and peak RSS under 64 MiB above idle.
# What an upload's time covers: curl sending the multipart body, octomigd streaming it to
# feed/.incoming/, parsing it, copying the file part into the feed while computing SHA-1 and
# SHA-256, fsync, rename and the index write; i.e. until curl has the 201. The reference is `cp`
# alone and `cp` followed by an fsync of the copy (octomigd syncs the package it publishes).
# A third reference, when python3 is there: the same curl upload to a server that only reads and
# drops the bytes, i.e. what curl and loopback TCP allow at all on this machine.
# The file is in the page cache for all of them (written just before). Each round runs cp, then the upload,
# then deletes the package (DELETE) so that the disk holds at most four copies. The API key is read
# into a curl header file (mode 0600), passed with -H @file and never printed nor put on a command
# line. octomigd and the sink are stopped on exit (trap). The shared functions are in bench/lib.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
BUILD=${1:-$ROOT/build-bench}
SIZE_MIB=${SIZE_MIB:-1024}
ROUNDS=${ROUNDS:-3}
BASE=${OCTOMIG_BENCH_DIR:-/tmp}
OCTOMIGD=$BUILD/server/octomigd

require_exes "$OCTOMIGD"
require_tools curl bc
[[ $SIZE_MIB =~ ^[0-9]+$ && $SIZE_MIB -ge 1 ]] || { echo "SIZE_MIB must be a positive number" >&2; exit 2; }
[[ $ROUNDS =~ ^[0-9]+$ && $ROUNDS -ge 1 && $ROUNDS -le 10 ]] || { echo "ROUNDS from 1 to 10" >&2; exit 2; }

WORK=$(mktemp -d "$BASE/octomig-bench-upload-XXXXXX")
SINK_PID=""
cleanup() {
  stop_pid "$SINK_PID" sink
  stop_pid "$OCTO_PID" octomigd
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mb_per_s() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b / 1e6 / s }'; }
kib_of() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }

PKG=$WORK/Bench.1.0.0.zip
BYTES=$((SIZE_MIB * 1024 * 1024))
echo "upload_bench: writing a ${SIZE_MIB} MiB package of random bytes to $WORK"
head -c "$BYTES" /dev/urandom >"$PKG"

start_octomigd "$WORK/data" "$WORK/octomigd.log" --threads 2
URL=http://127.0.0.1:$OCTO_PORT
HDR=$WORK/key-header
write_key_header "$WORK/data" "$HDR"

curl -sS -o /dev/null -H @"$HDR" "$URL/api/packages"   # warm: one request served
IDLE_RSS=$(kib_of "$OCTO_PID" VmRSS)
IDLE_HWM=$(kib_of "$OCTO_PID" VmHWM)
echo "octomigd idle: VmRSS ${IDLE_RSS} KiB, VmHWM ${IDLE_HWM} KiB"
printf '%-6s %10s %14s %10s %12s %14s %14s\n' round "cp MB/s" "cp+fsync MB/s" "upload s" "upload MB/s" "vs cp" "vs cp+fsync"

declare -a CP_RATES SYNC_RATES UP_RATES
for round in $(seq 1 "$ROUNDS"); do
  t0=$(now); cp "$PKG" "$WORK/copy.zip"; t1=$(now); sync "$WORK/copy.zip"; t2=$(now)
  rm -f "$WORK/copy.zip"
  cp_rate=$(mb_per_s "$BYTES" "$(echo "$t1 - $t0" | bc -l)")
  sync_rate=$(mb_per_s "$BYTES" "$(echo "$t2 - $t0" | bc -l)")

  out=$(curl -sS -o "$WORK/response.json" -w '%{http_code} %{time_total}' -H @"$HDR" \
    -F "file=@$PKG;filename=Bench.1.0.$round.zip;type=application/zip" "$URL/api/packages/raw")
  code=${out%% *}
  secs=${out##* }
  [[ $code == 201 ]] || { echo "upload failed with HTTP $code:" >&2; cat "$WORK/response.json" >&2; exit 1; }
  grep -q "\"PackageSizeBytes\":$BYTES" "$WORK/response.json" || { echo "wrong size in the response" >&2; exit 1; }
  up_rate=$(mb_per_s "$BYTES" "$secs")
  printf '%-6s %10s %14s %10s %12s %13s%% %13s%%\n' "$round" "$cp_rate" "$sync_rate" "$secs" "$up_rate" \
    "$((100 * up_rate / cp_rate))" "$((100 * up_rate / sync_rate))"
  CP_RATES+=("$cp_rate"); SYNC_RATES+=("$sync_rate"); UP_RATES+=("$up_rate")
  curl -sS -o /dev/null -X DELETE -H @"$HDR" "$URL/api/packages/Bench.1.0.$round"
done

PEAK_HWM=$(kib_of "$OCTO_PID" VmHWM)

SINK_RATE=""
if command -v python3 >/dev/null; then
  # Reads the header, answers 100 Continue if asked, reads and drops Content-Length bytes, answers 201.
  cat >"$WORK/sink.py" <<'PY'
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
head = b""
while b"\r\n\r\n" not in head:
    head += c.recv(65536)
hdr, rest = head.split(b"\r\n\r\n", 1)
length = next(int(l.split(b":")[1]) for l in hdr.split(b"\r\n") if l.lower().startswith(b"content-length:"))
if b"100-continue" in hdr.lower():
    c.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
buf, got = bytearray(1 << 20), len(rest)
while got < length:
    n = c.recv_into(buf)
    if n == 0: sys.exit(1)
    got += n
c.sendall(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
PY
  python3 "$WORK/sink.py" >"$WORK/sink.port" &
  SINK_PID=$!
  for _ in $(seq 1 100); do [[ -s $WORK/sink.port ]] && break; sleep 0.05; done
  out=$(curl -sS -o /dev/null -w '%{http_code} %{time_total}' \
    -F "file=@$PKG;filename=Bench.1.0.0.zip;type=application/zip" "http://127.0.0.1:$(cat "$WORK/sink.port")/")
  wait "$SINK_PID" || true
  SINK_PID=""
  [[ ${out%% *} == 201 ]] && SINK_RATE=$(mb_per_s "$BYTES" "${out##* }")
fi
left=$(find "$WORK/data/feed" -type f | wc -l)
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
CP=$(median "${CP_RATES[@]}"); SY=$(median "${SYNC_RATES[@]}"); UP=$(median "${UP_RATES[@]}")
echo
echo "median: cp ${CP} MB/s, cp+fsync ${SY} MB/s, upload ${UP} MB/s:" \
  "$((100 * UP / CP)) % of cp, $((100 * UP / SY)) % of cp+fsync (goal >= 50 %)"
[[ -n $SINK_RATE ]] && echo "the same curl upload to a sink that drops the bytes: ${SINK_RATE} MB/s" \
  "(octomigd reaches $((100 * UP / SINK_RATE)) % of it)"
echo "octomigd peak RSS (VmHWM) ${PEAK_HWM} KiB = $(((PEAK_HWM - IDLE_RSS) / 1024)) MiB above idle VmRSS" \
  "(goal < 64 MiB); files left in the feed after the deletes: $left"
