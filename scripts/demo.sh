#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds hvshim and runs the demo VMM,
# then reports what this host supports. When the demo cannot run, it prints
# why and the fix, the report follows, and the exit status is the demo's.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHVSHIM_BUILD_TESTS=OFF
cmake --build build -j"$(nproc)" --target hvdemo hvshim-info
rc=0
build/tools/hvdemo/hvdemo || rc=$?
echo
build/tools/hvshim-info/hvshim-info || true
exit "$rc"
