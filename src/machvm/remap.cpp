// mach_vm_remap / mach_vm_remap_new: a second view of existing memory
// (copy=FALSE, same pages both ways) or a snapshot of it (copy=TRUE).
#include <mach/vm_statistics.h>

#include "machvm/fail.h"
#include "machvm/object_source.h"
#include "machvm/page.h"
#include "machvm/placement.h"
#include "machvm/vm_ops.h"

namespace hvshim::machvm {

kern_return_t vm_remap(uint64_t& addr, const RemapArgs& a, vm_prot_t& cur, vm_prot_t& max) {
  if (static_cast<unsigned>(a.flags) & ~static_cast<unsigned>(VM_FLAGS_USER_REMAP))
    return fail(KERN_INVALID_ARGUMENT, "flags {:#x} outside VM_FLAGS_USER_REMAP", a.flags);
  if (a.inherit > VM_INHERIT_LAST_VALID) return fail(KERN_INVALID_ARGUMENT, "inheritance {} is not valid", a.inherit);
  if (a.size == 0) return fail(KERN_INVALID_ARGUMENT, "size 0");
  if (a.is_new) {
    constexpr vm_prot_t allowed = VM_PROT_ALL;
    if ((cur & ~allowed) || (max & ~allowed))
      return fail(KERN_INVALID_ARGUMENT, "requested cur {:#x}/max {:#x} have unknown bits", cur, max);
    if ((cur & max) != cur) return fail(KERN_INVALID_ARGUMENT, "requested cur {:#x} exceeds max {:#x}", cur, max);
    if ((max & (VM_PROT_WRITE | VM_PROT_EXECUTE)) == (VM_PROT_WRITE | VM_PROT_EXECUTE))
      return fail(KERN_PROTECTION_FAILURE, "remap_new refuses a writable and executable maximum");
  }
  const bool data_addr = a.is_new || (a.flags & VM_FLAGS_RETURN_DATA_ADDR);
  uint64_t src_start = page_trunc(a.src), src_end = 0;
  if (data_addr) {
    PageRange r;
    if (!page_range(a.src, a.size, r) || r.size() == 0)
      return fail(KERN_INVALID_ARGUMENT, "[{:#x}, +{:#x}) wraps", a.src, a.size);
    src_end = r.end;
  } else {
    // Legacy remap rounds the size on its own, not addr+size (kept by XNU
    // on purpose for binary compatibility).
    uint64_t len = 0;
    if (!page_round(a.size, len) || len == 0 || src_start + len < src_start)
      return fail(KERN_INVALID_ARGUMENT, "size {:#x} overflows when rounded", a.size);
    src_end = src_start + len;
  }

  Task& t = self_task();
  std::lock_guard lk(t.mu);
  auto segs = segments(t, src_start, src_end);
  vm_prot_t cur_and = VM_PROT_ALL, max_and = VM_PROT_ALL;
  unsigned tag = 0;
  for (const Segment& s : segs) {
    if (s.kind == Segment::hole)
      return fail(KERN_INVALID_ADDRESS, "source [{:#x}, {:#x}) is not mapped", s.start, s.end);
    cur_and &= s.cur();
    max_and &= s.max();
    if (s.kind == Segment::ours && !tag) tag = s.entry->tag;
  }
  if (a.is_new) {
    bool ok = a.copy ? (max_and & VM_PROT_READ) : ((cur_and & cur) == cur && (max_and & max) == max);
    if (!ok)
      return fail(KERN_PROTECTION_FAILURE, "source protections cur {:#x}/max {:#x} do not allow cur {:#x}/max {:#x}",
                  cur_and, max_and, cur, max);
  }

  std::vector<Piece> pieces;
  if (a.copy) {
    Piece p;
    if (kern_return_t kr = snapshot_piece(t, src_start, src_end, p); kr != KERN_SUCCESS) return kr;
    // One new object, but each part keeps its source entry's protections.
    for (const Segment& s : segs) {
      Piece q{p.obj, s.start - src_start, s.end - s.start};
      if (!a.is_new) {
        q.cur = s.cur();
        q.max = s.max();
      }
      pieces.push_back(std::move(q));
    }
  } else {
    if (kern_return_t kr = share_pieces(t, src_start, src_end, pieces); kr != KERN_SUCCESS) return kr;
    if (!a.is_new) {
      // Each shared piece keeps its source entry's protections.
      size_t i = 0;
      for (const Segment& s : segs) {
        pieces[i].cur = s.cur();
        pieces[i].max = s.max();
        ++i;
      }
    }
  }

  PlaceRequest r;
  r.anywhere = a.flags & VM_FLAGS_ANYWHERE;
  r.use_hint = true;
  r.addr = page_trunc(addr);
  r.mask = a.mask;
  r.overwrite = a.flags & VM_FLAGS_OVERWRITE;
  r.pieces = std::move(pieces);
  r.cur = a.is_new ? cur : cur_and;
  r.max = a.is_new ? max : max_and;
  r.inherit = a.inherit;
  r.tag = tag;
  uint64_t at = 0;
  if (kern_return_t kr = place(t, r, at); kr != KERN_SUCCESS) return kr;
  addr = at + (data_addr ? a.src - src_start : 0);
  if (!a.is_new) {
    cur = cur_and;
    max = max_and;
  }
  return KERN_SUCCESS;
}

}  // namespace hvshim::machvm
