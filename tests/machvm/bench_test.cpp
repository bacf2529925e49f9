// Cost of the facade against the raw Linux calls, printed as ratios (the
// numbers in docs/machvm.md come from this test). Each case also checks
// the result so it cannot pass by doing nothing.
#include <sys/mman.h>

#include <chrono>
#include <cstdio>
#include <set>
#include <vector>

#include "machvm/vm_test_util.h"

using namespace vmtest;

namespace {

template <class F>
double seconds(F&& f) {
  auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST(Bench, AllocateDeallocateVersusMmapMunmap) {
  constexpr int n = 3000;
  const size_t len = 4 * page();
  double ours = seconds([&] {
    for (int i = 0; i < n; ++i) {
      mach_vm_address_t a = 0;
      ASSERT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &a, len, VM_FLAGS_ANYWHERE));
      touch_write(a);
      ASSERT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), a, len));
    }
  });
  double raw = seconds([&] {
    for (int i = 0; i < n; ++i) {
      void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      ASSERT_NE(p, MAP_FAILED);
      touch_write(reinterpret_cast<uint64_t>(p));
      munmap(p, len);
    }
  });
  std::printf("[bench] allocate+deallocate: %.2f us vs mmap+munmap %.2f us  ratio %.2f\n", ours / n * 1e6,
              raw / n * 1e6, ours / raw);
}

TEST(Bench, CopyAndReadOf64MiBVersusMemcpy) {
  const size_t len = 64ULL << 20;
  Alloc src(len), dst(len);
  for (size_t i = 0; i < len; i += page()) src.p()[i] = static_cast<char>(i >> 12);
  std::memset(dst.p(), 1, len);
  double memcpy_s = seconds([&] { std::memcpy(dst.p(), src.p(), len); });
  std::memset(dst.p(), 1, len);
  double copy_s = seconds([&] { ASSERT_KR(KERN_SUCCESS, mach_vm_copy(mach_task_self(), src.addr, len, dst.addr)); });
  EXPECT_EQ(std::memcmp(dst.p(), src.p(), len), 0);
  vm_offset_t data = 0;
  mach_msg_type_number_t cnt = 0;
  double read_s = seconds([&] { ASSERT_KR(KERN_SUCCESS, mach_vm_read(mach_task_self(), src.addr, len, &data, &cnt)); });
  EXPECT_EQ(std::memcmp(reinterpret_cast<void*>(data), src.p(), len), 0);
  mach_vm_deallocate(mach_task_self(), data, cnt);
  std::printf("[bench] vm_copy 64 MiB: %.2f ms vs memcpy %.2f ms  ratio %.2f\n", copy_s * 1e3, memcpy_s * 1e3,
              copy_s / memcpy_s);
  std::printf("[bench] vm_read 64 MiB: %.2f ms vs memcpy %.2f ms  ratio %.2f\n", read_s * 1e3, memcpy_s * 1e3,
              read_s / memcpy_s);
}

TEST(Bench, RegionWalkOfTenThousandRegions) {
  constexpr int n = 10000;
  std::vector<mach_vm_address_t> addrs(n);
  for (int i = 0; i < n; ++i)
    ASSERT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &addrs[i], page(), VM_FLAGS_ANYWHERE));
  std::set<mach_vm_address_t> want(addrs.begin(), addrs.end());
  size_t seen = 0, calls = 0;
  double walk = seconds([&] {
    mach_vm_address_t a = *want.begin();
    while (a <= *want.rbegin()) {
      mach_vm_size_t s = 0;
      kern_return_t kr;
      basic_info(a, s, &kr);
      if (kr != KERN_SUCCESS) break;
      ++calls;
      if (want.count(a)) ++seen;
      a += s;
    }
  });
  EXPECT_EQ(seen, static_cast<size_t>(n));
  std::printf("[bench] vm_region walk: %zu regions (%zu calls) in %.2f ms, %.2f us per call\n", seen, calls,
              walk * 1e3, walk / static_cast<double>(calls) * 1e6);
  for (auto a : addrs) mach_vm_deallocate(mach_task_self(), a, page());
}

}  // namespace
