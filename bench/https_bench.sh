#!/usr/bin/env bash
# octomigd over HTTPS against nginx over HTTPS, with the same certificate, in the same run; plain HTTP
# beside it for the ratio it has there (docs/performance.md §9).
#
# Usage: bench/https_bench.sh [BUILD_DIR]          (default BUILD_DIR: <repo>/build-bench)
# Environment: PARTS ("poll upload", the default, or either), KEYS (server key types, default
#              "ecdsa rsa": the first serves every part, the others only the HTTPS polls),
#              DURATION (wrk -d, default 10s), ROUNDS (default 3), CONNECTIONS (wrk -c, default 32),
#              OCTOMIG_THREADS_LIST (octomigd --threads for the polls, default "1 2"; the goal is
#              judged at 1), HANDSHAKES (1, the default: also polls with "Connection: close", a new
#              connection and so a TLS handshake per request, at --threads 1; 0: not),
#              SIZE_MIB (the uploaded package, default 1024), UPLOAD_THREADS (octomigd --threads for
#              the uploads, default 2), LOAD_BELOW (wait until the 1-minute load average is below
#              it, default 1.0; 0: do not wait), LOAD_WAIT (at most this many seconds, a look every
#              30 s, default 1200), OCTOMIG_BENCH_DIR (base of the temporary directory, default /tmp).
#
# Certificates: made here with the openssl CLI in a 0700 directory: a throwaway CA (ECDSA P-256)
# and, signed by it, a server certificate for IP 127.0.0.1 with an ECDSA P-256 key ("ecdsa") and
# one with an RSA-2048 key ("rsa"). The CA's key is deleted once they are signed. octomigd and nginx
# serve the same certificate and key; curl trusts the CA (--cacert); wrk does not verify.
#
# poll: GET /api/tasks/ServerTasks-1 (one finished task, seeded by octomig_bench_seed_task) with
#   wrk -t1 -cCONNECTIONS -dDURATION --latency, as bench/http_bench.sh does over HTTP. One octomigd
#   (--listen and --listen-tls, --threads N) and one nginx (worker_processes 1, the task's JSON
#   body saved to a file, a plain and an "ssl" listener, ssl_protocols TLSv1.2 TLSv1.3) serve both
#   schemes. Each round runs wrk against octomigd then nginx over HTTP, then over HTTPS (then, with
#   HANDSHAKES, the same four with "Connection: close"), so each ratio compares runs made seconds
#   apart. After a 2 s warm-up per server and scheme that is not counted.
# upload: a SIZE_MIB package of random bytes, sent per round with the curl invocation of
#   bench/upload_bench.sh (curl -F "file=@PKG;filename=...;type=application/zip", timed by
#   time_total) to octomigd's POST /api/Spaces-1/packages/raw over HTTP and over HTTPS (201 with the
#   package's size, then DELETE), and to nginx over HTTP and HTTPS at a location that answers 204 and
#   reads and drops the body (client_max_body_size 0; lingering_time raised so that nginx reads all
#   of it: curl must have sent the whole body, which TCP's flow control allows only as fast as
#   nginx reads, and nginx logs the request, with its time, once the body is drained). CPU seconds of the server
#   (/proc/PID/stat) and of curl (the shell's `times`) per upload are reported too.
# Last, one core's AES-GCM and ChaCha20-Poly1305 throughput (`openssl speed -evp`, 16 KiB blocks)
# as a ceiling for the bulk encryption, and the protocol and cipher each server negotiates with
# OpenSSL's client.
#
# Everything listens on 127.0.0.1 only; every loop is bounded. The API key is read from the data
# directory into a 0600 header file and is never printed nor put on a command line: curl reads it
# with -H @file, wrk with -s bench/key_header.lua (bench/lib.sh). Private keys stay in the 0700
# directory and are never printed. The servers are stopped and the temporary directories removed on
# exit (trap).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
BUILD=${1:-$ROOT/build-bench}
PARTS=${PARTS:-poll upload}
KEYS=${KEYS:-ecdsa rsa}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-32}
THREADS_LIST=${OCTOMIG_THREADS_LIST:-"1 2"}
HANDSHAKES=${HANDSHAKES:-1}
SIZE_MIB=${SIZE_MIB:-1024}
UPLOAD_THREADS=${UPLOAD_THREADS:-2}
LOAD_BELOW=${LOAD_BELOW:-1.0}
LOAD_WAIT=${LOAD_WAIT:-1200}
BASE=${OCTOMIG_BENCH_DIR:-/tmp}
OCTOMIGD=$BUILD/server/octomigd
SEED=$BUILD/bench/octomig_bench_seed_task
PUSH=$BUILD/bench/octomig_bench_push
TASK=ServerTasks-1
POLL_PATH=/api/tasks/$TASK
UPLOAD_PATH=/api/Spaces-1/packages/raw

