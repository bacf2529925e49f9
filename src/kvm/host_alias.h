// A second virtual mapping of shared host memory. Guest memory that is
// reached through our own alias can be write-protected (userfaultfd) or
// mprotect'ed without touching the caller's mapping of the same pages.
#pragma once

#include <cstdint>

#include "kvm/result.h"

namespace hvshim::kvm {

// The host mapping (VMA) holding addr, when it is shared memory in 4 KiB
// pages (the only kind an alias can be made of); EINVAL otherwise.
struct SharedRange {
  uint64_t start = 0, end = 0;
};
Result<SharedRange> shared_range_at(uint64_t addr);

// Maps [addr, addr+len), which must lie inside `in` (from shared_range_at),
// a second time, sharing its pages. The alias is not inherited by fork
// children (MADV_DONTFORK). Pages the caller's mapping has in memory are
// mapped into the alias at once.
Result<uint64_t> make_shared_alias(const SharedRange& in, uint64_t addr, uint64_t len);
void drop_alias(uint64_t alias, uint64_t len);

}  // namespace hvshim::kvm
