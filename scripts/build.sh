#!/usr/bin/env bash
# Installs what is missing, then configures and builds octomig in ./build (Release).
# Extra arguments are passed to the build (e.g. --target octomigd).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
werror=OFF
[ -n "${CI:-}" ] && werror=ON
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DOCTOMIG_WERROR="$werror" >/dev/null
cmake --build build -j"${OCTOMIG_BUILD_JOBS:-2}" "$@"
