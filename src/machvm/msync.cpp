// mach_vm_msync: write back file pages (now, or queued), and the page
// disposal flags.
#include <sys/mman.h>

#include <mach/vm_sync.h>

#include "machvm/async_sync.h"
#include "machvm/fail.h"
#include "machvm/object_source.h"
#include "machvm/page.h"
#include "machvm/task.h"
#include "machvm/vm_ops.h"

namespace hvshim::machvm {

kern_return_t vm_msync(uint64_t addr, uint64_t size, vm_sync_t flags) {
  constexpr vm_sync_t known = VM_SYNC_ASYNCHRONOUS | VM_SYNC_SYNCHRONOUS | VM_SYNC_INVALIDATE | VM_SYNC_KILLPAGES |
                              VM_SYNC_DEACTIVATE | VM_SYNC_CONTIGUOUS | VM_SYNC_REUSABLEPAGES;
  if (flags & ~known) return fail(KERN_INVALID_ARGUMENT, "sync flags {:#x} have unknown bits", flags);
  if ((flags & VM_SYNC_ASYNCHRONOUS) && (flags & VM_SYNC_SYNCHRONOUS))
    return fail(KERN_INVALID_ARGUMENT, "VM_SYNC_ASYNCHRONOUS and VM_SYNC_SYNCHRONOUS together");
  if (size == 0) return KERN_SUCCESS;
  PageRange r;
  if (!page_range(addr, size, r)) return fail(KERN_INVALID_ARGUMENT, "[{:#x}, +{:#x}) wraps", addr, size);
  Task& t = self_task();
  std::lock_guard lk(t.mu);
  auto segs = segments(t, r.start, r.end, true);
  for (const Segment& s : segs) {
    if (s.kind == Segment::hole && (flags & VM_SYNC_CONTIGUOUS))
      return fail(KERN_INVALID_ADDRESS, "[{:#x}, {:#x}) is not mapped (VM_SYNC_CONTIGUOUS)", s.start, s.end);
    if ((flags & VM_SYNC_KILLPAGES) && s.kind != Segment::hole &&
        !(s.kind == Segment::ours && s.entry->obj->anonymous()))
      return fail(KERN_NOT_SUPPORTED, "VM_SYNC_KILLPAGES of file pages at {:#x}: Linux cannot drop dirty file pages",
                  s.start);
  }
  for (const Segment& s : segs) {
    if (s.kind == Segment::hole) continue;
    void* p = reinterpret_cast<void*>(s.start);
    const uint64_t len = s.end - s.start;
    const bool file = s.kind == Segment::ours ? !s.entry->obj->anonymous() : (s.vma.shared && s.vma.inode != 0);
    if (flags & VM_SYNC_KILLPAGES) {
      if (kern_return_t kr = s.entry->obj->discard(s.entry->off_of(s.start), len); kr != KERN_SUCCESS) return kr;
      continue;
    }
    if (file && (flags & VM_SYNC_SYNCHRONOUS)) {
      if (msync(p, len, MS_SYNC) != 0)
        return fail(KERN_FAILURE, "msync(MS_SYNC) [{:#x}, {:#x}): {}", s.start, s.end, errno_text(errno));
    } else if (file && (flags & VM_SYNC_ASYNCHRONOUS)) {
      if (s.kind == Segment::ours) {
        if (kern_return_t kr = queue_datasync(s.entry->obj->fd()); kr != KERN_SUCCESS) return kr;
      } else {
        std::vector<Piece> pcs;
        if (share_pieces(t, s.start, s.end, pcs) == KERN_SUCCESS && !pcs.empty()) {
          if (kern_return_t kr = queue_datasync(pcs[0].obj->fd()); kr != KERN_SUCCESS) return kr;
        } else if (msync(p, len, MS_ASYNC) != 0) {
          return fail(KERN_FAILURE, "msync(MS_ASYNC): {}", errno_text(errno));
        }
      }
    }
    if (file && (flags & VM_SYNC_INVALIDATE)) msync(p, len, MS_INVALIDATE);
    if (flags & (VM_SYNC_DEACTIVATE | VM_SYNC_REUSABLEPAGES)) madvise(p, len, MADV_COLD);
  }
  return KERN_SUCCESS;
}

}  // namespace hvshim::machvm
