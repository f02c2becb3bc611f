#!/usr/bin/env bash
# GET /api/tasks/{id} under wrk: octomigd against nginx serving the same JSON body as a static file.
#
# Usage: bench/http_bench.sh [BUILD_DIR]          (default BUILD_DIR: <repo>/build-bench)
# Environment: DURATION (wrk -d, default 10s), ROUNDS (default 3), CONNECTIONS (default 32),
#              OCTOMIG_THREADS_LIST (octomigd --threads values, default "1 2"; the goal is judged at 1),
#              OCTOMIG_BENCH_DIR (base of the temporary directories, default /tmp).
#
# Both servers listen on 127.0.0.1 only. octomigd runs with --threads N (HTTP I/O and actor
# scheduler threads), nginx with worker_processes 1; wrk runs with -t1 -c32 on the same 2 cores.
# Each round runs wrk against octomigd and then against nginx, so every ratio compares runs made
# seconds apart. Both servers are stopped on exit (trap). The API key is read from the data
# directory into a header file (mode 0600) and is never printed nor put on a command line: curl
# reads it with -H @file, wrk with -s bench/key_header.lua (OCTOMIG_KEY_HEADER_FILE names the file).
# The shared functions (starting octomigd, running wrk, ...) are in bench/lib.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
BUILD=${1:-$ROOT/build-bench}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-32}
THREADS_LIST=${OCTOMIG_THREADS_LIST:-"1 2"}
BASE=${OCTOMIG_BENCH_DIR:-/tmp}
OCTOMIGD=$BUILD/server/octomigd
SEED=$BUILD/bench/octomig_bench_seed_task
TASK=ServerTasks-1
URL_PATH=/api/tasks/$TASK

require_exes "$OCTOMIGD" "$SEED"
require_tools wrk nginx curl
[[ $ROUNDS =~ ^[0-9]+$ && $ROUNDS -ge 1 && $ROUNDS -le 10 ]] || { echo "ROUNDS from 1 to 10" >&2; exit 2; }

WORK=$(mktemp -d "$BASE/octomig-bench-http-XXXXXX")
NGX=$(mktemp -d "$BASE/octomig-bench-nginx-XXXXXX")   # world-readable: nginx's worker may drop root
chmod 755 "$NGX"
NGINX_PID=""
WRK_RAW=$WORK/wrk-raw.txt

cleanup() {
  stop_pid "$OCTO_PID" octomigd
  stop_pid "$NGINX_PID" nginx
  rm -rf "$WORK" "$NGX"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {  # a port nothing listens on (python3 binds port 0; else a random unused one per ss)
  if command -v python3 >/dev/null; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
    return
  fi
  local p i
  for ((i = 0; i < 50; i++)); do
    p=$((20000 + RANDOM % 40000))
    ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return; }
  done
  echo "http_bench: no free port found" >&2
  return 1
}

# ---- the data directory: one finished task, seeded while no server runs ----
"$SEED" "$WORK/data" >/dev/null
HDR=$WORK/apikey-header
write_key_header "$WORK/data" "$HDR"   # exports OCTOMIG_KEY_HEADER_FILE for key_header.lua

start_octomigd_threads() {  # start_octomigd_threads THREADS; sets OCTO_PID and OCTO_PORT
  start_octomigd "$WORK/data" "$WORK/octomigd.log" --threads "$1" --log-level info
}

# wrk_run NAME URL [extra wrk args...]: prints one line and sets RPS, P50_MS, P99_MS, NON2XX
wrk_run() {
  local name=$1 url=$2
  shift 2
  wrk_measure "$url" -t1 -c"$CONNECTIONS" -d"$DURATION" "$@"
  printf '  %-28s %10s req/s   p50 %7s ms   p99 %7s ms   non-2xx %s%s\n' "$name" "$RPS" "$P50_MS" "$P99_MS" \
    "$NON2XX" "${SOCKET_ERRORS:+   socket errors: $SOCKET_ERRORS}"
}

# ---- the reference body: exactly what octomigd answers ----
start_octomigd_threads 1
mkdir -p "$NGX/www/api/tasks" "$NGX/tmp"
code=$(curl -sS -H @"$HDR" -o "$NGX/www$URL_PATH" -D "$WORK/octomigd-headers" -w '%{http_code}' \
  "http://127.0.0.1:$OCTO_PORT$URL_PATH")
[[ $code == 200 ]] || { echo "http_bench: GET $URL_PATH answered $code" >&2; exit 1; }
curl -sS -H @"$HDR" -o "$WORK/again.json" "http://127.0.0.1:$OCTO_PORT$URL_PATH"
cmp -s "$NGX/www$URL_PATH" "$WORK/again.json" || echo "http_bench: note: the body changes between requests" >&2
chmod -R a+rX "$NGX/www"

