// Bulk copies through Mach VM: mach_copy_<size> and mach_read_<size>.
//
// mach_copy: mach_vm_copy(src → dst) vs memcpy(dst, src) on the SAME two
//   mach_vm_allocate'd, fully touched buffers, so the only difference is
//   the call (range checks, locking, the copy loop it picks).
// mach_read: mach_vm_read(src) returns a new allocation holding a copy,
//   which the caller later frees with mach_vm_deallocate; both are timed.
//   The native equivalent of "give me a fresh copy, then drop it" is
//   mmap(fresh private anonymous) + memcpy + munmap, timed the same way.
//   Both sides therefore pay for fresh memory: the shim fills a new memfd
//   with pwrite (no page faults), mmap+memcpy takes one fault per 4 KiB page
//   (THP is madvise-only on this host, so no huge pages either way).
//
// Before every sample the source gets a new stamp in each page, and the
// result is compared with the source in full afterwards (untimed), so stale
// or partial copies fail the case.
#include <mach/mach.h>
#include <sys/mman.h>

#include <cstring>

#include <fmt/format.h>

#include "harness.h"

namespace hvbench {

namespace {

// A mach_vm_allocate'd buffer, touched in full, freed on scope exit.
struct MachBuf {
  mach_vm_address_t addr = 0;
  uint64_t size = 0;
  kern_return_t kr = KERN_FAILURE;
  explicit MachBuf(uint64_t n) : size(n) {
    kr = mach_vm_allocate(mach_task_self(), &addr, n, VM_FLAGS_ANYWHERE);
    if (kr == KERN_SUCCESS) memset(p(), 0x5a, n);
  }
  ~MachBuf() {
    if (kr == KERN_SUCCESS) mach_vm_deallocate(mach_task_self(), addr, size);
  }
  uint8_t* p() const { return reinterpret_cast<uint8_t*>(addr); }
};

// A value in every page that no earlier sample wrote.
void stamp(uint8_t* p, uint64_t size, uint64_t seq) {
  for (uint64_t off = 0; off < size; off += kPage) {
    uint64_t v = seq << 32 | off / kPage;
    memcpy(p + off, &v, sizeof v);
  }
}

std::string size_name(uint64_t bytes) { return fmt::format("{}m", bytes >> 20); }

}  // namespace

void case_mach_copy(Env& env, const Config& cfg, std::vector<Result>& out) {
  (void)env;
  const uint64_t size = cfg.mach_copy_bytes;
  Result r("mach_copy_" + size_name(size));
  MachBuf src(size), dst(size);
  if (src.kr != KERN_SUCCESS || dst.kr != KERN_SUCCESS) {
    r.status = fmt::format("failed: mach_vm_allocate: {:#x} / {:#x}", src.kr, dst.kr);
    out.push_back(r);
    return;
  }
  Samples shim, native;
  uint64_t seq = 1;
  for (unsigned i = 0; i < cfg.mach_copy_iters + 1; ++i) {  // the first pair warms caches and TLBs
    stamp(src.p(), size, seq++);
    int64_t t0 = now_ns();
    kern_return_t kr = mach_vm_copy(mach_task_self(), src.addr, size, dst.addr);
    int64_t t1 = now_ns();
    if (kr != KERN_SUCCESS || memcmp(dst.p(), src.p(), size) != 0) {
      r.status = fmt::format("failed: mach_vm_copy returned {:#x}{}", kr,
                             kr == KERN_SUCCESS ? " but the destination differs from the source" : "");
      break;
    }
    stamp(src.p(), size, seq++);
    int64_t t2 = now_ns();
    memcpy(dst.p(), src.p(), size);
    int64_t t3 = now_ns();
    if (memcmp(dst.p(), src.p(), size) != 0) {
      r.status = "failed: memcpy result differs";
      break;
    }
    if (i == 0) continue;
    shim.add(static_cast<double>(t1 - t0));
    native.add(static_cast<double>(t3 - t2));
  }
  if (r.status == "ok") {
    r.shim_ns = shim.median();
    r.native_ns = native.median();
    r.note = fmt::format(
        "mach_vm_copy of {} MiB between two touched mach_vm_allocate'd buffers vs memcpy on the same buffers, "
        "interleaved; result compared in full. shim: {}; memcpy: {}; shim {:.2f} GB/s, memcpy {:.2f} GB/s",
        size >> 20, shim.summary(1e6, "ms"), native.summary(1e6, "ms"), static_cast<double>(size) / r.shim_ns,
        static_cast<double>(size) / r.native_ns);
  }
  out.push_back(r);
}

void case_mach_read(Env& env, const Config& cfg, std::vector<Result>& out) {
  (void)env;
  const uint64_t size = cfg.mach_copy_bytes;
  Result r("mach_read_" + size_name(size));
  MachBuf src(size);
  if (src.kr != KERN_SUCCESS) {
    r.status = fmt::format("failed: mach_vm_allocate: {:#x}", src.kr);
    out.push_back(r);
    return;
  }
  Samples shim, native, shim_read, shim_free, nat_copy, nat_free;
  uint64_t seq = 1;
  for (unsigned i = 0; i < cfg.mach_copy_iters + 1; ++i) {
    stamp(src.p(), size, seq++);
    vm_offset_t data = 0;
    mach_msg_type_number_t cnt = 0;
    int64_t t0 = now_ns();
    kern_return_t kr = mach_vm_read(mach_task_self(), src.addr, size, &data, &cnt);
    int64_t t1 = now_ns();
    if (kr != KERN_SUCCESS || cnt != size || memcmp(reinterpret_cast<void*>(data), src.p(), size) != 0) {
      r.status = fmt::format("failed: mach_vm_read returned {:#x}, {} bytes{}", kr, cnt,
                             kr == KERN_SUCCESS ? " (or a copy that differs from the source)" : "");
      if (kr == KERN_SUCCESS) mach_vm_deallocate(mach_task_self(), data, cnt);
      break;
    }
    int64_t t2 = now_ns();
    kern_return_t d = mach_vm_deallocate(mach_task_self(), data, cnt);
    int64_t t3 = now_ns();
    if (d != KERN_SUCCESS) {
      r.status = fmt::format("failed: mach_vm_deallocate of the result returned {:#x}", d);
      break;
    }

    stamp(src.p(), size, seq++);
    int64_t n0 = now_ns();
    void* m = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m != MAP_FAILED) memcpy(m, src.p(), size);
    int64_t n1 = now_ns();
    if (m == MAP_FAILED || memcmp(m, src.p(), size) != 0) {
      r.status = "failed: native mmap+memcpy";
      if (m != MAP_FAILED) munmap(m, size);
      break;
    }
    int64_t n2 = now_ns();
    munmap(m, size);
    int64_t n3 = now_ns();
    if (i == 0) continue;
    shim.add(static_cast<double>((t1 - t0) + (t3 - t2)));
    shim_read.add(static_cast<double>(t1 - t0));
    shim_free.add(static_cast<double>(t3 - t2));
    native.add(static_cast<double>((n1 - n0) + (n3 - n2)));
    nat_copy.add(static_cast<double>(n1 - n0));
    nat_free.add(static_cast<double>(n3 - n2));
  }
  if (r.status == "ok") {
    r.shim_ns = shim.median();
    r.native_ns = native.median();
    r.note = fmt::format(
        "mach_vm_read of {} MiB (touched mach_vm_allocate'd source) + mach_vm_deallocate of the returned copy, vs "
        "mmap(fresh private anonymous) + memcpy + munmap; interleaved, copies compared in full (untimed). shim: {} "
        "(read {}, deallocate {}); native: {} (mmap+memcpy {}, munmap {})",
        size >> 20, shim.summary(1e6, "ms"), fmt_ns(shim_read.median()), fmt_ns(shim_free.median()),
        native.summary(1e6, "ms"), fmt_ns(nat_copy.median()), fmt_ns(nat_free.median()));
  }
  out.push_back(r);
}

}  // namespace hvbench
