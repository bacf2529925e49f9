// mach_allocate: mach_vm_allocate(4 pages, ANYWHERE) + first write to the
// first page + mach_vm_deallocate, vs mmap(4 pages, private anonymous) +
// the same write + munmap: what a program asks of the VM system for a small
// short-lived buffer.
//
// Timed in blocks of kBlock consecutive cycles, shim and native blocks
// interleaved (the order alternating per block); shim_ns / native_ns are
// the median over blocks of (block time / kBlock). Blocks, not single
// calls: the library may defer part of a release and do it in batches (its
// memfd arena punches freed pages out every few hundred releases), and a
// per-call median would leave that work out, while munmap frees at once.
// A block is long enough to contain such batches; the note also gives the
// per-call median and p99 (the batch shows in the tail).
//
// The shim's memory is a memfd mapped shared (its region table and
// copy/share semantics need an object behind every allocation), so the
// first write costs a shmem page fault where mmap's costs an anonymous one:
// that difference is part of the price measured here.
//
// Checks: every address is page-aligned; the byte written reads back, and
// the byte the previous cycle wrote (the offset moves by 64 bytes per
// cycle) reads as zero, so memory recycled without being cleared fails
// (without a read-before-write, which would cost the anonymous side an
// extra fault); after each block (untimed) the last range is gone from the
// process (mincore fails with ENOMEM), so a library that kept mappings
// fails.
#include <mach/mach.h>
#include <sys/mman.h>

#include <cerrno>

#include <fmt/format.h>

#include "harness.h"

namespace hvbench {

namespace {

constexpr uint64_t kPages = 4;
constexpr unsigned kBlock = 1000;

// Writes a byte at this cycle's offset of the first page; true if it reads
// back and the previous cycle's offset is still zero (fresh memory).
bool touch_fresh(volatile uint8_t* p, unsigned i) {
  const unsigned off = (i % 64) * 64, prev = ((i + 63) % 64) * 64;
  p[off] = 1;
  return p[off] == 1 && p[prev] == 0;
}

bool unmapped(uint64_t addr, uint64_t size) {
  unsigned char vec[kPages];
  return mincore(reinterpret_cast<void*>(addr), size, vec) != 0 && errno == ENOMEM;
}

// One block through Mach VM; per-call times go to `calls`. "" or what failed.
std::string shim_block(uint64_t size, Samples* per_call, Samples& calls, uint64_t* last) {
  const uint64_t page = vm_page_size;
  int64_t start = now_ns();
  for (unsigned i = 0; i < kBlock; ++i) {
    mach_vm_address_t addr = 0;
    int64_t t0 = now_ns();
    kern_return_t a = mach_vm_allocate(mach_task_self(), &addr, size, VM_FLAGS_ANYWHERE);
    bool fresh = a == KERN_SUCCESS && touch_fresh(reinterpret_cast<volatile uint8_t*>(addr), i);
    kern_return_t d = a == KERN_SUCCESS ? mach_vm_deallocate(mach_task_self(), addr, size) : a;
    int64_t t1 = now_ns();
    if (a != KERN_SUCCESS || d != KERN_SUCCESS || addr == 0 || (addr & (page - 1)) || !fresh)
      return fmt::format("mach_vm_allocate={:#x} addr={:#x} fresh={} mach_vm_deallocate={:#x}", a, addr, fresh, d);
    calls.add(static_cast<double>(t1 - t0));
    *last = addr;
  }
  if (per_call) per_call->add(static_cast<double>(now_ns() - start) / kBlock);
  return {};
}

std::string native_block(uint64_t size, Samples* per_call, Samples& calls, uint64_t* last) {
  int64_t start = now_ns();
  for (unsigned i = 0; i < kBlock; ++i) {
    int64_t t0 = now_ns();
    void* m = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    bool fresh = m != MAP_FAILED && touch_fresh(static_cast<volatile uint8_t*>(m), i);
    int u = m != MAP_FAILED ? munmap(m, size) : -1;
    int64_t t1 = now_ns();
    if (m == MAP_FAILED || u != 0 || !fresh) return "native mmap/touch/munmap";
    calls.add(static_cast<double>(t1 - t0));
    *last = reinterpret_cast<uint64_t>(m);
  }
  if (per_call) per_call->add(static_cast<double>(now_ns() - start) / kBlock);
  return {};
}

}  // namespace

void case_mach_allocate(Env& env, const Config& cfg, std::vector<Result>& out) {
  (void)env;
  Result r("mach_allocate");
  const uint64_t size = kPages * vm_page_size;
  Samples shim, native, shim_calls, native_calls;
  // Block 0 of each side warms up (page cache of the arena, allocator).
  for (unsigned b = 0; b < cfg.mach_blocks + 1 && r.status == "ok"; ++b) {
    Samples scratch_s, scratch_n;
    for (int side = 0; side < 2; ++side) {
      const bool shim_side = (side == 0) == (b % 2 == 0);
      uint64_t last = 0;
      std::string e = shim_side ? shim_block(size, b ? &shim : nullptr, b ? shim_calls : scratch_s, &last)
                                : native_block(size, b ? &native : nullptr, b ? native_calls : scratch_n, &last);
      if (e.empty() && !unmapped(last, size))
        e = fmt::format("[{:#x}, +{:#x}) is still mapped after {}", last, size,
                        shim_side ? "mach_vm_deallocate" : "munmap");
      if (!e.empty()) {
        r.status = "failed: " + e;
        break;
      }
    }
  }
  if (r.status == "ok") {
    r.shim_ns = shim.median();
    r.native_ns = native.median();
    r.note = fmt::format(
        "per allocate + first write + deallocate of {} pages: mach_vm_allocate(ANYWHERE)/mach_vm_deallocate vs "
        "mmap(private anonymous)/munmap; blocks of {} cycles, interleaved, median over blocks of block time / {} "
        "(includes work the library defers to later calls); fresh zeroed memory and unmapping (mincore) checked. "
        "shim per call, by block: {}; native: {}; single calls: shim {}, native {}",
        kPages, kBlock, kBlock, shim.summary(), native.summary(), shim_calls.summary(), native_calls.summary());
  }
  out.push_back(r);
}

}  // namespace hvbench
