#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs the whole test suite under
# AddressSanitizer + UndefinedBehaviorSanitizer, then fuzzes the C API
# for a bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
build=${HVSHIM_TEST_BUILD:-build-test}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DHVSHIM_SANITIZE=address,undefined
cmake --build "$build" -j"$(nproc)"
(cd "$build" && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j"$(nproc)" --timeout 900)
# Bounded fuzzing of the C API (libFuzzer, clang).
scripts/fuzz.sh
