// mach_vm_wire: mlock with per-entry wire counts (XNU's user_wired_count).
#include <sys/mman.h>

#include "machvm/fail.h"
#include "machvm/page.h"
#include "machvm/sys.h"
#include "machvm/task.h"
#include "machvm/vm_ops.h"

namespace hvshim::machvm {

kern_return_t vm_wire(uint64_t addr, uint64_t size, vm_prot_t access) {
  if (access & ~VM_PROT_ALL) return fail(KERN_INVALID_ARGUMENT, "access {:#x} has unknown bits", access);
  if (size == 0) return KERN_SUCCESS;
  PageRange r;
  if (!page_range(addr, size, r)) return fail(KERN_INVALID_ARGUMENT, "[{:#x}, +{:#x}) wraps", addr, size);
  Task& t = self_task();
  std::lock_guard lk(t.mu);
  const bool wire = access != VM_PROT_NONE;
  auto segs = segments(t, r.start, r.end);
  for (const Segment& s : segs) {
    if (s.kind == Segment::hole) return fail(KERN_INVALID_ADDRESS, "[{:#x}, {:#x}) is not mapped", s.start, s.end);
    if (wire && (s.cur() & access) != access)
      return fail(KERN_PROTECTION_FAILURE, "[{:#x}, {:#x}) has {:#x}, wiring wants {:#x}", s.start, s.end, s.cur(),
                  access);
    if (!wire && s.kind == Segment::ours && s.entry->wired == 0)
      return fail(KERN_INVALID_ARGUMENT, "[{:#x}, {:#x}) is not wired", s.start, s.end);
    if (wire && s.kind == Segment::ours && s.entry->wired == UINT16_MAX)
      return fail(KERN_FAILURE, "wire count of [{:#x}, {:#x}) would overflow", s.start, s.end);
  }
  if (wire && sys::mlock(reinterpret_cast<void*>(r.start), r.size()) != 0) {
    int e = errno;
    // mlock may have locked part of the range before it failed.
    for (const Segment& s : segs)
      if (s.kind != Segment::ours || s.entry->wired == 0) munlock(reinterpret_cast<void*>(s.start), s.end - s.start);
    return fail(KERN_RESOURCE_SHORTAGE, "mlock [{:#x}, {:#x}): {}", r.start, r.end, errno_text(e));
  }
  t.map.clip(r.start, r.end);
  for (const Segment& s : segments(t, r.start, r.end)) {
    if (s.kind == Segment::ours) {
      s.entry->wired += wire ? 1 : -1;
      if (!wire && s.entry->wired == 0) munlock(reinterpret_cast<void*>(s.start), s.end - s.start);
    } else if (!wire) {
      munlock(reinterpret_cast<void*>(s.start), s.end - s.start);
    }
  }
  t.map.simplify(r.start, r.end);
  return KERN_SUCCESS;
}

kern_return_t vm_machine_attribute(uint64_t addr, uint64_t size, vm_machine_attribute_t attr,
                                   vm_machine_attribute_val_t& value) {
  if (size == 0) return KERN_SUCCESS;
  PageRange r;
  if (!page_range(addr, size, r) || r.end > user_va_end())
    return fail(KERN_INVALID_ADDRESS, "[{:#x}, +{:#x}) is outside the address space", addr, size);
  // Only cache maintenance exists; XNU's pmap_attribute answers everything
  // else with KERN_INVALID_ADDRESS.
  if (attr != MATTR_CACHE) return fail(KERN_INVALID_ADDRESS, "machine attribute {} is not supported", attr);
  if (value != MATTR_VAL_CACHE_FLUSH && value != MATTR_VAL_DCACHE_FLUSH && value != MATTR_VAL_ICACHE_FLUSH &&
      value != MATTR_VAL_CACHE_SYNC)
    return fail(KERN_INVALID_ADDRESS, "cache attribute value {} is not supported", value);
  Task& t = self_task();
  std::lock_guard lk(t.mu);
  for (const Segment& s : segments(t, r.start, r.end)) {
    if (s.kind == Segment::hole) return fail(KERN_INVALID_ADDRESS, "[{:#x}, {:#x}) is not mapped", s.start, s.end);
    // Instruction/data cache coherence for code written through this range;
    // a no-op on x86, real maintenance on arm64.
    if (s.cur() & VM_PROT_READ)
      __builtin___clear_cache(reinterpret_cast<char*>(s.start), reinterpret_cast<char*>(s.end));
  }
  return KERN_SUCCESS;
}

}  // namespace hvshim::machvm
