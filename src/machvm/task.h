// The calling process's VM map: our entry table plus one lock that orders
// every change of it against the matching kernel mapping calls.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <mutex>
#include <vector>

#include "machvm/kernel_view.h"
#include "machvm/region_map.h"

namespace hvshim::machvm {

struct Task {
  std::mutex mu;
  RegionMap map;
  // ANYWHERE searches start here: below it, everything from the map's low
  // end up is known to be occupied (0: nothing known yet).
  uint64_t first_free = 0;
};

// The process-wide task; first use also installs the fork handlers.
Task& self_task();

// A run of [start, end): one of our entries, a mapping we did not make
// (reported from the kernel's view), or nothing.
struct Segment {
  enum Kind { ours, foreign, hole } kind = hole;
  uint64_t start = 0, end = 0;
  Entry* entry = nullptr;  // ours; valid while the lock is held
  KernelVma vma;           // foreign
  vm_prot_t cur() const { return kind == ours ? entry->cur : kind == foreign ? vma.prot : 0; }
  vm_prot_t max() const { return kind == ours ? entry->max : kind == foreign ? VM_PROT_ALL : 0; }
};

// Segments covering [start, end) in address order (lock held).
std::vector<Segment> segments(Task& t, uint64_t start, uint64_t end, bool want_names = false);

// Checks every page of [start, end) is mapped and has `need` in its current
// protection. Returns KERN_INVALID_ADDRESS for a hole, KERN_PROTECTION_FAILURE
// for missing rights.
kern_return_t check_access(Task& t, uint64_t start, uint64_t end, vm_prot_t need, const char* what);

}  // namespace hvshim::machvm
