// Runs a create/destroy cycle many times and checks that the process does
// not grow: after a warm-up (first-use allocations, lazily created caches,
// the sanitizer allocator's own regions), the fd count must be back exactly
// where it was, and mappings, resident memory and live heap may only move
// within small fixed budgets that a per-cycle leak would blow through.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "process_usage.h"

namespace stress {

// Budgets cover one-time growth after the warm-up (first use of a size
// class, the sanitizer's quarantine of freed memory: see asan_options.cpp);
// the second half of the run must add next to nothing, so a leak of a few
// bytes per cycle still shows.
struct GrowthBudget {
  long anon_kib = 16 * 1024;      // anonymous mappings (quarantined large blocks stay mapped)
  long rss_kib = 16 * 1024;       // resident memory
  long heap_bytes = 64 * 1024;    // live heap, whole run
  long heap_bytes_second_half = 4 * 1024;
};

struct GrowthRun {
  Usage base, mid, end;
  std::vector<std::string> base_maps, end_maps;
  int cycles = 0;
  double seconds = 0;
};

// `cycle(i)` must perform one full cycle and return false (after reporting
// through gtest) to stop early. Warm-up cycles are not measured.
inline GrowthRun run_cycles(int warmup, int cycles, const std::function<bool(int)>& cycle) {
  GrowthRun r;
  for (int i = 0; i < warmup; ++i)
    if (!cycle(i)) return r;
  r.base = sample_usage();
  r.base_maps = maps_lines();
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < cycles; ++i) {
    if (!cycle(warmup + i)) return r;
    ++r.cycles;
    if (i == cycles / 2) r.mid = sample_usage();
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.end = sample_usage();
  r.end_maps = maps_lines();
  return r;
}

inline void expect_no_growth(const GrowthRun& r, const char* what, const GrowthBudget& b = {}) {
  printf("[ measure  ] %s: %d cycles in %.2f s (%.1f us/cycle)\n  before %s\n  middle %s\n  after  %s\n",
         what, r.cycles, r.seconds, r.cycles ? r.seconds * 1e6 / r.cycles : 0.0, to_string(r.base).c_str(),
         to_string(r.mid).c_str(), to_string(r.end).c_str());
  ::testing::Test::RecordProperty(std::string(what) + "_cycles", r.cycles);
  EXPECT_EQ(r.end.fds, r.base.fds) << what << ": file descriptors grew over " << r.cycles << " cycles";
  EXPECT_EQ(r.end.named_maps, r.base.named_maps)
      << what << ": file/memfd/KVM mappings grew over " << r.cycles << " cycles; new:\n"
      << new_lines(r.base_maps, r.end_maps);
  // HVSHIM_STRESS_VERBOSE=1 lists the mappings that appeared, to tell
  // allocator regions from mappings the library made.
  if (getenv("HVSHIM_STRESS_VERBOSE")) printf("new maps:\n%s", new_lines(r.base_maps, r.end_maps).c_str());
  EXPECT_LE(r.end.anon_kib, r.base.anon_kib + b.anon_kib) << what << ": anonymous mappings grew; new:\n"
                                                          << new_lines(r.base_maps, r.end_maps);
  EXPECT_LE(r.end.rss_kib, r.base.rss_kib + b.rss_kib) << what << ": resident memory grew";
  if (r.base.heap_bytes >= 0) {
    EXPECT_LE(r.end.heap_bytes, r.base.heap_bytes + b.heap_bytes) << what << ": live heap grew";
    EXPECT_LE(r.end.heap_bytes, r.mid.heap_bytes + b.heap_bytes_second_half)
        << what << ": live heap kept growing in the second half (" << r.mid.heap_bytes << " -> " << r.end.heap_bytes
        << " B)";
  }
}

}  // namespace stress
