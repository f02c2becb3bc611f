#!/usr/bin/env bash
# Builds the Debian package of octomig (octomigd, octomig-admin, octomig, the systemd unit) and
# prints its path. It installs what is missing, builds the binaries alone (no tests, no benchmarks)
# in ./build-deb (Release) and runs `cpack -G DEB` there. Install the result with
# `apt-get install ./build-deb/octomig_<version>_<arch>.deb`; see README.md, "Running octomigd as a
# service".
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
werror=OFF
[ -n "${CI:-}" ] && werror=ON
cmake -S . -B build-deb -G Ninja -DCMAKE_BUILD_TYPE=Release -DOCTOMIG_WERROR="$werror" \
  -DOCTOMIG_TESTS=OFF -DOCTOMIG_BENCH=OFF >/dev/null
cmake --build build-deb -j"${OCTOMIG_BUILD_JOBS:-2}"
rm -f build-deb/octomig_*.deb
(cd build-deb && cpack -G DEB > cpack.log 2>&1) || { cat build-deb/cpack.log >&2; exit 1; }
debs=(build-deb/octomig_*.deb)
[ -f "${debs[0]}" ] || { echo "package: cpack made no .deb" >&2; exit 1; }
echo "$(pwd)/${debs[0]}"
