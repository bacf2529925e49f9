#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs the whole test suite under
# AddressSanitizer + UndefinedBehaviorSanitizer, the multi-threaded tests
# under ThreadSanitizer, then fuzzes the C API for a bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
build=${HVSHIM_TEST_BUILD:-build-test}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DHVSHIM_SANITIZE=address,undefined
cmake --build "$build" -j"$(nproc)"
(cd "$build" && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j"$(nproc)" --timeout 900)
# Benchmark smoke run: every hvbench case runs and writes its JSON.
taskset -c 0 "$build/tools/hvbench/hvbench" --quick --json "$build/hvbench-quick.json"
# The multi-threaded tests again under ThreadSanitizer.
cmake --preset tsan
tsan_targets=(hvapi_tests)
compgen -G "tests/vcpu/*.cpp" >/dev/null && tsan_targets+=(vcpu_tests)
cmake --build build-tsan -j"$(nproc)" --target "${tsan_targets[@]}"
(cd build-tsan && TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure --timeout 900 \
  -R "Concurren|Interrupt|Thread|Race")
# Bounded fuzzing of the C API (libFuzzer, clang).
scripts/fuzz.sh
