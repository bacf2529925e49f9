// Page arithmetic and the range normalisation every call starts with.
#pragma once

#include <cstdint>

#include <mach/kern_return.h>
#include <mach/vm_prot.h>

namespace hvshim::machvm {

#if defined(__x86_64__) || defined(__i386__)
// x86 has one base page size; asked on every call, so no lookup.
constexpr uint64_t page_size() { return 4096; }
#else
uint64_t page_size();
#endif
inline uint64_t page_mask() { return page_size() - 1; }
inline uint64_t page_trunc(uint64_t a) { return a & ~page_mask(); }
inline bool page_round(uint64_t a, uint64_t& out) {
  if (a > UINT64_MAX - page_mask()) return false;
  out = (a + page_mask()) & ~page_mask();
  return true;
}

// Highest user address + 1 we can place mappings below (x86-64 47-bit, or
// what the kernel reports for this process).
uint64_t user_va_end();
// Lowest address a FIXED mapping may use (vm.mmap_min_addr).
uint64_t user_va_start();

struct PageRange {
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t size() const { return end - start; }
};

// [trunc(addr), round(addr+size)); false when addr+size wraps or the rounded
// end wraps to 0, which XNU's vm_sanitize_addr_size rejects.
bool page_range(uint64_t addr, uint64_t size, PageRange& out);

int to_posix_prot(vm_prot_t p);

}  // namespace hvshim::machvm
