// mach_vm_allocate / mach_vm_deallocate.
#include <sys/mman.h>

#include <vector>

#include <mach/vm_statistics.h>
#include <mach/vm_purgable.h>

#include "machvm/fail.h"
#include "machvm/page.h"
#include "machvm/placement.h"
#include "machvm/stash.h"
#include "machvm/sys.h"
#include "machvm/vm_ops.h"

namespace hvshim::machvm {

kern_return_t new_anonymous_piece(uint64_t size, bool purgeable, Piece& out) {
  std::shared_ptr<MemObject> obj;
  kern_return_t kr = MemObject::create_anonymous(size, obj);
  if (kr != KERN_SUCCESS) return kr;
  obj->purgeable = purgeable;
  obj->purge_state = VM_PURGABLE_NONVOLATILE;
  out = Piece{std::move(obj), 0, size};
  return KERN_SUCCESS;
}

// Flag checks shared by allocate and anonymous map.
kern_return_t check_superpage(int flags, uint64_t& align_mask) {
  unsigned sp = (static_cast<unsigned>(flags) & VM_FLAGS_SUPERPAGE_MASK) >> VM_FLAGS_SUPERPAGE_SHIFT;
  if (sp == SUPERPAGE_NONE) return KERN_SUCCESS;
  if (flags & (VM_FLAGS_PURGABLE | VM_FLAGS_TPRO))
    return fail(KERN_INVALID_ARGUMENT, "superpages cannot be purgeable or TPRO");
  if (sp != SUPERPAGE_SIZE_ANY && sp != SUPERPAGE_SIZE_2MB)
    return fail(KERN_INVALID_ARGUMENT, "superpage size {} is not supported", sp);
  align_mask |= (2ULL << 20) - 1;
  return KERN_SUCCESS;
}

kern_return_t vm_allocate(uint64_t& addr, uint64_t size, int flags) {
  if (static_cast<unsigned>(flags) & ~static_cast<unsigned>(VM_FLAGS_USER_ALLOCATE))
    return fail(KERN_INVALID_ARGUMENT, "flags {:#x} outside VM_FLAGS_USER_ALLOCATE", flags);
  uint64_t mask = 0;
  if (kern_return_t kr = check_superpage(flags, mask); kr != KERN_SUCCESS) return kr;
  if (flags & VM_FLAGS_TPRO) return fail(KERN_NOT_SUPPORTED, "VM_FLAGS_TPRO has no Linux equivalent");
  if (size == 0) {
    addr = 0;
    return KERN_SUCCESS;
  }
  const bool anywhere = flags & VM_FLAGS_ANYWHERE;
  uint64_t start = anywhere ? 0 : page_trunc(addr);
  uint64_t len = 0;
  // FIXED realigns the start first: addr 0x1001 size 0x1000 is one page.
  if (!page_round(size, len) || (!anywhere && start + size < start))
    return fail(KERN_INVALID_ARGUMENT, "size {:#x} overflows when rounded", size);
  if (!anywhere) {
    uint64_t end = 0;
    if (!page_round(start + size, end)) return fail(KERN_INVALID_ARGUMENT, "range end overflows");
    len = end - start;
  }
  if (len > user_va_end()) return fail(KERN_NO_SPACE, "size {:#x} exceeds the address space", len);

  Piece piece;
  if (kern_return_t kr = new_anonymous_piece(len, flags & VM_FLAGS_PURGABLE, piece); kr != KERN_SUCCESS) return kr;
  const unsigned tag = (static_cast<unsigned>(flags) >> 24) & 0xff;
  if (anywhere && !mask) {
    Task& t = self_task();
    std::lock_guard lk(t.mu);
    return place_anywhere(t, std::move(piece), VM_PROT_DEFAULT, VM_PROT_ALL, VM_INHERIT_DEFAULT, tag,
                          flags & VM_FLAGS_PERMANENT, addr);
  }

  PlaceRequest r;
  r.addr = start;
  r.mask = mask;
  r.anywhere = anywhere;
  r.overwrite = flags & VM_FLAGS_OVERWRITE;
  r.pieces.push_back(std::move(piece));
  r.tag = tag;
  r.permanent = flags & VM_FLAGS_PERMANENT;
  Task& t = self_task();
  std::lock_guard lk(t.mu);
  uint64_t out = 0;
  kern_return_t kr = place(t, r, out);
  if (kr != KERN_SUCCESS) return kr;
  if (mask) madvise(reinterpret_cast<void*>(out), len, MADV_HUGEPAGE);
  addr = out;
  return KERN_SUCCESS;
}

kern_return_t vm_deallocate(uint64_t addr, uint64_t size) {
  if (size == 0) return KERN_SUCCESS;
  if (addr > UINT64_MAX - size) return fail(KERN_INVALID_ARGUMENT, "[{:#x}, +{:#x}) wraps", addr, size);
  // An end that only wraps when rounded up to a page is XNU's historical
  // success: nothing is removed (vm_allocation.c checks nine such ranges).
  uint64_t rounded_end = 0;
  if (!page_round(addr + size, rounded_end) || rounded_end == 0) return KERN_SUCCESS;
  PageRange r;
  if (!page_range(addr, size, r)) return fail(KERN_INVALID_ARGUMENT, "[{:#x}, +{:#x}) wraps", addr, size);
  // Nothing of ours lives beyond the user address space.
  if (r.start >= user_va_end()) return KERN_SUCCESS;
  r.end = std::min(r.end, user_va_end());
  Task& t = self_task();
  std::lock_guard lk(t.mu);
  // The common case, one whole entry of ours: no clipping, one lookup.
  if (auto it = t.map.find(r.start); it != t.map.end() && it->second.start == r.start && it->second.end == r.end &&
                                     !it->second.permanent) {
    if (sys::munmap(reinterpret_cast<void*>(r.start), r.size()) != 0) {
      int e = errno;
      return fail(sys::resource_code(e), "munmap [{:#x}, {:#x}): {}", r.start, r.end, errno_text(e));
    }
    // Part of an object that stays alive and nobody else views: its pages
    // here are unreachable now (decided before the entry goes).
    if (it->second.obj.use_count() > 1 && it->second.obj->sole_user()) {
      Piece released{it->second.obj, it->second.obj_off, it->second.size()};
      t.map.erase(it);
      if (released.obj.use_count() > 1) released.obj->discard(released.off, released.len);
    } else {
      t.map.erase(it);
    }
    return KERN_SUCCESS;
  }
  // XNU keeps permanent entries but strips their access.
  bool has_permanent = false;
  for (auto it = t.map.first_ending_after(r.start); it != t.map.end() && it->second.start < r.end; ++it)
    has_permanent |= it->second.permanent;
  if (!has_permanent) {
    // One munmap: the kernel either unmaps all of it or nothing.
    if (sys::munmap(reinterpret_cast<void*>(r.start), r.size()) != 0) {
      int e = errno;
      return fail(sys::resource_code(e), "munmap [{:#x}, {:#x}): {}", r.start, r.end, errno_text(e));
    }
    t.map.clip(r.start, r.end);
    // Part of an object that stays alive: its pages in the released range
    // are unreachable now, give them back (the whole object is released
    // when its last view goes).
    std::vector<Piece> released;
    for (auto it = t.map.first_ending_after(r.start); it != t.map.end() && it->second.start < r.end; ++it)
      if (it->second.obj->sole_user() && it->second.obj.use_count() > 1)
        released.push_back({it->second.obj, it->second.obj_off, it->second.size()});
    t.map.erase(r.start, r.end);
    for (const Piece& p : released)
      if (p.obj.use_count() > 1) p.obj->discard(p.off, p.len);
    return KERN_SUCCESS;
  }
  // Several kernel calls: the released mappings are moved aside and the
  // permanent ones lose their access, all undone if any step fails.
  t.map.clip(r.start, r.end);
  const auto segs = segments(t, r.start, r.end);
  Stash gone;
  struct Undo {
    uint64_t s, e;
    int prot;
  };
  std::vector<Undo> undo;
  for (const Segment& s : segs) {
    kern_return_t kr = KERN_SUCCESS;
    if (s.kind == Segment::ours && s.entry->permanent) {
      if (sys::mprotect(reinterpret_cast<void*>(s.start), s.end - s.start, PROT_NONE) == 0) {
        undo.push_back({s.start, s.end, to_posix_prot(s.entry->cur)});
      } else {
        int e = errno;
        kr = fail(sys::resource_code(e), "mprotect [{:#x}, {:#x}): {}", s.start, s.end, errno_text(e));
      }
    } else if (s.kind != Segment::hole) {
      kr = gone.take(s.start, s.end);
    }
    if (kr != KERN_SUCCESS) {
      for (const Undo& u : undo) ::mprotect(reinterpret_cast<void*>(u.s), u.e - u.s, u.prot);
      gone.put_back();
      t.map.simplify(r.start, r.end);
      return kr;
    }
  }
  gone.release();
  for (const Segment& s : segs) {
    if (s.kind != Segment::ours) continue;
    if (s.entry->permanent)
      s.entry->cur = s.entry->max = VM_PROT_NONE;
    else
      t.map.erase(s.start, s.end);
  }
  t.map.simplify(r.start, r.end);
  return KERN_SUCCESS;
}

}  // namespace hvshim::machvm
