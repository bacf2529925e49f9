// mach_allocate: mach_vm_allocate(4 pages, ANYWHERE) + first write to the
// first page + mach_vm_deallocate, vs mmap(4 pages, private anonymous) +
// the same write + munmap: what a program asks of the VM system for a small
// short-lived buffer. Interleaved one for one.
//
// The shim's memory is a memfd mapped shared (its region table and
// copy/share semantics need an object behind every allocation), so the
// first write costs a shmem page fault where mmap's costs an anonymous one:
// that difference is part of the price measured here.
//
// Checks (outside the timed part where they need a syscall): the address is
// page-aligned; the byte written reads back, and the byte the previous
// sample wrote (the offset moves by 64 bytes per sample) reads as zero, so
// memory recycled without being cleared fails (without a read-before-write,
// which would cost the anonymous side an extra fault); after the deallocate
// the range is gone from the process (mincore fails with ENOMEM), so a
// library that leaked or kept mappings fails.
#include <mach/mach.h>
#include <sys/mman.h>

#include <cerrno>

#include <fmt/format.h>

#include "harness.h"

namespace hvbench {

namespace {

constexpr unsigned kWarm = 20;
constexpr uint64_t kPages = 4;

// Writes a byte at this sample's offset of the first page; true if it reads
// back and the previous sample's offset is still zero (fresh memory).
bool touch_fresh(volatile uint8_t* p, unsigned i) {
  const unsigned off = (i % 64) * 64, prev = ((i + 63) % 64) * 64;
  p[off] = 1;
  return p[off] == 1 && p[prev] == 0;
}

bool unmapped(uint64_t addr, uint64_t size) {
  unsigned char vec[kPages];
  return mincore(reinterpret_cast<void*>(addr), size, vec) != 0 && errno == ENOMEM;
}

}  // namespace

void case_mach_allocate(Env& env, const Config& cfg, std::vector<Result>& out) {
  (void)env;
  Result r("mach_allocate");
  const uint64_t page = vm_page_size, size = kPages * page;
  Samples shim, native;
  for (unsigned i = 0; i < cfg.mach_iters + kWarm; ++i) {
    mach_vm_address_t addr = 0;
    int64_t t0 = now_ns();
    kern_return_t a = mach_vm_allocate(mach_task_self(), &addr, size, VM_FLAGS_ANYWHERE);
    bool fresh = false;
    if (a == KERN_SUCCESS) {
      fresh = touch_fresh(reinterpret_cast<volatile uint8_t*>(addr), i);
    }
    kern_return_t d = a == KERN_SUCCESS ? mach_vm_deallocate(mach_task_self(), addr, size) : a;
    int64_t t1 = now_ns();
    if (a != KERN_SUCCESS || d != KERN_SUCCESS || addr == 0 || (addr & (page - 1)) || !fresh) {
      r.status = fmt::format("failed: mach_vm_allocate={:#x} addr={:#x} fresh={} mach_vm_deallocate={:#x}", a, addr,
                             fresh, d);
      break;
    }
    if (!unmapped(addr, size)) {
      r.status = fmt::format("failed: [{:#x}, +{:#x}) is still mapped after mach_vm_deallocate", addr, size);
      break;
    }

    int64_t t2 = now_ns();
    void* m = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    bool nfresh = false;
    int u = -1;
    if (m != MAP_FAILED) {
      nfresh = touch_fresh(static_cast<volatile uint8_t*>(m), i);
      u = munmap(m, size);
    }
    int64_t t3 = now_ns();
    if (m == MAP_FAILED || u != 0 || !nfresh || !unmapped(reinterpret_cast<uint64_t>(m), size)) {
      r.status = "failed: native mmap/touch/munmap";
      break;
    }
    if (i < kWarm) continue;
    shim.add(static_cast<double>(t1 - t0));
    native.add(static_cast<double>(t3 - t2));
  }
  if (r.status == "ok") {
    r.shim_ns = shim.median();
    r.native_ns = native.median();
    r.note = fmt::format(
        "per allocate + first write + deallocate of {} pages: mach_vm_allocate(ANYWHERE)/mach_vm_deallocate vs "
        "mmap(private anonymous)/munmap, interleaved; fresh zeroed page and unmapping (mincore) checked. shim: {}; "
        "native: {}",
        kPages, shim.summary(), native.summary());
  }
  out.push_back(r);
}

}  // namespace hvbench
