// mach_vm_protect, with maximum protection enforced and VM_PROT_COPY.
#include <sys/mman.h>

#include <vector>

#include "machvm/fail.h"
#include "machvm/page.h"
#include "machvm/stash.h"
#include "machvm/sys.h"
#include "machvm/task.h"
#include "machvm/vm_ops.h"

namespace hvshim::machvm {

namespace {
constexpr vm_prot_t kAllowed = VM_PROT_ALL | VM_PROT_COPY;

// VM_PROT_COPY of [s, e) (one entry after clipping): a private copy of its
// pages, made before anything visible changes.
struct PrivateCopy {
  uint64_t s, e;
  Piece piece;
};

kern_return_t make_copy(const Entry& ent, uint64_t s, uint64_t e, PrivateCopy& out) {
  Piece pc;
  if (kern_return_t kr = new_anonymous_piece(e - s, false, pc); kr != KERN_SUCCESS) return kr;
  if (kern_return_t kr = pc.obj->copy_from(*ent.obj, ent.off_of(s), 0, e - s); kr != KERN_SUCCESS) return kr;
  out = {s, e, std::move(pc)};
  return KERN_SUCCESS;
}

// Puts the copy in place of the entry's mapping with the entry's kernel-side
// state; the old mapping goes into `old` so it can come back.
kern_return_t install_copy(const Entry& ent, const PrivateCopy& c, Stash& old) {
  if (kern_return_t kr = old.take(c.s, c.e); kr != KERN_SUCCESS) return kr;
  void* at = reinterpret_cast<void*>(c.s);
  const uint64_t len = c.e - c.s;
  int e = 0;
  if (sys::mmap(at, len, to_posix_prot(ent.cur), MAP_SHARED | MAP_FIXED, c.piece.obj->fd(),
                static_cast<off_t>(c.piece.obj->base())) == MAP_FAILED)
    e = errno;
  else if (ent.inherit == VM_INHERIT_NONE && sys::madvise(at, len, MADV_DONTFORK) != 0)
    e = errno;
  else if (ent.wired && sys::mlock(at, len) != 0)
    e = errno;
  if (e) return fail(sys::resource_code(e), "mapping the private copy at {:#x}: {}", c.s, errno_text(e));
  return KERN_SUCCESS;
}

void commit_copy(Task& t, const PrivateCopy& c) {
  auto it = t.map.find(c.s);
  Entry ne = it->second;
  ne.obj = c.piece.obj;
  ne.obj_off = 0;
  ne.view = RegionMap::new_view_id();
  ne.max |= VM_PROT_WRITE;
  t.map.erase(c.s, c.e);
  t.map.insert(std::move(ne));
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

  std::vector<PrivateCopy> copies;
  if (want_copy) {
    for (const Segment& s : segs)
      if (s.kind == Segment::ours) {
        copies.emplace_back();
        if (kern_return_t kr = make_copy(*s.entry, s.start, s.end, copies.back()); kr != KERN_SUCCESS) return kr;
      }
  }

  // The kernel calls, each undone if a later one fails.
  Stash old;
  struct Undo {
    uint64_t s, e;
    int prot;
  };
  std::vector<Undo> undo;
  auto undo_all = [&] {
    for (auto& u : undo) ::mprotect(reinterpret_cast<void*>(u.s), u.e - u.s, u.prot);
    old.put_back();
  };
  size_t ci = 0;
  for (const Segment& s : segs) {
    if (want_copy && s.kind == Segment::ours) {
      if (kern_return_t kr = install_copy(*s.entry, copies[ci++], old); kr != KERN_SUCCESS) {
        undo_all();
        return kr;
      }
    }
    vm_prot_t cur = s.cur();
    vm_prot_t now = set_max ? (cur & prot) : prot;
    if (now == cur && !(want_copy && s.kind == Segment::ours)) continue;
    if (sys::mprotect(reinterpret_cast<void*>(s.start), s.end - s.start, to_posix_prot(now)) != 0) {
      int e = errno;
      undo_all();
      return fail(e == EACCES ? KERN_PROTECTION_FAILURE : sys::resource_code(e), "mprotect [{:#x}, {:#x}): {}",
                  s.start, s.end, errno_text(e));
    }
    undo.push_back({s.start, s.end, to_posix_prot(cur)});
  }
  old.release();

  t.map.clip(r.start, r.end);
  for (const PrivateCopy& c : copies) commit_copy(t, c);
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
  // Holes are skipped, as in XNU. The kernel only needs telling where NONE
  // starts or stops; every change is undone if a later one fails.
  struct Undo {
    uint64_t s, e;
    int advice;
  };
  std::vector<Undo> undo;
  for (const Segment& s : segs) {
    if (s.kind == Segment::hole) continue;
    const bool was_none = s.kind == Segment::ours && s.entry->inherit == VM_INHERIT_NONE;
    const bool none = inh == VM_INHERIT_NONE;
    if (s.kind == Segment::ours && was_none == none) continue;
    if (sys::madvise(reinterpret_cast<void*>(s.start), s.end - s.start, none ? MADV_DONTFORK : MADV_DOFORK) != 0) {
      int e = errno;
      for (auto& u : undo) ::madvise(reinterpret_cast<void*>(u.s), u.e - u.s, u.advice);
      return fail(sys::resource_code(e), "madvise [{:#x}, {:#x}): {}", s.start, s.end, errno_text(e));
    }
    undo.push_back({s.start, s.end, was_none ? MADV_DONTFORK : MADV_DOFORK});
  }
  t.map.clip(r.start, r.end);
  for (auto it = t.map.first_ending_after(r.start); it != t.map.end() && it->second.start < r.end; ++it)
    it->second.inherit = inh;
  t.map.simplify(r.start, r.end);
  return KERN_SUCCESS;
}

}  // namespace hvshim::machvm
