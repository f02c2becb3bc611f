# shellcheck shell=bash
# bench/lib.sh: what the bench scripts share. Sourced, not executed:
#   source "$ROOT/bench/lib.sh"
# It sets no shell options: callers must `set -euo pipefail` themselves (before sourcing it).
#
# It offers:
#   BENCH_NAME                      the prefix of messages on stderr; default: the script's name
#                                   without .sh (e.g. http_bench)
#   KEY_LUA                         the absolute path of bench/key_header.lua (wrk -s "$KEY_LUA")
#   require_exes EXE...             exit 1 unless each EXE is an executable ("build first")
#   require_tools TOOL...           exit 1 unless each TOOL is on PATH
#   stop_pid PID NAME               SIGTERM, wait up to 10 s, then SIGKILL; reaps PID; no-op for "" or
#                                   a process that has ended
#   start_octomigd DATA_DIR LOG [OCTOMIGD ARGS...]
#                                   runs "$OCTOMIGD" --data-dir DATA_DIR --listen 127.0.0.1:0 ARGS in
#                                   the background with its stderr in LOG, waits up to 10 s for the log
#                                   line "listening on http://127.0.0.1:PORT/api", sets OCTO_PID and
#                                   OCTO_PORT; exits 1 with the log on stderr if it does not start
#                                   (OCTO_PID stays set, so the caller's trap stops it)
#   write_key_header DATA_DIR FILE  writes "X-Octopus-ApiKey: <DATA_DIR/admin-api-key>" into FILE
#                                   (mode 0600) and exports OCTOMIG_KEY_HEADER_FILE=FILE, which
#                                   bench/key_header.lua reads: curl takes the key with -H @FILE, wrk
#                                   with -s "$KEY_LUA"; the key never goes on a command line and is
#                                   never printed
#   to_ms VALUE                     a wrk duration (812.00us, 1.20ms, 2.00s, 1.00m) in ms, "%.3f"
#   wrk_measure URL [WRK ARGS...]   runs wrk --latency WRK ARGS URL (the caller gives -t, -c, -d and,
#                                   for the key, -s), appends its output to $WRK_RAW if that is set,
#                                   prints nothing and sets RPS, P50 and P99 (as wrk prints them),
#                                   P50_MS, P99_MS, REQUESTS, SECONDS_RUN, NON2XX (0 if none) and
#                                   SOCKET_ERRORS (wrk's "Socket errors:" text, empty if none); exits 1
#                                   if wrk's output lacks requests/s or the percentiles
#   print_machine DIR [WHAT]        "== machine", then cores, CPU, memory, load average and the disk of
#                                   DIR, labelled "disk of WHAT" (default "the temporary directory")
#   now                             the time as seconds.nanoseconds (date +%s.%N)

: "${BENCH_NAME:=$(basename -- "$0" .sh)}"
KEY_LUA=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/key_header.lua
OCTO_PID=""
OCTO_PORT=""

require_exes() {  # require_exes EXE...
  local exe
  for exe in "$@"; do
    [[ -x $exe ]] || { echo "$BENCH_NAME: $exe is missing; build first" >&2; exit 1; }
  done
}

require_tools() {  # require_tools TOOL...
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$BENCH_NAME: $tool is not installed" >&2; exit 1; }
  done
}

stop_pid() {  # stop_pid PID NAME: SIGTERM, wait up to 10 s, then SIGKILL
  local pid=$1 name=$2 i
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "$BENCH_NAME: $name ($pid) did not stop within 10 s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

start_octomigd() {  # start_octomigd DATA_DIR LOG [OCTOMIGD ARGS...]; sets OCTO_PID and OCTO_PORT
  local data=$1 log=$2 exe=${OCTOMIGD:?start_octomigd: OCTOMIGD is not set} i
  shift 2
  : >"$log"  # exists before the first read below, whenever the shell opens it for the server
  "$exe" --data-dir "$data" --listen 127.0.0.1:0 "$@" 2>>"$log" &
  OCTO_PID=$!
  OCTO_PORT=""
  for ((i = 0; i < 100; i++)); do  # the log line names the port; 10 s at most
    OCTO_PORT=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/api.*|\1|p' "$log" | head -n1)
    [[ -n $OCTO_PORT ]] && break
    kill -0 "$OCTO_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -z $OCTO_PORT ]]; then
    echo "$BENCH_NAME: octomigd did not start; its log:" >&2
    cat "$log" >&2
    exit 1
  fi
}

write_key_header() {  # write_key_header DATA_DIR FILE; exports OCTOMIG_KEY_HEADER_FILE=FILE
  local data=$1 file=$2 key
  [[ -s $data/admin-api-key ]] || { echo "$BENCH_NAME: $data/admin-api-key is missing" >&2; exit 1; }
  [[ -r $KEY_LUA ]] || { echo "$BENCH_NAME: $KEY_LUA is missing" >&2; exit 1; }
  key=$(head -n1 "$data/admin-api-key")
  # printf is a builtin: the key is in no process's arguments
  ( umask 077; printf 'X-Octopus-ApiKey: %s\n' "$key" >"$file" )
  export OCTOMIG_KEY_HEADER_FILE=$file
}

to_ms() {  # to_ms VALUE_WITH_UNIT (wrk's 812.00us, 1.20ms, 2.00s, 1.00m) -> milliseconds
  awk -v v="$1" 'BEGIN { u = v; gsub(/[0-9.]/, "", u); sub(/[a-z]+$/, "", v);
                         f = (u == "us") ? 0.001 : (u == "s") ? 1000 : (u == "m") ? 60000 : (u == "h") ? 3600000 : 1;
                         printf "%.3f", v * f }'
}

# wrk_measure URL [WRK ARGS...]: see the top of this file
# shellcheck disable=SC2034  # the variables it sets are for the callers
wrk_measure() {
  local url=$1 out took
  shift
  out=$(wrk --latency "$@" "$url") || { echo "$BENCH_NAME: wrk failed:" >&2; echo "$out" >&2; exit 1; }
  if [[ -n ${WRK_RAW:-} ]]; then printf '%s\n' "$out" >>"$WRK_RAW"; fi
  RPS=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  P50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  P99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  [[ -n $RPS && -n $P50 && -n $P99 ]] || { echo "$BENCH_NAME: unexpected wrk output:" >&2; echo "$out" >&2; exit 1; }
  P50_MS=$(to_ms "$P50")
  P99_MS=$(to_ms "$P99")
  # "  12345 requests in 10.00s, 4.56MB read"
  REQUESTS=$(awk '$2 == "requests" && $3 == "in" {print $1}' <<<"$out")
  took=$(awk '$2 == "requests" && $3 == "in" {sub(/,$/, "", $4); print $4}' <<<"$out")
  SECONDS_RUN=$(awk -v ms="$(to_ms "$took")" 'BEGIN { printf "%.3f", ms / 1000 }')
  NON2XX=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$out")
  NON2XX=${NON2XX:-0}
  SOCKET_ERRORS=$(awk '/Socket errors:/ {sub(/^ *Socket errors: */, ""); print}' <<<"$out")
}

print_machine() {  # print_machine DIR [WHAT]
  local dir=$1 what=${2:-the temporary directory}
  echo "== machine"
  echo "cores: $(nproc); CPU: $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "memory: $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "disk of $what: $(df -h "$dir" | awk 'NR == 2 {print $1 " on " $6 ", " $2 " size, " $4 " free"}')"
}

now() { date +%s.%N; }
