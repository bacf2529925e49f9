// mach_vm_protect, with maximum protection enforced and VM_PROT_COPY.
#include <sys/mman.h>

#include <vector>

#include "machvm/fail.h"
#include "machvm/page.h"
#include "machvm/task.h"
#include "machvm/vm_ops.h"

namespace hvshim::machvm {

namespace {
constexpr vm_prot_t kAllowed = VM_PROT_ALL | VM_PROT_COPY;

// VM_PROT_COPY: give [s, e) of an entry a private copy of its pages, so the
// caller may write to it without touching other views; max gains WRITE.
kern_return_t copy_in_place(Task& t, uint64_t s, uint64_t e) {
  t.map.clip(s, e);
  auto it = t.map.find(s);
  Entry& ent = it->second;
  Piece pc;
  if (kern_return_t kr = new_anonymous_piece(e - s, false, pc); kr != KERN_SUCCESS) return kr;
  if (kern_return_t kr = pc.obj->copy_from(*ent.obj, ent.obj_off, 0, e - s); kr != KERN_SUCCESS) return kr;
  if (mmap(reinterpret_cast<void*>(s), e - s, to_posix_prot(ent.cur), MAP_SHARED | MAP_FIXED, pc.obj->fd(),
           static_cast<off_t>(pc.obj->base())) == MAP_FAILED)
    return fail(KERN_RESOURCE_SHORTAGE, "mmap copy at {:#x}: {}", s, errno_text(errno));
  Entry ne = ent;
  ne.obj = pc.obj;
  ne.obj_off = 0;
  ne.view = RegionMap::new_view_id();
  ne.max |= VM_PROT_WRITE;
  t.map.erase(s, e);
  if (ne.inherit == VM_INHERIT_NONE) madvise(reinterpret_cast<void*>(s), e - s, MADV_DONTFORK);
  t.map.insert(std::move(ne));
  return KERN_SUCCESS;
}
}  // namespace

kern_return_t vm_protect(uint64_t addr, uint64_t size, bool set_max, vm_prot_t prot) {
  if (prot & ~kAllowed) return fail(KERN_INVALID_ARGUMENT, "protection {:#x} has unknown bits", prot);
  if (size == 0) return KERN_SUCCESS;
  PageRange r;
  if (!page_range(addr, size, r)) return fail(KERN_INVALID_ARGUMENT, "[{:#x}, +{:#x}) wraps", addr, size);
  const bool want_copy = prot & VM_PROT_COPY;
  prot &= ~VM_PROT_COPY;
  Task& t = self_task();
  std::lock_guard lk(t.mu);

  // Every check before any change: a refused call changes nothing.
  auto segs = segments(t, r.start, r.end);
  for (const Segment& s : segs) {
    if (s.kind == Segment::hole)
      return fail(KERN_INVALID_ADDRESS, "[{:#x}, {:#x}) inside the range is not mapped", s.start, s.end);
    vm_prot_t max = s.max() | (want_copy ? VM_PROT_WRITE : 0);
    if ((prot & max) != prot)
      return fail(KERN_PROTECTION_FAILURE, "[{:#x}, {:#x}): {:#x} exceeds maximum protection {:#x}", s.start, s.end,
                  prot & VM_PROT_ALL, max);
    if (want_copy && s.kind == Segment::foreign && s.vma.shared)
      return fail(KERN_NOT_SUPPORTED, "VM_PROT_COPY of a shared mapping we did not create at {:#x}", s.start);
  }

  if (want_copy) {
    for (const Segment& s : segs)
      if (s.kind == Segment::ours) {
        if (kern_return_t kr = copy_in_place(t, s.start, s.end); kr != KERN_SUCCESS) return kr;
      }
    segs = segments(t, r.start, r.end);
  }

  struct Undo {
    uint64_t s, e;
    int prot;
  };
  std::vector<Undo> undo;
  for (const Segment& s : segs) {
    vm_prot_t old = s.cur();
    vm_prot_t now = set_max ? (old & prot) : prot;
    if (mprotect(reinterpret_cast<void*>(s.start), s.end - s.start, to_posix_prot(now)) != 0) {
      int e = errno;
      for (auto& u : undo) mprotect(reinterpret_cast<void*>(u.s), u.e - u.s, u.prot);
      return fail(e == EACCES ? KERN_PROTECTION_FAILURE : KERN_RESOURCE_SHORTAGE, "mprotect [{:#x}, {:#x}): {}",
                  s.start, s.end, errno_text(e));
    }
    undo.push_back({s.start, s.end, to_posix_prot(old)});
  }
  t.map.clip(r.start, r.end);
  for (auto it = t.map.first_ending_after(r.start); it != t.map.end() && it->second.start < r.end; ++it) {
    Entry& e = it->second;
    if (set_max) {
      e.max = prot;
      e.cur &= prot;
    } else {
      e.cur = prot;
    }
  }
  t.map.simplify(r.start, r.end);
  return KERN_SUCCESS;
}

kern_return_t vm_inherit(uint64_t addr, uint64_t size, vm_inherit_t inh) {
  if (inh > VM_INHERIT_LAST_VALID) return fail(KERN_INVALID_ARGUMENT, "inheritance {} is not valid", inh);
  if (size == 0) return KERN_SUCCESS;
  PageRange r;
  if (!page_range(addr, size, r)) return fail(KERN_INVALID_ARGUMENT, "[{:#x}, +{:#x}) wraps", addr, size);
  Task& t = self_task();
  std::lock_guard lk(t.mu);
  auto segs = segments(t, r.start, r.end);
  for (const Segment& s : segs)
    if (s.kind == Segment::foreign && inh == VM_INHERIT_SHARE && !s.vma.shared)
      return fail(KERN_NOT_SUPPORTED,
                  "[{:#x}, {:#x}) is private memory we did not create; Linux cannot share it with a child", s.start,
                  s.end);
  // Holes are skipped, as in XNU.
  for (const Segment& s : segs) {
    if (s.kind == Segment::hole) continue;
    madvise(reinterpret_cast<void*>(s.start), s.end - s.start,
            inh == VM_INHERIT_NONE ? MADV_DONTFORK : MADV_DOFORK);
  }
  t.map.clip(r.start, r.end);
  for (auto it = t.map.first_ending_after(r.start); it != t.map.end() && it->second.start < r.end; ++it)
    it->second.inherit = inh;
  t.map.simplify(r.start, r.end);
  return KERN_SUCCESS;
}

}  // namespace hvshim::machvm
