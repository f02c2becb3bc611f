#!/usr/bin/env bash
# Installs every Debian package that octomig's build, tests and benchmarks need.
# Idempotent: it calls apt-get only when a package is missing, and runs `apt-get update` first.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libcaf-dev librocksdb-dev libcereal-dev libcurl4-openssl-dev libsodium-dev
  libboost1.81-dev libboost-json1.81-dev catch2 libzip-dev libarchive-dev zlib1g-dev libspdlog-dev
  curl wrk hyperfine nginx-light p7zip-full jq python3
  systemd dpkg-dev file  # packaging tests: systemd-analyze; cpack -G DEB: dpkg-shlibdeps, file
  libssl-dev openssl
)

# Node.js and npm drive the real JavaScript clients in the tests. A machine may already have them
# from another source (a nodejs build that bundles npm conflicts with Debian's npm package), so
# they are installed only when the commands are missing.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -q
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
