#!/usr/bin/env bash
# Sets up, builds and runs octomigd on the embedded RocksDB store in ./octomig-data.
# Arguments go to octomigd (see `scripts/run.sh --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh --target octomigd octomig-admin
exec ./build/server/octomigd "$@"
