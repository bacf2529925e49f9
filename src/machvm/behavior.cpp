// mach_vm_behavior_set: recorded paging hints plus the behaviours that act
// on pages at once (discard, zero, page out).
#include <sys/mman.h>

#include <cstring>

#include "machvm/fail.h"
#include "machvm/page.h"
#include "machvm/task.h"
#include "machvm/vm_ops.h"

#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

namespace hvshim::machvm {

namespace {
bool recorded(vm_behavior_t b) {
  return b == VM_BEHAVIOR_DEFAULT || b == VM_BEHAVIOR_RANDOM || b == VM_BEHAVIOR_SEQUENTIAL ||
         b == VM_BEHAVIOR_RSEQNTL;
}

int advice_for(vm_behavior_t b) {
  switch (b) {
    case VM_BEHAVIOR_RANDOM: return MADV_RANDOM;
    case VM_BEHAVIOR_SEQUENTIAL: return MADV_SEQUENTIAL;
    case VM_BEHAVIOR_WILLNEED: return MADV_WILLNEED;
    case VM_BEHAVIOR_DONTNEED: return MADV_COLD;  // XNU deactivates; the contents stay
    case VM_BEHAVIOR_PAGEOUT: return MADV_PAGEOUT;
    default: return MADV_NORMAL;
  }
}

// Contents become undefined (FREE, REUSABLE) or zero (ZERO).
bool discards(vm_behavior_t b) {
  return b == VM_BEHAVIOR_FREE || b == VM_BEHAVIOR_REUSABLE || b == VM_BEHAVIOR_ZERO;
}
}  // namespace

kern_return_t vm_behavior_set(uint64_t addr, uint64_t size, vm_behavior_t b) {
  if (b < 0 || b > VM_BEHAVIOR_LAST_VALID) return fail(KERN_INVALID_ARGUMENT, "behavior {} is not valid", b);
  if (size == 0) return KERN_SUCCESS;
  PageRange r;
  if (!page_range(addr, size, r)) return fail(KERN_INVALID_ARGUMENT, "[{:#x}, +{:#x}) wraps", addr, size);
  Task& t = self_task();
  std::lock_guard lk(t.mu);
  auto segs = segments(t, r.start, r.end);
  for (const Segment& s : segs) {
    if (s.kind == Segment::hole) return fail(KERN_INVALID_ADDRESS, "[{:#x}, {:#x}) is not mapped", s.start, s.end);
    if (b == VM_BEHAVIOR_ZERO && !(s.cur() & VM_PROT_WRITE))
      return fail(KERN_PROTECTION_FAILURE, "VM_BEHAVIOR_ZERO of non-writable [{:#x}, {:#x})", s.start, s.end);
    if (discards(b) && s.kind == Segment::ours && !s.entry->obj->anonymous() && b == VM_BEHAVIOR_ZERO)
      return fail(KERN_NOT_SUPPORTED, "VM_BEHAVIOR_ZERO of file pages");
  }
  for (const Segment& s : segs) {
    void* p = reinterpret_cast<void*>(s.start);
    const uint64_t len = s.end - s.start;
    if (discards(b)) {
      if (s.kind == Segment::ours) {
        if (s.entry->obj->anonymous()) {
          if (kern_return_t kr = s.entry->obj->discard(s.entry->off_of(s.start), len); kr != KERN_SUCCESS) return kr;
        }
      } else if (!s.vma.shared) {
        madvise(p, len, MADV_DONTNEED);  // private memory: next touch reads zeros
      } else if (b == VM_BEHAVIOR_ZERO) {
        std::memset(p, 0, len);
      }
      continue;
    }
    if (b == VM_BEHAVIOR_CAN_REUSE || b == VM_BEHAVIOR_REUSE) continue;  // nothing was made reusable lazily
    if (b == VM_BEHAVIOR_ZERO_WIRED_PAGES) continue;                      // recorded below
    madvise(p, len, advice_for(b));
  }
  if (recorded(b) || b == VM_BEHAVIOR_ZERO_WIRED_PAGES) {
    t.map.clip(r.start, r.end);
    for (auto it = t.map.first_ending_after(r.start); it != t.map.end() && it->second.start < r.end; ++it) {
      if (b == VM_BEHAVIOR_ZERO_WIRED_PAGES)
        it->second.zero_wired = true;
      else
        it->second.behavior = b;
    }
    t.map.simplify(r.start, r.end);
  }
  return KERN_SUCCESS;
}

}  // namespace hvshim::machvm