require_exes "$OCTOMIGD"
require_tools wrk nginx curl openssl python3 bc
for p in $PARTS; do
  [[ $p == poll || $p == upload ]] || { echo "$BENCH_NAME: PARTS holds poll and/or upload" >&2; exit 2; }
done
[[ " $PARTS " == *" poll "* ]] && require_exes "$SEED"
[[ " $PARTS " == *" upload "* ]] && require_exes "$PUSH"
for k in $KEYS; do
  [[ $k == ecdsa || $k == rsa ]] || { echo "$BENCH_NAME: KEYS holds ecdsa and/or rsa" >&2; exit 2; }
done
[[ -n $KEYS ]] || { echo "$BENCH_NAME: KEYS is empty" >&2; exit 2; }
[[ $ROUNDS =~ ^[0-9]+$ && $ROUNDS -ge 1 && $ROUNDS -le 10 ]] || { echo "$BENCH_NAME: ROUNDS from 1 to 10" >&2; exit 2; }
[[ $CONNECTIONS =~ ^[0-9]+$ && $CONNECTIONS -ge 1 && $CONNECTIONS -le 1000 ]] ||
  { echo "$BENCH_NAME: CONNECTIONS from 1 to 1000" >&2; exit 2; }
[[ $DURATION =~ ^[0-9]+[sm]?$ ]] || { echo "$BENCH_NAME: DURATION: a wrk duration such as 10s" >&2; exit 2; }
for t in $THREADS_LIST $UPLOAD_THREADS; do
  [[ $t =~ ^[0-9]+$ && $t -ge 1 && $t -le 64 ]] || { echo "$BENCH_NAME: threads from 1 to 64" >&2; exit 2; }
done
[[ $HANDSHAKES == 0 || $HANDSHAKES == 1 ]] || { echo "$BENCH_NAME: HANDSHAKES is 0 or 1" >&2; exit 2; }
[[ $SIZE_MIB =~ ^[0-9]+$ && $SIZE_MIB -ge 1 && $SIZE_MIB -le 8192 ]] || { echo "$BENCH_NAME: SIZE_MIB from 1 to 8192" >&2; exit 2; }
[[ $LOAD_WAIT =~ ^[0-9]+$ && $LOAD_WAIT -le 86400 ]] || { echo "$BENCH_NAME: LOAD_WAIT from 0 to 86400" >&2; exit 2; }
[[ $LOAD_BELOW =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "$BENCH_NAME: LOAD_BELOW is a number" >&2; exit 2; }
if [[ " $PARTS " == *" upload "* ]]; then
  need=$((2 * SIZE_MIB + 128))   # the package, one published copy, the stores
  free=$(df -Pm "$BASE" | awk 'NR == 2 {print $4}')
  ((free >= need)) || { echo "$BENCH_NAME: $BASE has $free MiB free, the run needs about $need MiB" >&2; exit 1; }
fi

WORK=$(mktemp -d "$BASE/octomig-bench-https-XXXXXX")
NGX=$(mktemp -d "$BASE/octomig-bench-https-nginx-XXXXXX")   # world-readable: nginx's worker may drop root
chmod 755 "$NGX"
TLS=$WORK/tls
NGINX_PID=""
WRK_RAW=$WORK/wrk-raw.txt
cleanup() {
  stop_pid "$OCTO_PID" octomigd
  stop_pid "$NGINX_PID" nginx
  rm -rf "$WORK" "$NGX"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

load1() { cut -d' ' -f1 /proc/loadavg; }
below() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
mb_per_s() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b / 1e6 / s }'; }
# CPU time of PID so far (user + system, all threads), in seconds; the name may hold spaces.
cpu_of() { sed 's/^.*) //' "/proc/$1/stat" | awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($12 + $13) / hz }'; }
# children_cpu VAR: VAR = the CPU time of this shell's waited-for children, in seconds (the second
# line of `times`, which must run in this shell, not in a subshell)
children_cpu() {
  times >"$WORK/times"
  printf -v "$1" '%s' "$(awk 'NR == 2 { s = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += a[1] * 60 + a[2] }
                                        printf "%.3f", s }' "$WORK/times")"
}
nginx_worker() { ps -o pid= --ppid "$NGINX_PID" | awk 'NR == 1 {print $1}'; }
# stats VALUES...: "median (min–max)" of numbers, the median the lower middle for an even count
stats() {
  printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { printf "%s (%s–%s)", a[int((NR + 1) / 2)], a[1], a[NR] }'
}

