// Resident page counts for region info, at a cost that follows what a
// region holds rather than its size (a 1 TiB sparse region is one call,
// not 256 million mincore entries).
#pragma once

#include <cstdint>

#include "machvm/memory_object.h"

namespace hvshim::machvm {

// Pages of [start, end), mapped from `obj` at object offset `off`, that are
// in memory. Only the object's data extents are asked about.
uint64_t resident_ours(const MemObject& obj, uint64_t off, uint64_t start, uint64_t end);

// The same for a range we did not map (the kernel's VMA at vma_start).
// Huge ranges are answered from /proc/self/smaps, in proportion to the
// part of the VMA asked about.
uint64_t resident_foreign(uint64_t vma_start, uint64_t vma_end, uint64_t start, uint64_t end);

}  // namespace hvshim::machvm
