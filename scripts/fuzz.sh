#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for a bounded time
# (HVSHIM_FUZZ_SECONDS, default 60) from the committed seed corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${HVSHIM_FUZZ_SECONDS:-60}
build=${HVSHIM_FUZZ_BUILD:-build-fuzz}
CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DHVSHIM_FUZZ=ON \
  -DHVSHIM_BUILD_TESTS=OFF -DHVSHIM_BUILD_TOOLS=OFF -DHVSHIM_SANITIZE=address,undefined
for dir in fuzz/corpus/*/; do
  name=$(basename "$dir")
  target="${name}_fuzzer"
  cmake --build "$build" -j"$(nproc)" --target "$target"
  work=$(mktemp -d)
  cp "$dir"* "$work"/
  echo "fuzzing $target for ${secs}s"
  "$build/fuzz/$target" -max_total_time="$secs" -timeout=20 -print_final_stats=1 "$work"
  rm -rf "$work"
done
