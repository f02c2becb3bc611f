#!/usr/bin/env bash
# Runs clients.test.mjs (the real Octopus JavaScript clients) against the real built octomigd:
# starts it on port 0 with a temporary data directory, reads the bound port from its log, installs
# the pinned clients with `npm ci` when node_modules is missing, runs the tests, then SIGTERMs it.
# A second octomigd, seeded with octomig-admin, is the source of partial exports whose packages the
# first one receives and imports (OCTOMIG_SOURCE_URL, OCTOMIG_SOURCE_API_KEY).
# HTTPS: a throwaway CA made here with the openssl tool signs a certificate for 127.0.0.1 and
# localhost; a third octomigd serves HTTPS only with it (OCTOMIG_TLS_URL, OCTOMIG_TLS_API_KEY), the
# source serves HTTPS beside HTTP (OCTOMIG_SOURCE_TLS_URL) and trusts the CA for its pushes
# (--ca-file), and node trusts it through NODE_EXTRA_CA_CERTS. Nothing turns verification off.
# Usage: run.sh OCTOMIGD OCTOMIG_ADMIN. Exit 77 (a skip for CTest) only when node or npm is not
# installed.
set -euo pipefail

octomigd=${1:?usage: run.sh path/to/octomigd path/to/octomig-admin}
admin=${2:?usage: run.sh path/to/octomigd path/to/octomig-admin}
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
source_log="$data/source.log"
tls_log="$data/tls.log"
pids=()
# SIGTERM to each server, then 10 s for it to stop cleanly before SIGKILL.
cleanup() {
  for p in "${pids[@]}"; do
    kill -0 "$p" 2>/dev/null || continue
    kill -TERM "$p"
    for _ in $(seq 1 200); do
      kill -0 "$p" 2>/dev/null || break
      sleep 0.05
    done
    if kill -0 "$p" 2>/dev/null; then
      echo "octomigd (pid $p) did not stop within 10 s of SIGTERM; killing it" >&2
      kill -KILL "$p"
    fi
    wait "$p" || true
  done
  rm -rf "$data"
}
trap cleanup EXIT

# The test CA and certificates, in $data/pki (mode 0700 with the rest of $data):
#   ca.pem                     the CA the servers' certificates come from, trusted by the clients
#   server.pem, server.key     for 127.0.0.1 and localhost, signed by ca.pem
#   other-ca.pem               a CA trusted by nothing here
#   other-server.pem, .key     for 127.0.0.1 and localhost, signed by other-ca.pem (a feed the
#                              source must refuse)
# EC P-256 keys, valid for 2 days. openssl's chatter goes to openssl.log, shown only on failure.
pki="$data/pki"
mkdir "$pki"
cat >"$pki/x509.cnf" <<'CNF'
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
# make_ca NAME: NAME.pem and NAME.key, a self-signed CA.
make_ca() {
  openssl req -x509 -new -config "$pki/x509.cnf" -extensions ca -newkey ec \
    -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$pki/$1.key" -out "$pki/$1.pem" -days 2 \
    -subj "/O=octomig tests/CN=octomig clients test $1"
}
# make_server NAME CA: NAME.pem and NAME.key for 127.0.0.1 and localhost, signed by CA.
make_server() {
  openssl req -new -config "$pki/x509.cnf" -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$pki/$1.key" -out "$pki/$1.csr" -subj "/O=octomig tests/CN=localhost" &&
    openssl x509 -req -in "$pki/$1.csr" -CA "$pki/$2.pem" -CAkey "$pki/$2.key" \
      -set_serial "0x$(openssl rand -hex 8)" -days 2 -sha256 -extfile "$pki/x509.cnf" \
      -extensions server -out "$pki/$1.pem"
}
if ! { make_ca ca && make_server server ca && make_ca other-ca && make_server other-server other-ca &&
  openssl verify -CAfile "$pki/ca.pem" "$pki/server.pem"; } >"$pki/openssl.log" 2>&1; then
  echo "could not make the test certificates with openssl:" >&2
  cat "$pki/openssl.log" >&2
  exit 1
