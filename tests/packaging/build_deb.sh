#!/usr/bin/env bash
# The fixture of the .deb tests: `cpack -G DEB` on the build directory, into OUT_DIR (emptied
# first). The build directory is built already when ctest runs, so cpack only stages and packs.
# usage: build_deb.sh BUILD_DIR OUT_DIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"
build=$1 out=$2

for tool in cpack dpkg-deb dpkg-shlibdeps file; do
  command -v "$tool" >/dev/null || fail "$tool is missing (scripts/setup.sh installs it)"
done
rm -rf "$out"
mkdir -p "$out"
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$out" > "$work/cpack.log" 2>&1 \
  || fail "cpack: $(cat "$work/cpack.log")"
deb=$(the_deb "$out")
# cpack stages everything under _CPack_Packages; nothing else is kept.
rm -rf "$out/_CPack_Packages"
echo "built $deb"
