// Everything a Mach VM call could change, captured so a test can demand
// "exactly as before": the region table as mach_vm_region reports it, the
// kernel's own mappings (protection, backing file and offset, DONTFORK,
// mlock, advice flags), the bytes of every page, our table's size and the
// open descriptors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vmtest {

struct RegionRec {
  uint64_t start = 0, end = 0;
  int cur = 0, max = 0, inherit = 0, behavior = 0, wired = 0, tag = 0;
  unsigned ref_count = 0;
  bool shared = false;
  uint64_t offset = 0, object = 0;
  bool operator==(const RegionRec&) const = default;
  std::string str() const;
};

struct KernelRec {
  uint64_t start = 0, end = 0;
  std::string perms;  // rwxp / rwxs
  uint64_t offset = 0, inode = 0;
  std::string flags;  // the VmFlags a Mach call may change: dc (DONTFORK), lo (locked), rr, sr
  std::string name;
  bool operator==(const KernelRec&) const = default;
  std::string str() const;
};

// The kernel's mappings from /proc/self/smaps, neighbours that differ only
// in how the kernel happened to split them merged.
std::vector<KernelRec> kernel_mappings();

int open_fds();

struct VmState {
  uint64_t lo = 0, hi = 0;
  std::vector<RegionRec> regions;      // mach_vm_region walk of [lo, hi)
  std::vector<KernelRec> kernel;       // kernel mappings inside [lo, hi), clipped
  std::vector<KernelRec> ours_elsewhere;  // our memfd mappings outside [lo, hi)
  std::vector<KernelRec> none_elsewhere;  // PROT_NONE anonymous mappings outside [lo, hi)
  std::vector<uint64_t> page_hashes;   // every page of [lo, hi): contents (0 if unmapped)
  size_t table_entries = 0;            // our region table, whole process
  int fds = 0;
};

VmState capture(uint64_t lo, uint64_t hi);

// Empty when `after` is exactly `before`. PROT_NONE reservations elsewhere
// may only shrink (sanitizer allocators carve their heaps out of theirs);
// a new one is a leaked placeholder.
std::string differences(const VmState& before, const VmState& after);

uint64_t hash_bytes(const void* p, uint64_t n);

}  // namespace vmtest
