// mach_vm_read / read_overwrite / write / copy. Every byte range is checked
// against the map before a byte moves, so bad ranges come back as
// KERN_INVALID_ADDRESS / KERN_PROTECTION_FAILURE and never as a fault.
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include <mach/message.h>

#include "machvm/fail.h"
#include "machvm/object_source.h"
#include "machvm/page.h"
#include "machvm/placement.h"
#include "machvm/self_pid.h"
#include "machvm/sys.h"
#include "machvm/vm_ops.h"

namespace hvshim::machvm {

namespace {
// XNU copies short ranges through a kernel buffer, where any failure to
// read or write reads as a bad address.
bool small_copy(uint64_t size) { return size < 2 * page_size(); }

bool all_ours(Task& t, uint64_t addr, uint64_t size) {
  PageRange r;
  if (!page_range(addr, size, r)) return false;
  for (const Segment& s : segments(t, r.start, r.end))
    if (s.kind != Segment::ours) return false;
  return true;
}

// Our own entries cannot change while we hold the lock, so plain memmove is
// safe there. Memory we did not map could be unmapped by another thread
// between the check and the copy: copy it through process_vm_readv, which
// reports EFAULT instead of faulting.
kern_return_t copy_plain(Task& t, uint64_t dst, uint64_t src, uint64_t size) {
  const bool overlap = dst < src + size && src < dst + size;
  if (overlap || (all_ours(t, src, size) && all_ours(t, dst, size))) {
    std::memmove(reinterpret_cast<void*>(dst), reinterpret_cast<const void*>(src), size);
    return KERN_SUCCESS;
  }
  uint64_t done = 0;
  while (done < size) {
    iovec l{reinterpret_cast<void*>(dst + done), size - done}, r{reinterpret_cast<void*>(src + done), size - done};
    ssize_t n = process_vm_readv(self_pid(), &l, 1, &r, 1, 0);
    if (n < 0 && (errno == ENOSYS || errno == EPERM)) {
      std::memmove(reinterpret_cast<void*>(dst + done), reinterpret_cast<const void*>(src + done), size - done);
      return KERN_SUCCESS;
    }
    if (n <= 0) return fail(KERN_INVALID_ADDRESS, "copy [{:#x}, +{:#x}) faulted: {}", src + done, size - done,
                            errno_text(errno));
    done += static_cast<uint64_t>(n);
  }
  return KERN_SUCCESS;
}

// The file bytes behind [addr, addr+size) that another mapping may show
// too: our objects, and shared file mappings we did not make. In address
// order, one span per segment.
struct FileSpan {
  uint64_t start, end;  // virtual
  uint64_t dev, ino, off;
  bool same_memory(const FileSpan& o) const {
    return dev == o.dev && ino == o.ino && off < o.off + (o.end - o.start) && o.off < off + (end - start);
  }
};
std::vector<FileSpan> file_spans(Task& t, uint64_t addr, uint64_t size) {
  std::vector<FileSpan> out;
  PageRange r;
  if (!page_range(addr, size, r)) return out;
  for (const Segment& s : segments(t, r.start, r.end)) {
    const uint64_t bs = std::max(s.start, addr), be = std::min(s.end, addr + size);
    if (bs >= be) continue;
    if (s.kind == Segment::ours) {
      out.push_back({bs, be, s.entry->obj->dev(), s.entry->obj->ino(), s.entry->obj->base() + s.entry->off_of(bs)});
    } else if (s.kind == Segment::foreign && s.vma.shared && s.vma.inode) {
      out.push_back({bs, be, makedev(s.vma.dev_major, s.vma.dev_minor), s.vma.inode,
                     s.vma.file_offset + (bs - s.vma.start)});
    }
  }
  return out;
}

// XNU copies the source in, then overwrites the destination entry by entry
// in address order. So the result is the source as it was even where source
// and destination are the same memory under other addresses (memmove would
// smear), and where the destination shows the same memory twice, the higher
// address is written last (memcpy writes in no promised order).
kern_return_t move_bytes(Task& t, uint64_t dst, uint64_t src, uint64_t size) {
  const auto d = file_spans(t, dst, size);
  bool src_alias = dst < src + size && src < dst + size, dst_alias = false;
  for (size_t i = 0; i < d.size() && !dst_alias; ++i)
    for (size_t j = i + 1; j < d.size() && !dst_alias; ++j) dst_alias = d[i].same_memory(d[j]);
  if (!d.empty() && !src_alias)
    for (const FileSpan& a : file_spans(t, src, size))
      for (const FileSpan& b : d) src_alias |= a.same_memory(b);
  if (!src_alias && !dst_alias) return copy_plain(t, dst, src, size);

  uint64_t from = src;
  void* tmp = nullptr;
  if (src_alias) {
    tmp = sys::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (tmp == MAP_FAILED) {
      int e = errno;
      return fail(sys::resource_code(e), "bounce buffer of {:#x} bytes: {}", size, errno_text(e));
    }
    from = reinterpret_cast<uint64_t>(tmp);
  }
  kern_return_t kr = src_alias ? copy_plain(t, from, src, size) : KERN_SUCCESS;
  if (kr == KERN_SUCCESS && !dst_alias) kr = copy_plain(t, dst, from, size);
  // Each span of the destination maps its memory once: copy span by span.
  for (uint64_t at = dst; kr == KERN_SUCCESS && dst_alias && at < dst + size;) {
    uint64_t end = dst + size;
    for (const FileSpan& f : d) {
      if (f.start > at) end = std::min(end, f.start);
      else if (f.end > at) end = std::min(end, f.end);
    }
    kr = copy_plain(t, at, from + (at - dst), end - at);
    at = end;
  }
  if (tmp) ::munmap(tmp, size);
  return kr;
}

kern_return_t check_range(Task& t, uint64_t addr, uint64_t size, vm_prot_t need, const char* what) {
  PageRange r;
  if (!page_range(addr, size, r)) return fail(KERN_INVALID_ADDRESS, "{}: [{:#x}, +{:#x}) wraps", what, addr, size);
  kern_return_t kr = check_access(t, r.start, r.end, need, what);
  if (kr == KERN_PROTECTION_FAILURE && small_copy(size))
    return fail(KERN_INVALID_ADDRESS, "{}: [{:#x}, +{:#x}) lacks access (short copy)", what, addr, size);
  return kr;
}
}  // namespace

kern_return_t vm_read(uint64_t addr, uint64_t size, uint64_t& data, uint64_t& count) {
  if (size == 0) {
    data = 0;
    count = 0;
    return KERN_SUCCESS;
  }
  if (size > UINT32_MAX) return fail(KERN_INVALID_ARGUMENT, "size {:#x} does not fit a message", size);
  Task& t = self_task();
  std::lock_guard lk(t.mu);
  if (kern_return_t kr = check_range(t, addr, size, VM_PROT_READ, "vm_read"); kr != KERN_SUCCESS) return kr;
  PageRange src;
  page_range(addr, size, src);
  const bool small = small_copy(size);
  uint64_t len = 0;
  page_round(size, len);
  if (!small) len = src.size();
  Piece pc;
  if (kern_return_t kr = new_anonymous_piece(len, false, pc); kr != KERN_SUCCESS) return kr;
  if (small) {
    // Short reads come back page aligned.
    PlaceRequest r;
    r.anywhere = true;
    r.pieces.push_back(pc);
    uint64_t at = 0;
    if (kern_return_t kr = place(t, r, at); kr != KERN_SUCCESS) return kr;
    if (kern_return_t kr = move_bytes(t, at, addr, size); kr != KERN_SUCCESS) {
      t.map.clip(at, at + len);
      munmap(reinterpret_cast<void*>(at), len);
      t.map.erase(at, at + len);
      return kr;
    }
    data = at;
    count = size;
    return KERN_SUCCESS;
  }
  // Long reads keep the in-page offset; untouched pages of the source stay
  // untouched (holes) in the copy.
  if (kern_return_t kr = copy_range_into(t, src.start, src.end, *pc.obj, 0); kr != KERN_SUCCESS) return kr;
  PlaceRequest r;
  r.anywhere = true;
  r.pieces.push_back(pc);
  uint64_t at = 0;
  if (kern_return_t kr = place(t, r, at); kr != KERN_SUCCESS) return kr;
  data = at + (addr - src.start);
  count = size;
  return KERN_SUCCESS;
}

kern_return_t vm_read_overwrite(uint64_t addr, uint64_t size, uint64_t dst, uint64_t& outsize) {
  if (size == 0) {
    outsize = 0;
    return KERN_SUCCESS;
  }
  Task& t = self_task();
  std::lock_guard lk(t.mu);
  if (kern_return_t kr = check_range(t, addr, size, VM_PROT_READ, "vm_read_overwrite source"); kr != KERN_SUCCESS)
    return kr;
  if (kern_return_t kr = check_range(t, dst, size, VM_PROT_WRITE, "vm_read_overwrite destination");
      kr != KERN_SUCCESS)
    return kr;
  if (kern_return_t kr = move_bytes(t, dst, addr, size); kr != KERN_SUCCESS) return kr;
  outsize = size;
  return KERN_SUCCESS;
}

kern_return_t vm_write(uint64_t addr, uint64_t src, uint64_t count) {
  if (count == 0) return KERN_SUCCESS;
  Task& t = self_task();
  std::lock_guard lk(t.mu);
  // The message carrying the data is built first: a bad source buffer fails
  // there, before the destination is looked at.
  PageRange s;
  if (!page_range(src, count, s) || check_access(t, s.start, s.end, VM_PROT_READ, "vm_write data") != KERN_SUCCESS)
    return fail(MACH_SEND_INVALID_MEMORY, "vm_write: source buffer [{:#x}, +{:#x}) is not readable", src, count);
  if (kern_return_t kr = check_range(t, addr, count, VM_PROT_WRITE, "vm_write"); kr != KERN_SUCCESS) return kr;
  return move_bytes(t, addr, src, count);
}

kern_return_t vm_copy(uint64_t src, uint64_t size, uint64_t dst) {
  if (size == 0) return KERN_SUCCESS;
  Task& t = self_task();
  std::lock_guard lk(t.mu);
  if (kern_return_t kr = check_range(t, src, size, VM_PROT_READ, "vm_copy source"); kr != KERN_SUCCESS) return kr;
  if (kern_return_t kr = check_range(t, dst, size, VM_PROT_WRITE, "vm_copy destination"); kr != KERN_SUCCESS)
    return kr;
  // XNU copies in, then overwrites: overlapping ranges behave like memmove.
  return move_bytes(t, dst, src, size);
}

}  // namespace hvshim::machvm
