// mach_make_memory_entry(_64): named handles on pages, to map elsewhere.
#include <mach/message.h>
#include <mach/vm_purgable.h>

#include "machvm/fail.h"
#include "machvm/object_source.h"
#include "machvm/page.h"
#include "machvm/vm_ops.h"

namespace hvshim::machvm {

namespace {
// Without MAP_MEM_VM_SHARE XNU describes only the first VM object of the
// range, so the returned size can be smaller than asked.
void keep_first_object(std::vector<Piece>& pieces) {
  size_t n = 1;
  while (n < pieces.size() && pieces[n].obj == pieces[0].obj &&
         pieces[n].off == pieces[n - 1].off + pieces[n - 1].len)
    ++n;
  pieces.resize(n);
}

uint64_t total(const std::vector<Piece>& ps) {
  uint64_t n = 0;
  for (auto& p : ps) n += p.len;
  return n;
}

bool same_pieces(const std::vector<Piece>& a, const std::vector<Piece>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].obj != b[i].obj || a[i].off != b[i].off || a[i].len != b[i].len) return false;
  return true;
}
}  // namespace

kern_return_t vm_make_memory_entry(uint64_t& size, uint64_t offset, vm_prot_t permission, mach_port_t& handle,
                                   mach_port_t parent) {
  const unsigned perm = static_cast<unsigned>(permission);
  if (perm & MAP_MEM_FLAGS_MASK & ~static_cast<unsigned>(MAP_MEM_FLAGS_USER))
    return fail(KERN_INVALID_VALUE, "permission {:#x} has unknown MAP_MEM flags", perm);
  const unsigned caching = GET_MAP_MEM(perm);
  const bool is_mask = perm & VM_PROT_IS_MASK;
  vm_prot_t prot = static_cast<vm_prot_t>(perm & VM_PROT_ALL);
  const bool use_data_addr = perm & (MAP_MEM_USE_DATA_ADDR | MAP_MEM_4K_DATA_ADDR);

  std::shared_ptr<MemEntry> parent_entry;
  if (parent != MACH_PORT_NULL) {
    auto ref = port_lookup(parent);
    if (!ref) return fail(MACH_SEND_INVALID_RIGHT, "parent {:#x} is not a name in this IPC space", parent);
    if (ref->kind != PortKind::mem_entry) return fail(KERN_INVALID_ARGUMENT, "parent {:#x} is not a memory entry", parent);
    parent_entry = ref->entry;
    if (parent_entry->whole) return fail(KERN_INVALID_ARGUMENT, "parent {:#x} is a copy entry", parent);
  }

  if (perm & MAP_MEM_ONLY) {
    if (!parent_entry) return fail(KERN_INVALID_ARGUMENT, "MAP_MEM_ONLY needs a parent entry");
    // Only the default (write-back) caching exists for user memory on Linux.
    if (caching != MAP_MEM_NOOP && caching != MAP_MEM_COPYBACK)
      return fail(KERN_NOT_SUPPORTED, "caching mode {} cannot be applied to user memory on Linux", caching);
    handle = MACH_PORT_NULL;
    return KERN_SUCCESS;
  }
  if (caching != MAP_MEM_NOOP && caching != MAP_MEM_COPYBACK)
    return fail(KERN_NOT_SUPPORTED, "caching mode {} cannot be applied to user memory on Linux", caching);

  auto e = std::make_shared<MemEntry>();
  e->prot = prot;
  e->user_size = size;

  if (perm & MAP_MEM_NAMED_CREATE) {
    if (size == 0) {
      handle = MACH_PORT_NULL;
      return KERN_SUCCESS;
    }
    if ((perm & MAP_MEM_PURGABLE) && !(prot & VM_PROT_WRITE))
      return fail(KERN_INVALID_ARGUMENT, "a purgeable entry must be writable");
    uint64_t len = 0;
    if (!page_round(size, len)) {
      // A size that rounds up to 0 makes an empty object, as XNU's
      // round_page(size) did: mapping any of it is KERN_INVALID_ARGUMENT.
      size = 0;
      e->own_pieces();
      handle = port_add_entry(std::move(e));
      return KERN_SUCCESS;
    }
    if (len > user_va_end()) return fail(KERN_FAILURE, "size {:#x} exceeds the largest anonymous object", size);
    Piece p;
    if (kern_return_t kr = new_anonymous_piece(len, perm & MAP_MEM_PURGABLE, p); kr != KERN_SUCCESS) return kr;
    e->pieces.push_back(std::move(p));
    e->size = len;
    size = len;
  } else if ((perm & (MAP_MEM_VM_COPY | MAP_MEM_VM_SHARE | MAP_MEM_NAMED_REUSE)) || !parent_entry) {
    if (size == 0) return fail(KERN_INVALID_ARGUMENT, "size 0");
    PageRange r;
    if (!page_range(offset, size, r)) return fail(KERN_INVALID_ARGUMENT, "[{:#x}, +{:#x}) wraps", offset, size);
    Task& t = self_task();
    std::lock_guard lk(t.mu);
    auto segs = segments(t, r.start, r.end);
    // Without VM_SHARE or VM_COPY XNU extracts a single object and stops
    // after the first map entry: what follows it, a hole included, is
    // simply not part of the entry.
    const bool single_object = !(perm & (MAP_MEM_VM_SHARE | MAP_MEM_VM_COPY));
    if (single_object && !segs.empty() && segs.front().kind != Segment::hole) {
      for (size_t i = 1; i < segs.size(); ++i)
        if (segs[i].kind == Segment::hole) {
          r.end = segs[i].start;
          segs.resize(i);
          break;
        }
    }
    for (const Segment& s : segs) {
      if (s.kind == Segment::hole)
        return fail(KERN_INVALID_ADDRESS, "[{:#x}, {:#x}) is not mapped", s.start, s.end);
      vm_prot_t have = (perm & MAP_MEM_VM_COPY) ? s.max() : s.cur();
      if ((have & prot) != prot) {
        if (!is_mask)
          return fail(KERN_PROTECTION_FAILURE, "[{:#x}, {:#x}) has {:#x}, entry wants {:#x}", s.start, s.end, have,
                      prot);
        prot &= have;
      }
    }
    e->prot = prot;
    if (perm & MAP_MEM_VM_COPY) {
      Piece p;
      if (kern_return_t kr = snapshot_piece(t, r.start, r.end, p); kr != KERN_SUCCESS) return kr;
      e->pieces.push_back(std::move(p));
      e->is_copy = true;
      e->whole = true;
    } else {
      e->whole = perm & MAP_MEM_VM_SHARE;
      if (kern_return_t kr = share_pieces(t, r.start, r.end, e->pieces); kr != KERN_SUCCESS) return kr;
      if (!(perm & MAP_MEM_VM_SHARE)) keep_first_object(e->pieces);
      if (prot & VM_PROT_WRITE)
        for (const Piece& p : e->pieces)
          if (!p.obj->writable()) return fail(KERN_PROTECTION_FAILURE, "the file is open read-only");
    }
    e->size = total(e->pieces);
    // The size handed back counts from the caller's first byte with
    // MAP_MEM_USE_DATA_ADDR, from the first page otherwise, to the end of
    // the last page the entry holds.
    e->data_offset = use_data_addr ? offset - r.start : 0;
    size = e->size - e->data_offset;
    if ((perm & MAP_MEM_NAMED_REUSE) && parent_entry && !e->is_copy && parent_entry->prot == e->prot &&
        parent_entry->data_offset == e->data_offset && same_pieces(parent_entry->pieces, e->pieces)) {
      port_retain(parent);
      handle = parent;
      return KERN_SUCCESS;
    }
  } else {
    // A sub-range of the parent, offset relative to it.
    const MemEntry& pe = *parent_entry;
    if (is_mask)
      prot &= pe.prot;
    else if ((prot & pe.prot) != prot)
      return fail(KERN_PROTECTION_FAILURE, "entry wants {:#x}, parent allows {:#x}", prot, pe.prot);
    uint64_t start = pe.data_offset + offset;
    if (start < offset || start + size < start || start + size > pe.size)
      return fail(KERN_INVALID_ARGUMENT, "offset {:#x} + size {:#x} exceed the parent", offset, size);
    uint64_t ms = page_trunc(start), me = 0;
    page_round(start + size, me);
    e->prot = prot;
    e->pieces = slice_pieces(pe.pieces, ms, me);
    e->size = me - ms;
    e->data_offset = use_data_addr ? start - ms : 0;
    size = e->size - e->data_offset;
  }
  e->own_pieces();
  handle = port_add_entry(std::move(e));
  return KERN_SUCCESS;
}

}  // namespace hvshim::machvm
