// A second virtual mapping of shared host memory. Guest memory that is
// reached through our own alias can be write-protected (userfaultfd) or
// mprotect'ed without touching the caller's mapping of the same pages.
#pragma once

#include <cstdint>

#include "kvm/result.h"

namespace hvshim::kvm {

// Maps [addr, addr+len) a second time, sharing its pages. Works only when
// the whole range lies in one MAP_SHARED mapping of 4 KiB pages; private or
// split ranges fail (EINVAL), so callers fall back to using `addr` itself.
// The alias is not inherited by fork children (MADV_DONTFORK). Pages the
// caller's mapping has in memory are mapped into the alias at once.
Result<uint64_t> make_shared_alias(uint64_t addr, uint64_t len);

// The host mapping (VMA) holding addr, when it is shared memory in 4 KiB
// pages (the only kind an alias can be made of); EINVAL otherwise.
struct SharedRange {
  uint64_t start = 0, end = 0;
};
Result<SharedRange> shared_range_at(uint64_t addr);
void drop_alias(uint64_t alias, uint64_t len);

}  // namespace hvshim::kvm