# ---- a quiet machine first ----
print_machine "$BASE"
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
echo "software: $(openssl version | cut -d' ' -f1-2), $(nginx -v 2>&1 | sed 's/^nginx version: //'), $(wrk -v 2>&1 | head -n1 | cut -d' ' -f1-2), $(curl --version | head -n1 | cut -d' ' -f1-2)"

# ---- certificates: a throwaway CA and two server certificates for 127.0.0.1 ----
( umask 077; mkdir "$TLS" )
ossl() { openssl "$@" >>"$TLS/openssl.log" 2>&1 || { echo "$BENCH_NAME: openssl $1 failed:" >&2; cat "$TLS/openssl.log" >&2; exit 1; }; }
(
  umask 077
  cd "$TLS"
  ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 2 \
    -subj "/CN=octomig bench CA" -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
  ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ecdsa.key
  ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key
  for k in ecdsa rsa; do
    usage=digitalSignature
    [[ $k == rsa ]] && usage=digitalSignature,keyEncipherment
    printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,%s\nextendedKeyUsage=serverAuth\n' \
      "$usage" >"$k.ext"
    ossl req -new -key "$k.key" -subj "/CN=127.0.0.1" -out "$k.csr"
    ossl x509 -req -in "$k.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile "$k.ext" -out "$k.pem"
    ossl verify -CAfile ca.pem "$k.pem"
  done
  rm -f ca.key
)
CA=$TLS/ca.pem
echo "certificates: CA ECDSA P-256; server ECDSA P-256 and RSA-2048, both for IP:127.0.0.1"

