// The Linux-native ways to walk this process's mappings, the yardsticks of
// mach_region_walk_10k: parse /proc/self/maps, or ask the kernel for one
// VMA at a time with the PROCMAP_QUERY ioctl (Linux 6.11+).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hvbench {

struct Vma {
  uint64_t start = 0, end = 0;
  bool r = false, w = false, x = false;
};

// Reads /proc/self/maps in one go into `buf` (kept by the caller so the
// timed walks reuse its capacity) and returns the mappings that lie inside
// [lo, hi). False on a read or parse error.
bool maps_in_range(uint64_t lo, uint64_t hi, std::string& buf, std::vector<Vma>& out);

// PROCMAP_QUERY on an open /proc/self/maps descriptor: the VMA covering
// addr, else the next one above it. False at the end or if the kernel has
// no PROCMAP_QUERY (then *unsupported is set).
bool procmap_query(int fd, uint64_t addr, Vma& out, bool* unsupported);

}  // namespace hvbench
