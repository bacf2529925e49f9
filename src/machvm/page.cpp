#include "machvm/page.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>

namespace hvshim::machvm {

#if !defined(__x86_64__) && !defined(__i386__)
uint64_t page_size() {
  static const uint64_t ps = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return ps;
}
#endif

uint64_t user_va_end() {
#if defined(__x86_64__)
  // 4-level paging user space; 5-level kernels only hand out higher addresses
  // to callers that ask, which we never do.
  return 0x00007ffffffff000ULL;
#else
  return 0x0000fffffffff000ULL;
#endif
}

uint64_t user_va_start() {
  static const uint64_t v = [] {
    uint64_t min = 65536;
    if (FILE* f = std::fopen("/proc/sys/vm/mmap_min_addr", "re")) {
      unsigned long long x = 0;
      if (std::fscanf(f, "%llu", &x) == 1) min = x;
      std::fclose(f);
    }
    uint64_t r = 0;
    if (!page_round(min, r) || r == 0) r = page_size();
    return r;
  }();
  return v;
}

bool page_range(uint64_t addr, uint64_t size, PageRange& out) {
  if (addr > UINT64_MAX - size) return false;
  uint64_t end = 0;
  if (!page_round(addr + size, end)) return false;
  uint64_t start = page_trunc(addr);
  if (size != 0 && end <= start) return false;
  out = {start, end};
  return true;
}

int to_posix_prot(vm_prot_t p) {
  int r = PROT_NONE;
  if (p & VM_PROT_READ) r |= PROT_READ;
  if (p & VM_PROT_WRITE) r |= PROT_WRITE;
  if (p & VM_PROT_EXECUTE) r |= PROT_EXEC;
  return r;
}

}  // namespace hvshim::machvm