# ---- the servers ----
# start_servers KEY THREADS DATA_DIR: octomigd (HTTP and HTTPS, --threads THREADS) and nginx (HTTP and
# HTTPS), both with KEY's certificate; sets OCTO_PID, OCTO_PORT, OCTO_TLS_PORT, NGINX_PID,
# NGINX_PORT and NGINX_TLS_PORT
start_servers() {
  local key=$1 threads=$2 data=$3 log i
  log=$WORK/octomigd-$key-$threads.log
  start_octomigd "$data" "$log" --threads "$threads" --listen-tls 127.0.0.1:0 \
    --tls-cert "$TLS/$key.pem" --tls-key "$TLS/$key.key"
  OCTO_TLS_PORT=""
  for ((i = 0; i < 100; i++)); do
    OCTO_TLS_PORT=$(sed -n 's|.*listening on https://127\.0\.0\.1:\([0-9]*\)/api.*|\1|p' "$log" | head -n1)
    [[ -n $OCTO_TLS_PORT ]] && break
    sleep 0.1
  done
  [[ -n $OCTO_TLS_PORT ]] || { echo "$BENCH_NAME: octomigd names no HTTPS port; its log:" >&2; cat "$log" >&2; exit 1; }

  NGINX_PORT=$(free_port) NGINX_TLS_PORT=$(free_port)
  [[ $NGINX_PORT != "$NGINX_TLS_PORT" ]] || NGINX_TLS_PORT=$(free_port)
  mkdir -p "$NGX/tmp"
  cat >"$NGX/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $NGX/nginx.pid;
error_log $NGX/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  log_format upload '\$status \$request_time';
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
    listen 127.0.0.1:$NGINX_TLS_PORT ssl;
    ssl_certificate $TLS/$key.pem;
    ssl_certificate_key $TLS/$key.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    root $NGX/www;
    location / { }
    # the upload sink: answers 204 and reads and drops the body, however long it takes
    location = $UPLOAD_PATH {
      client_max_body_size 0;
      lingering_time 3600s;
      lingering_timeout 60s;
      access_log $NGX/upload.log upload;
      return 204;
    }
  }
}
CONF
  nginx -p "$NGX" -c "$NGX/nginx.conf" 2>"$NGX/stderr.log" &
  NGINX_PID=$!
  for ((i = 0; i < 100; i++)); do
    curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT/" && break
    kill -0 "$NGINX_PID" 2>/dev/null || { cat "$NGX/stderr.log" "$NGX/error.log" >&2 2>/dev/null; exit 1; }
    sleep 0.1
  done
  # both speak TLS with this certificate, verified against the CA
  for port in "$OCTO_TLS_PORT" "$NGINX_TLS_PORT"; do
    curl -sS --cacert "$CA" -o /dev/null "https://127.0.0.1:$port/" ||
      { echo "$BENCH_NAME: no verified HTTPS on port $port" >&2; exit 1; }
  done
}
stop_servers() {
  stop_pid "$OCTO_PID" octomigd
  stop_pid "$NGINX_PID" nginx
  OCTO_PID="" NGINX_PID=""
}
free_port() {  # a port nothing listens on
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
# negotiated PORT: "TLSv1.3 TLS_AES_256_GCM_SHA384, X25519" as OpenSSL's client negotiates it
negotiated() {
  openssl s_client -connect "127.0.0.1:$1" -CAfile "$CA" -brief </dev/null 2>&1 |
    awk -F': ' '/^Protocol version/ {p = $2} /^Ciphersuite/ {c = $2} /^Server Temp Key/ {k = $2}
                /^Verification:/ {v = $2} END { printf "%s %s, key exchange %s, verification %s", p, c, k, v }'
}

# ---- part 1: GET /api/tasks/{id} ----
declare -A RES   # RES[key/threads/mode/server/scheme] = one value per round, space-separated
# wrk_run LABEL URL [wrk args...]: one measured run, one line; sets RPS, P99_MS, NON2XX, SOCKET_ERRORS
wrk_run() {
  local label=$1 url=$2
  shift 2
  wrk_measure "$url" -t1 -c"$CONNECTIONS" -d"$DURATION" "$@"
  printf '  %-40s %10s req/s   p50 %7s ms   p99 %7s ms   non-2xx %s%s\n' "$label" "$RPS" "$P50_MS" "$P99_MS" \
    "$NON2XX" "${SOCKET_ERRORS:+   socket errors: $SOCKET_ERRORS}"
  [[ $NON2XX == 0 ]] || { echo "$BENCH_NAME: $label: $NON2XX non-2xx answers" >&2; exit 1; }
}
poll_series() {  # poll_series KEY THREADS ROUND MODE SCHEMES...: one run per server and scheme
  local key=$1 threads=$2 round=$3 mode=$4 scheme port nport extra=()
  shift 4
  [[ $mode == close ]] && extra=(-H "Connection: close")
  for scheme in "$@"; do
    port=$OCTO_PORT nport=$NGINX_PORT
    [[ $scheme == https ]] && port=$OCTO_TLS_PORT nport=$NGINX_TLS_PORT
    wrk_run "round $round $mode $scheme octomigd" "$scheme://127.0.0.1:$port$POLL_PATH" -s "$KEY_LUA" "${extra[@]}"
    RES[$key/$threads/$mode/octomigd/$scheme]+="$RPS " RES[$key/$threads/$mode/octomigd-p99/$scheme]+="$P99_MS "
    wrk_run "round $round $mode $scheme nginx" "$scheme://127.0.0.1:$nport$POLL_PATH" "${extra[@]}"
    RES[$key/$threads/$mode/nginx/$scheme]+="$RPS " RES[$key/$threads/$mode/nginx-p99/$scheme]+="$P99_MS "
  done
}

if [[ " $PARTS " == *" poll "* ]]; then
  "$SEED" "$WORK/data" >/dev/null
  write_key_header "$WORK/data" "$WORK/apikey-header"   # exports OCTOMIG_KEY_HEADER_FILE
  first_key=${KEYS%% *}
  for key in $KEYS; do
    threads_list=$THREADS_LIST
    [[ $key != "$first_key" ]] && threads_list=1   # other keys: the HTTPS figures at --threads 1 only
    for threads in $threads_list; do
      start_servers "$key" "$threads" "$WORK/data"
      if [[ ! -s $NGX/www$POLL_PATH ]]; then   # the reference body: exactly what octomigd answers
        mkdir -p "$NGX/www/api/tasks"
        code=$(curl -sS -H @"$WORK/apikey-header" -o "$NGX/www$POLL_PATH" -w '%{http_code}' \
          "http://127.0.0.1:$OCTO_PORT$POLL_PATH")
        [[ $code == 200 ]] || { echo "$BENCH_NAME: GET $POLL_PATH answered $code" >&2; exit 1; }
        chmod -R a+rX "$NGX/www"
      fi
      for url in "https://127.0.0.1:$OCTO_TLS_PORT" "https://127.0.0.1:$NGINX_TLS_PORT" "http://127.0.0.1:$NGINX_PORT"; do
        curl -sS --cacert "$CA" -H @"$WORK/apikey-header" -o "$WORK/body.json" "$url$POLL_PATH"
        cmp -s "$NGX/www$POLL_PATH" "$WORK/body.json" || { echo "$BENCH_NAME: $url serves another body" >&2; exit 1; }
      done
      schemes=(http https)
      [[ $key != "$first_key" ]] && schemes=(https)
      echo
      echo "== poll: $key certificate, octomigd --threads $threads (HTTP $OCTO_PORT, HTTPS $OCTO_TLS_PORT)," \
        "nginx worker_processes 1 (HTTP $NGINX_PORT, HTTPS $NGINX_TLS_PORT)"
      echo "GET $POLL_PATH: body $(wc -c <"$NGX/www$POLL_PATH") bytes; wrk -t1 -c$CONNECTIONS -d$DURATION --latency"
      echo "negotiated: octomigd $(negotiated "$OCTO_TLS_PORT"); nginx $(negotiated "$NGINX_TLS_PORT")"
      for scheme in "${schemes[@]}"; do   # warm-up, not counted
        port=$OCTO_PORT nport=$NGINX_PORT
        [[ $scheme == https ]] && port=$OCTO_TLS_PORT nport=$NGINX_TLS_PORT
        wrk -t1 -c"$CONNECTIONS" -d2s -s "$KEY_LUA" "$scheme://127.0.0.1:$port$POLL_PATH" >/dev/null
        wrk -t1 -c"$CONNECTIONS" -d2s "$scheme://127.0.0.1:$nport$POLL_PATH" >/dev/null
      done
      for ((round = 1; round <= ROUNDS; round++)); do
        poll_series "$key" "$threads" "$round" keepalive "${schemes[@]}"
        if [[ $HANDSHAKES == 1 && $threads == 1 ]]; then
          poll_series "$key" "$threads" "$round" close "${schemes[@]}"
        fi
      done
      stop_servers
    done
  done
fi

# ---- part 2: a SIZE_MIB package uploaded ----
declare -A UP   # UP[target/scheme/what] = one value per round
upload_one() {  # upload_one TARGET SCHEME ROUND: one upload, one line
  local target=$1 scheme=$2 round=$3 port pid url out code secs size c0 c1 s0 s1 log_line="" hdr=()
  if [[ $target == octomigd ]]; then
    port=$OCTO_PORT pid=$OCTO_PID
    [[ $scheme == https ]] && port=$OCTO_TLS_PORT
    hdr=(-H @"$WORK/upload-key-header")
  else
    port=$NGINX_PORT pid=$(nginx_worker)
    [[ $scheme == https ]] && port=$NGINX_TLS_PORT
    [[ -n $pid ]] || { echo "$BENCH_NAME: nginx has no worker" >&2; exit 1; }
  fi
  url=$scheme://127.0.0.1:$port$UPLOAD_PATH
  s0=$(cpu_of "$pid")
  children_cpu c0
  out=$(curl -sS --cacert "$CA" -o "$WORK/response.json" -w '%{http_code} %{time_total} %{size_upload}' "${hdr[@]}" \
    -F "file=@$PKG;filename=Bench.1.0.$round.zip;type=application/zip" "$url")
  children_cpu c1
  if [[ $target == nginx ]]; then   # its log line is written once the body is drained: 60 s at most
    for ((i = 0; i < 600; i++)); do
      (($(wc -l <"$NGX/upload.log") >= nginx_uploads + 1)) && break
      sleep 0.1
    done
    nginx_uploads=$((nginx_uploads + 1))
    log_line=$(sed -n "${nginx_uploads}p" "$NGX/upload.log")
  fi
  s1=$(cpu_of "$pid")
  read -r code secs size <<<"$out"
  secs=$(awk -v s="$secs" 'BEGIN { printf "%.3f", s }')
  if [[ $target == octomigd ]]; then
    [[ $code == 201 ]] || { echo "$BENCH_NAME: the upload to $url answered $code:" >&2; cat "$WORK/response.json" >&2; exit 1; }
    grep -q "\"PackageSizeBytes\":$BYTES" "$WORK/response.json" || { echo "$BENCH_NAME: wrong size in the response" >&2; exit 1; }
    code=$(curl -sS -o /dev/null -w '%{http_code}' -X DELETE -H @"$WORK/upload-key-header" \
      "http://127.0.0.1:$OCTO_PORT/api/Spaces-1/packages/Bench.1.0.$round")
    [[ $code == 2* ]] || { echo "$BENCH_NAME: DELETE of Bench.1.0.$round answered $code" >&2; exit 1; }
  else
    [[ $code == 204 ]] || { echo "$BENCH_NAME: the upload to $url answered $code" >&2; exit 1; }
    [[ ${log_line%% *} == 204 ]] || { echo "$BENCH_NAME: nginx logged no drained upload ($log_line)" >&2; exit 1; }
  fi
  ((${size%.*} >= BYTES)) || { echo "$BENCH_NAME: curl sent $size bytes to $url" >&2; exit 1; }
  local rate server_cpu client_cpu
  rate=$(mb_per_s "$BYTES" "$secs")
  server_cpu=$(awk -v a="$s0" -v b="$s1" 'BEGIN { printf "%.2f", b - a }')
  client_cpu=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')
  printf '  round %s %-8s %-5s %8.2f s %6s MB/s   server CPU %6s s   curl CPU %6s s%s\n' "$round" "$target" "$scheme" \
    "$secs" "$rate" "$server_cpu" "$client_cpu" "${log_line:+   nginx request_time ${log_line#* } s}"
  UP[$target/$scheme/rate]+="$rate " UP[$target/$scheme/server_cpu]+="$server_cpu "
  UP[$target/$scheme/client_cpu]+="$client_cpu " UP[$target/$scheme/secs]+="$secs "
}

# push_one SCHEME ROUND: the same package pushed into octomigd by octomigd's own push code
# (outbound::push_package, libcurl, certificates verified against the test CA): the package push
# between two servers, with the pushing server's other work left out.
push_one() {
  local scheme=$1 round=$2 port=$OCTO_PORT out secs bytes s0 s1 c0 c1 code
  [[ $scheme == https ]] && port=$OCTO_TLS_PORT
  s0=$(cpu_of "$OCTO_PID")
  children_cpu c0
  out=$("$PUSH" "$scheme://127.0.0.1:$port" "$PKG" "1.0.$round" "$WORK/upload-data/admin-api-key" "$CA")
  children_cpu c1
  s1=$(cpu_of "$OCTO_PID")
  read -r secs bytes <<<"$out"
  ((bytes == BYTES)) || { echo "$BENCH_NAME: the push sent $bytes bytes" >&2; exit 1; }
  code=$(curl -sS -o /dev/null -w '%{http_code}' -X DELETE -H @"$WORK/upload-key-header" \
    "http://127.0.0.1:$OCTO_PORT/api/Spaces-1/packages/Bench.1.0.$round")
  [[ $code == 2* ]] || { echo "$BENCH_NAME: DELETE of Bench.1.0.$round answered $code" >&2; exit 1; }
  local rate server_cpu client_cpu
  rate=$(mb_per_s "$BYTES" "$secs")
  server_cpu=$(awk -v a="$s0" -v b="$s1" 'BEGIN { printf "%.2f", b - a }')
  client_cpu=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')
  printf '  round %s %-8s %-5s %8.2f s %6s MB/s   server CPU %6s s   push CPU %6s s\n' "$round" push "$scheme" \
    "$secs" "$rate" "$server_cpu" "$client_cpu"
  UP[push/$scheme/rate]+="$rate " UP[push/$scheme/server_cpu]+="$server_cpu "
  UP[push/$scheme/client_cpu]+="$client_cpu " UP[push/$scheme/secs]+="$secs "
}

if [[ " $PARTS " == *" upload "* ]]; then
  key=${KEYS%% *}
  PKG=$WORK/Bench.1.0.0.zip
  BYTES=$((SIZE_MIB * 1024 * 1024))
  echo
  echo "== upload: writing a $SIZE_MIB MiB package of random bytes"
  head -c "$BYTES" /dev/urandom >"$PKG"
  start_servers "$key" "$UPLOAD_THREADS" "$WORK/upload-data"
  nginx_uploads=0
  : >"$NGX/upload.log"
  write_key_header "$WORK/upload-data" "$WORK/upload-key-header"
  echo "$key certificate; octomigd --threads $UPLOAD_THREADS (HTTP $OCTO_PORT, HTTPS $OCTO_TLS_PORT), nginx" \
    "worker_processes 1 (HTTP $NGINX_PORT, HTTPS $NGINX_TLS_PORT); curl --cacert CA -F file=@PKG to $UPLOAD_PATH"
  echo "negotiated (OpenSSL's client, as curl): octomigd $(negotiated "$OCTO_TLS_PORT"); nginx $(negotiated "$NGINX_TLS_PORT")"
  for ((round = 1; round <= ROUNDS; round++)); do
    for target in octomigd nginx; do
      for scheme in http https; do upload_one "$target" "$scheme" "$round"; done
    done
    for scheme in http https; do push_one "$scheme" "$round"; done
  done
  left=$(find "$WORK/upload-data/feed" -type f -name '*.zip' | wc -l)
  echo "  package files left in octomigd's feed after the deletes: $left"
  stop_servers
  rm -f "$PKG"
fi

# ---- one core's bulk cipher throughput, for reference ----
echo
echo "== openssl speed -evp CIPHER -bytes 16384 -seconds 3 (one core)"
declare -A SPEED
for cipher in aes-128-gcm aes-256-gcm chacha20-poly1305; do
  SPEED[$cipher]=$(openssl speed -evp "$cipher" -bytes 16384 -seconds 3 2>/dev/null |
    awk -v c="$cipher" 'tolower($1) == c { v = $NF; sub(/k$/, "", v); printf "%.0f", v * 1000 / 1e6 }')
  echo "  $cipher: ${SPEED[$cipher]} MB/s"
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
echo "end: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); load average $LOAD_END (at the start: $LOAD_START)"

# ---- summary: median (min–max) over the rounds ----
ratio_stats() {  # ratio_stats "A1 A2 ..." "B1 B2 ...": per-round 100*A/B, then stats
  local -a a b r=()
  read -ra a <<<"$1"
  read -ra b <<<"$2"
  for i in "${!a[@]}"; do r+=("$(awk -v x="${a[$i]}" -v y="${b[$i]}" 'BEGIN { printf "%.1f", 100 * x / y }')"); done
  stats "${r[@]}"
}
echo
echo "summary: median (min–max) of $ROUNDS rounds; ratios per round, then their median"
goal=""
if [[ " $PARTS " == *" poll "* ]]; then
  for key in $KEYS; do
    threads_list=$THREADS_LIST
    [[ $key != "${KEYS%% *}" ]] && threads_list=1
    for threads in $threads_list; do
      for mode in keepalive close; do
        for scheme in http https; do
          k=$key/$threads/$mode
          [[ -n ${RES[$k/octomigd/$scheme]:-} ]] || continue
          # shellcheck disable=SC2086  # word splitting of the lists is wanted
          echo "RESULT poll key=$key threads=$threads mode=$mode scheme=$scheme" \
            "octomigd_rps=\"$(stats ${RES[$k/octomigd/$scheme]})\" octomigd_p99_ms=\"$(stats ${RES[$k/octomigd-p99/$scheme]})\"" \
            "nginx_rps=\"$(stats ${RES[$k/nginx/$scheme]})\" nginx_p99_ms=\"$(stats ${RES[$k/nginx-p99/$scheme]})\"" \
            "ratio_pct=\"$(ratio_stats "${RES[$k/octomigd/$scheme]}" "${RES[$k/nginx/$scheme]}")\""
        done
        if [[ -n ${RES[$k/octomigd/https]:-} && -n ${RES[$k/octomigd/http]:-} ]]; then
          echo "RESULT poll key=$key threads=$threads mode=$mode https_vs_http_pct" \
            "octomigd=\"$(ratio_stats "${RES[$k/octomigd/https]}" "${RES[$k/octomigd/http]}")\"" \
            "nginx=\"$(ratio_stats "${RES[$k/nginx/https]}" "${RES[$k/nginx/http]}")\""
        fi
      done
    done
  done
  k=${KEYS%% *}/1/keepalive
  if [[ -n ${RES[$k/octomigd/https]:-} ]]; then
    median_ratio=$(ratio_stats "${RES[$k/octomigd/https]}" "${RES[$k/nginx/https]}" | cut -d' ' -f1)
    goal=met
    below "$median_ratio" 60 && goal=MISSED
    echo "GOAL https poll (octomigd --threads 1 >= 60% of nginx's requests/s over HTTPS, keep-alive, ${KEYS%% *}): $goal ($median_ratio%)"
  fi
fi
if [[ " $PARTS " == *" upload "* ]]; then
  for target in octomigd nginx push; do
    for scheme in http https; do
      # shellcheck disable=SC2086
      echo "RESULT upload target=$target scheme=$scheme size_mib=$SIZE_MIB mb_s=\"$(stats ${UP[$target/$scheme/rate]})\"" \
        "seconds=\"$(stats ${UP[$target/$scheme/secs]})\" server_cpu_s=\"$(stats ${UP[$target/$scheme/server_cpu]})\"" \
        "curl_cpu_s=\"$(stats ${UP[$target/$scheme/client_cpu]})\""
    done
  done
  echo "RESULT upload octomigd_vs_nginx_pct http=\"$(ratio_stats "${UP[octomigd/http/rate]}" "${UP[nginx/http/rate]}")\"" \
    "https=\"$(ratio_stats "${UP[octomigd/https/rate]}" "${UP[nginx/https/rate]}")\"" \
    "octomigd_https_vs_http=\"$(ratio_stats "${UP[octomigd/https/rate]}" "${UP[octomigd/http/rate]}")\""
  echo "RESULT upload push_vs_curl_to_nginx_pct https=\"$(ratio_stats "${UP[push/https/rate]}" "${UP[nginx/https/rate]}")\"" \
    "push_https_vs_http=\"$(ratio_stats "${UP[push/https/rate]}" "${UP[push/http/rate]}")\""
fi
echo "RESULT openssl_speed_mb_s aes-128-gcm=${SPEED[aes-128-gcm]} aes-256-gcm=${SPEED[aes-256-gcm]} chacha20-poly1305=${SPEED[chacha20-poly1305]}"
echo "load average: start $LOAD_START, end $LOAD_END"
