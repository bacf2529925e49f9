#!/usr/bin/env bash
# Installs the Debian packages hvshim builds with, only those missing.
set -euo pipefail
pkgs=(cmake make g++ clang pkg-config liburing-dev libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev linux-libc-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${missing[@]}" || { apt-get update && apt-get install -y --no-install-recommends "${missing[@]}"; }
fi
