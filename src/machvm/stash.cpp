#include "machvm/stash.h"

#include <sys/mman.h>

#include <cerrno>

#include "common/log.h"
#include "machvm/fail.h"
#include "machvm/kernel_view.h"
#include "machvm/sys.h"

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

namespace hvshim::machvm {

Stash::~Stash() { put_back(); }

kern_return_t Stash::take(uint64_t start, uint64_t end) {
  const uint64_t len = end - start;
  void* h = sys::mmap(nullptr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (h == MAP_FAILED) {
    int e = errno;
    return fail(sys::resource_code(e, true), "holding range for [{:#x}, {:#x}): {}", start, end, errno_text(e));
  }
  const uint64_t hold = reinterpret_cast<uint64_t>(h);
  holds_.push_back({hold, len});
  const size_t first = moved_.size();
  for (uint64_t p = start; p < end;) {
    auto v = kernel_vma_at_or_after(0, p);
    if (!v || v->start >= end) break;
    const uint64_t s = std::max(v->start, p), e = std::min(v->end, end);
    void* to = reinterpret_cast<void*>(hold + (s - start));
    void* m = sys::mremap(reinterpret_cast<void*>(s), e - s, e - s, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP,
                          to);
    // Older kernels and special mappings refuse DONTUNMAP: a plain move.
    if (m == MAP_FAILED && errno == EINVAL)
      m = sys::mremap(reinterpret_cast<void*>(s), e - s, e - s, MREMAP_MAYMOVE | MREMAP_FIXED, to);
    if (m == MAP_FAILED) {
      int err = errno;
      // Only what this call moved goes back; earlier takes stay held.
      std::vector<Moved> mine(moved_.begin() + static_cast<long>(first), moved_.end());
      moved_.resize(first);
      for (auto it = mine.rbegin(); it != mine.rend(); ++it)
        ::mremap(reinterpret_cast<void*>(it->to), it->len, it->len, MREMAP_MAYMOVE | MREMAP_FIXED,
                 reinterpret_cast<void*>(it->from));
      ::munmap(h, len);
      holds_.pop_back();
      return fail(sys::resource_code(err), "moving [{:#x}, {:#x}) aside: {}", s, e, errno_text(err));
    }
    moved_.push_back({s, hold + (s - start), e - s});
    p = e;
  }
  return KERN_SUCCESS;
}

void Stash::put_back() {
  for (auto it = moved_.rbegin(); it != moved_.rend(); ++it) {
    if (::mremap(reinterpret_cast<void*>(it->to), it->len, it->len, MREMAP_MAYMOVE | MREMAP_FIXED,
                 reinterpret_cast<void*>(it->from)) == MAP_FAILED)
      log::error("machvm: could not restore [{:#x}, +{:#x}): errno {}", it->from, it->len, errno);
  }
  moved_.clear();
  release();
}

void Stash::release() {
  moved_.clear();
  for (const Hold& h : holds_) ::munmap(reinterpret_cast<void*>(h.start), h.len);
  holds_.clear();
}

}  // namespace hvshim::machvm
