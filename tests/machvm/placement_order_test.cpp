// Where ANYWHERE puts things, as XNU does it: first fit, searching upward
// from the map's low end (or from the hint for mach_vm_map), so successive
// allocations ascend and a freed gap is reused first. FIXED never replaces
// anything, and ANYWHERE never lands on a mapping another thread just made.
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "machvm/vm_test_util.h"

using namespace vmtest;

namespace {

TEST(Placement, SuccessiveAnywhereAllocationsAscend) {
  mach_vm_address_t a = 0, b = 0, c = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &a, 4 * page(), VM_FLAGS_ANYWHERE));
  ASSERT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &b, 4 * page(), VM_FLAGS_ANYWHERE));
  EXPECT_GT(b, a) << "the second of two ANYWHERE allocations lies above the first";
  // mach_vm_map without a hint searches the same way.
  // (Same sizes: a smaller request may rightly fit a gap below both.)
  ASSERT_KR(KERN_SUCCESS, mach_vm_map(mach_task_self(), &c, 4 * page(), 0, VM_FLAGS_ANYWHERE, MACH_PORT_NULL, 0, FALSE,
                                      VM_PROT_DEFAULT, VM_PROT_ALL, VM_INHERIT_DEFAULT));
  EXPECT_GT(c, b);
  // A freed range is the first fit again.
  ASSERT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), a, 4 * page()));
  mach_vm_address_t d = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &d, 4 * page(), VM_FLAGS_ANYWHERE));
  EXPECT_LE(d, a) << "first fit reuses the lowest gap that is large enough";
  // The allocation ignores whatever *address held (XNU starts at the map's
  // low end for mach_vm_allocate).
  mach_vm_address_t e = b + 64 * page();
  ASSERT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &e, page(), VM_FLAGS_ANYWHERE));
  EXPECT_LT(e, b + 64 * page());
  for (mach_vm_address_t x : {b, d, e}) mach_vm_deallocate(mach_task_self(), x, 4 * page());
  mach_vm_deallocate(mach_task_self(), c, 4 * page());
}

TEST(Placement, AnywhereSkipsMappingsWeDidNotMake) {
  // Find where the next allocation would go, then take that spot with a
  // plain mmap: the allocation must land elsewhere and leave it intact.
  mach_vm_address_t probe = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &probe, 8 * page(), VM_FLAGS_ANYWHERE));
  ASSERT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), probe, 8 * page()));
  void* m = mmap(reinterpret_cast<void*>(probe), 2 * page(), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  ASSERT_EQ(m, reinterpret_cast<void*>(probe));
  std::memset(m, 0x5a, 2 * page());
  mach_vm_address_t a = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &a, 8 * page(), VM_FLAGS_ANYWHERE));
  EXPECT_TRUE(a >= probe + 2 * page() || a + 8 * page() <= probe) << "overlaps a mapping we did not make";
  EXPECT_EQ(static_cast<unsigned char*>(m)[page() + 3], 0x5a);
  mach_vm_deallocate(mach_task_self(), a, 8 * page());
  munmap(m, 2 * page());
}

