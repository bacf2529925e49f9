#!/usr/bin/env bash
# Installs the Debian packages hvshim builds, tests and packages with, only those missing.
# The list is what a minimal Debian 12 (debootstrap --variant=minbase) lacks for
# scripts/demo.sh and scripts/test.sh, as found by scripts/fresh-check.sh; recommends are
# not installed, so everything a step needs is named here:
#   file, dpkg-dev       cpack -G DEB (file type detection, dpkg-shlibdeps for the depends)
#   libclang-rt-14-dev   libFuzzer and clang's ASan/UBSan runtimes (only recommended by clang)
set -euo pipefail
pkgs=(cmake make g++ clang libclang-rt-14-dev pkg-config liburing-dev libfmt-dev libgtest-dev libgmock-dev
      libbenchmark-dev linux-libc-dev file dpkg-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]})) || exit 0
if ((EUID != 0)); then
  echo "deps.sh: missing Debian packages: ${missing[*]}" >&2
  echo "deps.sh: as root run: apt-get install --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends "${missing[@]}" ||
  { apt-get update && apt-get install -y --no-install-recommends "${missing[@]}"; }