NGINX_PORT=$(free_port)
cat >"$NGX/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $NGX/nginx.pid;
error_log $NGX/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  types { }
  default_type application/json;
  sendfile on;
  keepalive_timeout 65;
  keepalive_requests 100000000;
  client_body_temp_path $NGX/tmp/body;
  proxy_temp_path $NGX/tmp/proxy;
  fastcgi_temp_path $NGX/tmp/fastcgi;
  uwsgi_temp_path $NGX/tmp/uwsgi;
  scgi_temp_path $NGX/tmp/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $NGX/www;
    location / { }
  }
}
CONF
nginx -p "$NGX" -c "$NGX/nginx.conf" 2>"$NGX/stderr.log" &
NGINX_PID=$!
for ((i = 0; i < 100; i++)); do
  curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT$URL_PATH" && break
  kill -0 "$NGINX_PID" 2>/dev/null || { cat "$NGX/stderr.log" "$NGX/error.log" >&2 2>/dev/null; exit 1; }
  sleep 0.1
done
curl -sS -D "$WORK/nginx-headers" -o "$WORK/nginx.json" "http://127.0.0.1:$NGINX_PORT$URL_PATH"
cmp -s "$NGX/www$URL_PATH" "$WORK/nginx.json" || { echo "http_bench: nginx serves another body" >&2; exit 1; }

body_bytes=$(wc -c <"$NGX/www$URL_PATH")
echo "GET $URL_PATH: body $body_bytes bytes; response headers: octomigd $(wc -c <"$WORK/octomigd-headers") bytes," \
  "nginx $(wc -c <"$WORK/nginx-headers") bytes"
echo "wrk -t1 -c$CONNECTIONS -d$DURATION --latency; nginx worker_processes 1 (port $NGINX_PORT); octomigd on an ephemeral port"

summary=()
goal=met
for threads in $THREADS_LIST; do
  if [[ $threads != 1 ]]; then
    stop_pid "$OCTO_PID" octomigd
    OCTO_PID=""
    start_octomigd_threads "$threads"
  fi
  echo "octomigd --threads $threads (port $OCTO_PORT)"
  # warm-up, not counted: 2 s against each server
  wrk -t1 -c"$CONNECTIONS" -d2s -s "$KEY_LUA" "http://127.0.0.1:$OCTO_PORT$URL_PATH" >/dev/null
  wrk -t1 -c"$CONNECTIONS" -d2s "http://127.0.0.1:$NGINX_PORT$URL_PATH" >/dev/null
  ratios=() octo=() ngx=() p99s=() ngx_p99s=()
  for ((round = 1; round <= ROUNDS; round++)); do
    wrk_run "round $round octomigd" "http://127.0.0.1:$OCTO_PORT$URL_PATH" -s "$KEY_LUA"
    o_rps=$RPS o_p99=$P99_MS o_bad=$NON2XX
    wrk_run "round $round nginx" "http://127.0.0.1:$NGINX_PORT$URL_PATH"
    n_rps=$RPS n_p99=$P99_MS
    ratio=$(awk -v a="$o_rps" -v b="$n_rps" 'BEGIN { printf "%.1f", 100 * a / b }')
    echo "  round $round: octomigd/nginx = $ratio%"
    [[ $o_bad == 0 ]] || { echo "http_bench: octomigd answered $o_bad non-2xx responses" >&2; goal=MISSED; }
    ratios+=("$ratio") octo+=("$o_rps") ngx+=("$n_rps") p99s+=("$o_p99") ngx_p99s+=("$n_p99")
  done
  # the median round by ratio (lower middle for an even count)
  idx=$(for i in "${!ratios[@]}"; do echo "${ratios[$i]} $i"; done | sort -n | awk -v n="${#ratios[@]}" 'NR == int((n + 1) / 2) {print $2}')
  line="RESULT http octomigd_threads=$threads octomigd_rps=${octo[$idx]} octomigd_p99_ms=${p99s[$idx]} nginx_rps=${ngx[$idx]} nginx_p99_ms=${ngx_p99s[$idx]} ratio=${ratios[$idx]}%"
  summary+=("$line")
  if [[ $threads == 1 ]]; then
    awk -v r="${ratios[$idx]}" -v p="${p99s[$idx]}" 'BEGIN { exit !(r >= 60 && p < 5) }' || goal=MISSED
  fi
done

echo
echo "summary (the median round by ratio, lower middle for an even count of rounds)"
printf '%s\n' "${summary[@]}"
echo "GOAL http (octomigd --threads 1 >= 60% of nginx's requests/s and p99 < 5 ms): $goal"