// Threads allocate ANYWHERE while another thread keeps taking the spot
// just above the last allocation with raw mmaps: no result may overlap
// another, and no raw mapping may be replaced (its bytes survive).
TEST(Placement, RacingRawMmapsAreNeverReplacedAndResultsNeverOverlap) {
  constexpr int kThreads = 3, kRounds = 150;
  std::atomic<uint64_t> last_end{0};
  std::atomic<bool> stop{false};
  std::vector<std::pair<void*, char>> raw;
  std::thread squatter([&] {
    char tag = 1;
    while (!stop.load()) {
      uint64_t at = last_end.load();
      if (!at) continue;
      void* m = mmap(reinterpret_cast<void*>(at), page(), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
      if (m == MAP_FAILED) continue;
      if (m != reinterpret_cast<void*>(at)) {
        munmap(m, page());
        continue;
      }
      std::memset(m, tag, page());
      raw.emplace_back(m, tag);
      tag = static_cast<char>(tag % 120 + 1);
      if (raw.size() > 400) break;
    }
  });
  std::vector<std::vector<std::pair<uint64_t, uint64_t>>> got(kThreads);
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        mach_vm_address_t a = 0;
        const uint64_t len = (1 + (i % 3)) * page();
        if (mach_vm_allocate(mach_task_self(), &a, len, VM_FLAGS_ANYWHERE) != KERN_SUCCESS) continue;
        std::memset(reinterpret_cast<void*>(a), 0x70 + t, len);
        last_end.store(a + len);
        got[t].emplace_back(a, a + len);
      }
    });
  for (auto& th : ts) th.join();
  stop = true;
  squatter.join();
  std::vector<std::pair<uint64_t, uint64_t>> all;
  for (int t = 0; t < kThreads; ++t) {
    for (auto [s, e] : got[t]) {
      EXPECT_EQ(reinterpret_cast<unsigned char*>(s)[0], 0x70 + t) << "an allocation's bytes changed";
      all.emplace_back(s, e);
    }
  }
  for (auto [m, tag] : raw) {
    EXPECT_EQ(static_cast<char*>(m)[7], tag) << "a raw mapping was replaced";
    all.emplace_back(reinterpret_cast<uint64_t>(m), reinterpret_cast<uint64_t>(m) + page());
  }
  std::sort(all.begin(), all.end());
  for (size_t i = 1; i < all.size(); ++i) EXPECT_LE(all[i - 1].second, all[i].first) << "overlapping ranges";
  for (int t = 0; t < kThreads; ++t)
    for (auto [s, e] : got[t]) mach_vm_deallocate(mach_task_self(), s, e - s);
  for (auto [m, tag] : raw) munmap(m, page());
}

// vm_allocation.c, test_deallocate_rounded_zero_end_ranges: ranges whose
// end rounds up to 0 are a successful no-op.
TEST(Deallocate, RangesWhoseEndRoundsToZeroSucceedAndRemoveNothing) {
  Alloc keep(page());
  keep.p()[0] = 42;
  const uint64_t M = UINT64_MAX, P = page();
  const std::pair<uint64_t, uint64_t> ranges[] = {
      {0, M},          {0, M - P + 2}, {1, M - 1}, {1, M - P + 1}, {2, M - 2}, {2, M - P},
      {M - P + 1, P - 1}, {M - P + 1, 1}, {M - 1, 1},
  };
  for (auto [a, s] : ranges)
    EXPECT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), a, s)) << std::hex << a << " +" << s;
  EXPECT_EQ(keep.p()[0], 42) << "nothing was removed";
}

// vm_allocation.c (xnu-10002) memory_entry(): a named entry whose size
// rounds up to 0 is made, with size 0; mapping it is refused.
TEST(MemoryEntry, NamedCreateOfASizeRoundingToZeroIsAnEmptyEntry) {
  for (uint64_t size : {UINT64_MAX, UINT64_MAX - page() + 2}) {
    memory_object_size_t s = size;
    mach_port_t h = MACH_PORT_NULL;
    ASSERT_KR(KERN_SUCCESS, mach_make_memory_entry_64(mach_task_self(), &s, 0, MAP_MEM_NAMED_CREATE | VM_PROT_ALL, &h,
                                                      MACH_PORT_NULL));
    EXPECT_EQ(s, 0u);
    EXPECT_NE(h, static_cast<mach_port_t>(MACH_PORT_NULL));
    mach_vm_address_t a = 0;
    EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_map(mach_task_self(), &a, size, 0, VM_FLAGS_ANYWHERE, h, 0, FALSE,
                                                 VM_PROT_DEFAULT, VM_PROT_ALL, VM_INHERIT_DEFAULT));
    EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_map(mach_task_self(), &a, page(), 0, VM_FLAGS_ANYWHERE, h, 0, FALSE,
                                                 VM_PROT_DEFAULT, VM_PROT_ALL, VM_INHERIT_DEFAULT));
    EXPECT_KR(KERN_SUCCESS, mach_port_deallocate(mach_task_self(), h));
  }
}

}  // namespace
