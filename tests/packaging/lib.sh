# lib.sh: what the packaging tests share. Sourced; each test runs under `set -euo pipefail`.

# fail MESSAGE...: says what went wrong and ends the test.
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# the_deb DIR: the path of the one .deb that the "cpack builds the .deb" fixture left in DIR.
the_deb() {
  local debs=("$1"/octomig_*.deb)
  [ -f "${debs[0]}" ] || fail "no octomig_*.deb in $1 (the cpack fixture did not run or failed)"
  [ "${#debs[@]}" -eq 1 ] || fail "more than one .deb in $1: ${debs[*]}"
  echo "${debs[0]}"
}

# A temporary directory per test, removed however the test ends.
work=$(mktemp -d "${TMPDIR:-/tmp}/octomig-packaging.XXXXXX")
trap 'rm -rf "$work"' EXIT