fi

# Waits (10 s at most) for the log line "listening on SCHEME://127.0.0.1:PORT/api" of the server
# with pid $1 logging to $2 (SCHEME: $3, http unless given), and prints PORT.
wait_port() {
  local pid=$1 file=$2 scheme=${3:-http} port=""
  for _ in $(seq 1 200); do
    port=$(sed -n "s|.*listening on $scheme://127\.0\.0\.1:\([0-9]*\)/api.*|\1|p" "$file" | head -n 1)
    [ -n "$port" ] && { echo "$port"; return 0; }
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "octomigd exited before listening:" >&2; cat "$file" >&2; return 1
    fi
    sleep 0.05
  done
  echo "octomigd did not report a $scheme port within 10 s:" >&2; cat "$file" >&2; return 1
}

# Each server pauses the first step of its migrations for up to 1 s (the source its exports, the
# destinations their imports), so that a waiting client sees them run.
OCTOMIG_TEST_PAUSE_IN_STEP="Open package:1000" \
  "$octomigd" --data-dir "$data/server" --listen 127.0.0.1:0 --threads 2 2>"$log" &
pids+=($!)
port=$(wait_port "${pids[-1]}" "$log")

"$admin" --data-dir "$data/source" seed --projects 3 --releases 2 --deployments 2 --log-lines 5 >/dev/null
OCTOMIG_TEST_PAUSE_IN_STEP="Collect documents:1000" \
  "$octomigd" --data-dir "$data/source" --listen 127.0.0.1:0 --listen-tls 127.0.0.1:0 \
  --tls-cert "$pki/server.pem" --tls-key "$pki/server.key" --ca-file "$pki/ca.pem" \
  --threads 2 2>"$source_log" &
pids+=($!)
source_port=$(wait_port "${pids[-1]}" "$source_log")
source_tls_port=$(wait_port "${pids[-1]}" "$source_log" https)

# The HTTPS-only destination: --listen-tls without --listen.
OCTOMIG_TEST_PAUSE_IN_STEP="Open package:1000" \
  "$octomigd" --data-dir "$data/tls" --listen-tls 127.0.0.1:0 \
  --tls-cert "$pki/server.pem" --tls-key "$pki/server.key" --threads 2 2>"$tls_log" &
pids+=($!)
tls_port=$(wait_port "${pids[-1]}" "$tls_log" https)
if grep -q 'listening on http://' "$tls_log"; then
  echo "the HTTPS-only octomigd (--listen-tls without --listen) also listens on plain HTTP:" >&2
  cat "$tls_log" >&2
  exit 1
fi

export OCTOMIG_URL="http://127.0.0.1:$port"
OCTOMIG_API_KEY=$(head -n 1 "$data/server/admin-api-key")
export OCTOMIG_API_KEY
export OCTOMIG_SOURCE_URL="http://127.0.0.1:$source_port"
export OCTOMIG_SOURCE_TLS_URL="https://127.0.0.1:$source_tls_port"
OCTOMIG_SOURCE_API_KEY=$(head -n 1 "$data/source/admin-api-key")
export OCTOMIG_SOURCE_API_KEY
export OCTOMIG_TLS_URL="https://127.0.0.1:$tls_port"
OCTOMIG_TLS_API_KEY=$(head -n 1 "$data/tls/admin-api-key")
export OCTOMIG_TLS_API_KEY
export OCTOMIG_TEST_PKI="$pki"
cd "$here"
status=0
# Every test has its own time limit (clients.test.mjs); this bounds the whole run besides.
NODE_EXTRA_CA_CERTS="$pki/ca.pem" timeout --kill-after=5 100 \
  node --test --test-reporter=spec --test-timeout=60000 clients.test.mjs || status=$?
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "the client tests did not finish within 100 s"
fi
if [ "$status" -ne 0 ]; then
  echo "---- octomigd log ----"; cat "$log"
  echo "---- source octomigd log ----"; cat "$source_log"
  echo "---- HTTPS-only octomigd log ----"; cat "$tls_log"
fi
exit "$status"
