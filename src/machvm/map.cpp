// mach_vm_map: anonymous memory or a memory entry, shared or copied.
#include <mach/vm_statistics.h>
#include <mach/message.h>

#include "machvm/fail.h"
#include "machvm/page.h"
#include "machvm/placement.h"
#include "machvm/vm_ops.h"

namespace hvshim::machvm {

kern_return_t vm_map(uint64_t& addr, const MapArgs& a) {
  if (static_cast<unsigned>(a.flags) & ~static_cast<unsigned>(VM_FLAGS_USER_MAP))
    return fail(KERN_INVALID_ARGUMENT, "flags {:#x} outside VM_FLAGS_USER_MAP", a.flags);
  constexpr vm_prot_t allowed = VM_PROT_ALL | VM_PROT_IS_MASK;
  if ((a.cur & ~allowed) || (a.max & ~allowed))
    return fail(KERN_INVALID_ARGUMENT, "protections cur={:#x} max={:#x} have unknown bits", a.cur, a.max);
  if (a.inherit > VM_INHERIT_LAST_VALID) return fail(KERN_INVALID_ARGUMENT, "inheritance {} is not valid", a.inherit);
  uint64_t mask = a.mask;
  if (kern_return_t kr = check_superpage(a.flags, mask); kr != KERN_SUCCESS) return kr;
  if (a.flags & VM_FLAGS_TPRO) return fail(KERN_NOT_SUPPORTED, "VM_FLAGS_TPRO has no Linux equivalent");
  if (a.size == 0) return fail(KERN_INVALID_ARGUMENT, "size 0");
  const bool is_mask = (a.cur | a.max) & VM_PROT_IS_MASK;
  vm_prot_t max = a.max & VM_PROT_ALL;
  vm_prot_t cur = a.cur & VM_PROT_ALL & max;  // XNU accepts cur beyond max and clips it

  Task& t = self_task();
  std::vector<Piece> pieces;
  uint64_t data_off = 0;
  if (a.object == MACH_PORT_NULL) {
    uint64_t len = 0;
    if (!page_round(a.size, len)) return fail(KERN_INVALID_ARGUMENT, "size {:#x} overflows when rounded", a.size);
    if (len > user_va_end()) return fail(KERN_NO_SPACE, "size {:#x} exceeds the address space", len);
    Piece p;
    if (kern_return_t kr = new_anonymous_piece(len, a.flags & VM_FLAGS_PURGABLE, p); kr != KERN_SUCCESS) return kr;
    pieces.push_back(std::move(p));
  } else {
    auto ref = port_lookup(a.object);
    if (!ref) return fail(MACH_SEND_INVALID_RIGHT, "object {:#x} is not a name in this IPC space", a.object);
    if (ref->kind != PortKind::mem_entry)
      return fail(KERN_INVALID_OBJECT, "object {:#x} is not a memory entry", a.object);
    const MemEntry& e = *ref->entry;
    if (is_mask) {
      cur &= e.prot;
      max &= e.prot;
    } else if (((cur | max) & e.prot) != (cur | max)) {
      return fail(KERN_INVALID_RIGHT, "cur {:#x}/max {:#x} exceed the entry's protection {:#x}", cur, max, e.prot);
    }
    // XNU measures the offset from the entry's first page, and from the
    // caller's first byte (the entry's data offset) only when the caller
    // asks for the data address back.
    const bool data_addr = a.flags & (VM_FLAGS_RETURN_DATA_ADDR | VM_FLAGS_RETURN_4K_DATA_ADDR);
    uint64_t start = a.offset + (data_addr ? e.data_offset : 0);
    if (start < a.offset || start + a.size < start || start + a.size > e.size)
      return fail(KERN_INVALID_ARGUMENT, "offset {:#x} + size {:#x} exceed the entry ({:#x} bytes)", a.offset, a.size,
                  e.size - e.data_offset);
    uint64_t ms = page_trunc(start), me = 0;
    page_round(start + a.size, me);
    data_off = data_addr ? start - ms : 0;
    if (e.whole) {
      // A copy map is mapped whole, whatever part was asked for.
      ms = 0;
      me = e.size;
    } else if (!data_addr && (a.offset & page_mask())) {
      return fail(KERN_INVALID_ARGUMENT, "offset {:#x} is not page aligned (no VM_FLAGS_RETURN_DATA_ADDR)", a.offset);
    }
    pieces = slice_pieces(e.pieces, ms, me);
    if (a.copy) {
      Piece p;
      if (kern_return_t kr = new_anonymous_piece(me - ms, false, p); kr != KERN_SUCCESS) return kr;
      uint64_t at = 0;
      for (const Piece& src : pieces) {
        if (kern_return_t kr = p.obj->copy_from(*src.obj, src.off, at, src.len); kr != KERN_SUCCESS) return kr;
        at += src.len;
      }
      pieces.assign(1, std::move(p));
    } else {
      for (const Piece& p : pieces)
        if ((cur | max) & VM_PROT_WRITE && !p.obj->writable())
          return fail(KERN_PROTECTION_FAILURE, "the file behind the entry is open read-only");
    }
  }

  PlaceRequest r;
  r.anywhere = a.flags & VM_FLAGS_ANYWHERE;
  r.use_hint = true;
  r.addr = page_trunc(addr);
  r.mask = mask;
  r.overwrite = a.flags & VM_FLAGS_OVERWRITE;
  r.pieces = std::move(pieces);
  r.cur = cur;
  r.max = max;
  r.inherit = a.inherit;
  r.tag = (static_cast<unsigned>(a.flags) >> 24) & 0xff;
  r.permanent = a.flags & VM_FLAGS_PERMANENT;
  std::lock_guard lk(t.mu);
  uint64_t at = 0;
  if (kern_return_t kr = place(t, r, at); kr != KERN_SUCCESS) return kr;
  addr = at + data_off;
  return KERN_SUCCESS;
}

}  // namespace hvshim::machvm
