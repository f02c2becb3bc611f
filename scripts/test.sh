#!/usr/bin/env bash
# Sets up, builds everything and runs the whole test suite with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
cd build
ctest --output-on-failure --timeout 300 -j"${OCTOMIG_TEST_JOBS:-2}"
