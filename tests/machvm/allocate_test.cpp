// mach_vm_allocate / mach_vm_deallocate, ported from the cases of XNU's
// tests/vm/vm_allocation.c (sizes x FIXED/ANYWHERE x aligned/unaligned).
#include <sys/mman.h>

#include <thread>
#include <vector>

#include "machvm/vm_test_util.h"

using namespace vmtest;

namespace {

const mach_vm_size_t kSizes[] = {4 << 20, 4096, 1, 4095, 4097, 3 * 4096 + 17};

TEST(Allocate, AnywhereIsZeroFilledAndWritable) {
  for (mach_vm_size_t size : kSizes) {
    mach_vm_address_t a = 0;
    ASSERT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &a, size, VM_FLAGS_ANYWHERE));
    EXPECT_EQ(a % page(), 0u);
    mach_vm_size_t rounded = mach_vm_round_page(size);
    auto* p = reinterpret_cast<unsigned char*>(a);
    for (mach_vm_size_t i = 0; i < rounded; i += 512) EXPECT_EQ(p[i], 0) << "size " << size << " at " << i;
    std::memset(p, 0xA5, rounded);
    EXPECT_EQ(p[rounded - 1], 0xA5);
    ASSERT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), a, size));
    EXPECT_TRUE(faults([&] { touch_read(a); })) << "memory still readable after deallocate";
  }
}

TEST(Allocate, FixedAlignedAndUnaligned) {
  for (mach_vm_size_t size : kSizes) {
    for (uint64_t misalign : {uint64_t{0}, uint64_t{1}}) {
      // Find a free spot, free it, then ask for it FIXED.
      mach_vm_address_t base = 0;
      mach_vm_size_t span = mach_vm_round_page(size) + 2 * page();
      ASSERT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &base, span, VM_FLAGS_ANYWHERE));
      ASSERT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), base, span));
      mach_vm_address_t a = base + page() + misalign;
      ASSERT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &a, size, VM_FLAGS_FIXED));
      // FIXED truncates the start first and then rounds trunc(start)+size up
      // (XNU's REALIGN_START): 0x1001 + 0x1000 is one page.
      EXPECT_EQ(a, base + page()) << "FIXED returns the page-aligned start";
      mach_vm_address_t r = base + page();
      mach_vm_size_t rs = 0;
      basic_info(r, rs);
      EXPECT_EQ(r, base + page());
      EXPECT_EQ(rs, mach_vm_round_page(size)) << "size " << size << " misalign " << misalign;
      touch_write(a + size - 1);
      ASSERT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), base + page(), size));
    }
  }
}

TEST(Allocate, ZeroSizeSucceedsAndReturnsZero) {
  mach_vm_address_t a = 0x1234000;
  EXPECT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &a, 0, VM_FLAGS_ANYWHERE));
  EXPECT_EQ(a, 0u);
}

TEST(Allocate, FixedOnEveryAllocatedPageIsNoSpace) {
  Alloc al(8 * page());
  char before = 0x5C;
  al.p()[3 * page()] = before;
  for (uint64_t off = 0; off < al.size; off += page()) {
    mach_vm_address_t a = al.addr + off;
    EXPECT_KR(KERN_NO_SPACE, mach_vm_allocate(mach_task_self(), &a, page(), VM_FLAGS_FIXED));
  }
  // Overlapping only the last page.
  mach_vm_address_t a = al.addr - page();
  if (a) {
    EXPECT_NE(mach_vm_allocate(mach_task_self(), &a, 2 * page(), VM_FLAGS_FIXED), KERN_SUCCESS);
  }
  EXPECT_EQ(al.p()[3 * page()], before) << "a refused FIXED allocation must not clobber";
}

TEST(Allocate, FixedOverForeignMappingIsNoSpaceAndKeepsIt) {
  void* m = mmap(nullptr, page(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(m, MAP_FAILED);
  *static_cast<int*>(m) = 42;
  mach_vm_address_t a = reinterpret_cast<uint64_t>(m);
  EXPECT_KR(KERN_NO_SPACE, mach_vm_allocate(mach_task_self(), &a, page(), VM_FLAGS_FIXED));
  EXPECT_EQ(*static_cast<int*>(m), 42);
  munmap(m, page());
}

TEST(Allocate, OverflowingAndHugeSizes) {
  mach_vm_address_t a = 0;
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_allocate(mach_task_self(), &a, UINT64_MAX, VM_FLAGS_ANYWHERE));
  a = 0;
  EXPECT_KR(KERN_NO_SPACE, mach_vm_allocate(mach_task_self(), &a, UINT64_MAX - page() + 1, VM_FLAGS_ANYWHERE));
  a = 0;
  EXPECT_KR(KERN_NO_SPACE, mach_vm_allocate(mach_task_self(), &a, 1ULL << 62, VM_FLAGS_ANYWHERE));
}

TEST(Allocate, FixedAtZeroOrAboveUserSpaceIsInvalidAddress) {
  mach_vm_address_t a = 0;
  EXPECT_KR(KERN_INVALID_ADDRESS, mach_vm_allocate(mach_task_self(), &a, page(), VM_FLAGS_FIXED));
  a = 0xFFFF800000000000ULL;
  EXPECT_KR(KERN_INVALID_ADDRESS, mach_vm_allocate(mach_task_self(), &a, page(), VM_FLAGS_FIXED));
}

TEST(Allocate, UnknownFlagsAndBadSuperpageCombosAreInvalidArgument) {
  mach_vm_address_t a = 0;
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_allocate(mach_task_self(), &a, page(), VM_FLAGS_ANYWHERE | 0x200));
  EXPECT_KR(KERN_INVALID_ARGUMENT,
            mach_vm_allocate(mach_task_self(), &a, page(), VM_FLAGS_ANYWHERE | VM_FLAGS_RETURN_DATA_ADDR));
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_allocate(mach_task_self(), &a, page(),
                                                    VM_FLAGS_ANYWHERE | VM_FLAGS_SUPERPAGE_SIZE_2MB | VM_FLAGS_PURGABLE));
  EXPECT_EQ(a, 0u) << "a refused call leaves the address alone";
}

TEST(Allocate, SuperpageIsTwoMegabyteAligned) {
  mach_vm_address_t a = 0;
  ASSERT_KR(KERN_SUCCESS,
            mach_vm_allocate(mach_task_self(), &a, 4 << 20, VM_FLAGS_ANYWHERE | VM_FLAGS_SUPERPAGE_SIZE_2MB));
  EXPECT_EQ(a % (2 << 20), 0u);
  touch_write(a + (3 << 20));
  EXPECT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), a, 4 << 20));
}

TEST(Allocate, InvalidTaskIsInvalidDest) {
  mach_vm_address_t a = 0;
  EXPECT_KR(MACH_SEND_INVALID_DEST, mach_vm_allocate(VM_MAP_NULL, &a, page(), VM_FLAGS_ANYWHERE));
  EXPECT_KR(MACH_SEND_INVALID_DEST, mach_vm_allocate(0xDEAD0003, &a, page(), VM_FLAGS_ANYWHERE));
  EXPECT_KR(MACH_SEND_INVALID_DEST, mach_vm_deallocate(VM_MAP_NULL, 0, page()));
  EXPECT_KR(MACH_SEND_INVALID_DEST, mach_vm_protect(VM_MAP_NULL, 0, page(), FALSE, VM_PROT_READ));
}

TEST(Allocate, TagIsReportedByRegion) {
  mach_vm_address_t a = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &a, page(),
                                          VM_FLAGS_ANYWHERE | VM_MAKE_TAG((VM_MEMORY_APPLICATION_SPECIFIC_1 + 2))));
  vm_region_extended_info_data_t x{};
  mach_msg_type_number_t count = VM_REGION_EXTENDED_INFO_COUNT;
  mach_vm_address_t r = a;
  mach_vm_size_t s = 0;
  mach_port_t obj;
  ASSERT_KR(KERN_SUCCESS, mach_vm_region(mach_task_self(), &r, &s, VM_REGION_EXTENDED_INFO,
                                        reinterpret_cast<vm_region_info_t>(&x), &count, &obj));
  EXPECT_EQ(x.user_tag, static_cast<unsigned>((VM_MEMORY_APPLICATION_SPECIFIC_1 + 2)));
  mach_vm_deallocate(mach_task_self(), a, page());
}

TEST(Allocate, VmAllocateTwinWorks) {
  vm_address_t a = 0;
  ASSERT_KR(KERN_SUCCESS, vm_allocate(mach_task_self(), &a, 3 * vm_page_size, VM_FLAGS_ANYWHERE));
  std::memset(reinterpret_cast<void*>(a), 7, 3 * vm_page_size);
  EXPECT_KR(KERN_SUCCESS, vm_deallocate(mach_task_self(), a, 3 * vm_page_size));
}

TEST(Allocate, ManyThreadsNeverGetOverlappingRanges) {
  constexpr int kThreads = 8, kPer = 200;
  std::vector<std::vector<mach_vm_address_t>> got(kThreads);
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < kPer; ++i) {
        mach_vm_address_t a = 0;
        if (mach_vm_allocate(mach_task_self(), &a, 2 * page(), VM_FLAGS_ANYWHERE) != KERN_SUCCESS) continue;
        // Stamp both pages with our identity; an overlap would be overwritten.
        reinterpret_cast<int*>(a)[0] = t * kPer + i;
        reinterpret_cast<int*>(a + page())[0] = t * kPer + i;
        got[t].push_back(a);
        if (i % 3 == 0) {
          mach_vm_protect(mach_task_self(), a + page(), page(), FALSE, VM_PROT_READ);
          mach_vm_protect(mach_task_self(), a + page(), page(), FALSE, VM_PROT_DEFAULT);
        }
      }
    });
  for (auto& th : ts) th.join();
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(got[t].size(), static_cast<size_t>(kPer));
    for (int i = 0; i < kPer; ++i) {
      EXPECT_EQ(reinterpret_cast<int*>(got[t][i])[0], t * kPer + i);
      EXPECT_EQ(reinterpret_cast<int*>(got[t][i] + page())[0], t * kPer + i);
      EXPECT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), got[t][i], 2 * page()));
    }
  }
}

TEST(Deallocate, ZeroSizeAnywhereSucceeds) {
  for (mach_vm_address_t a : std::initializer_list<mach_vm_address_t>{0ULL, 1ULL, 0x1000ULL, 0x7fff0000ULL, UINT64_MAX, UINT64_MAX - 4095, 0x123456789ULL,
                              1ULL << 47, 1ULL << 63})
    EXPECT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), a, 0)) << std::hex << a;
}

TEST(Deallocate, TwiceSucceeds) {
  mach_vm_address_t a = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &a, 4 * page(), VM_FLAGS_ANYWHERE));
  EXPECT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), a, 4 * page()));
  EXPECT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), a, 4 * page()));
}

TEST(Deallocate, WrappingRangesAreInvalidArgument) {
  const uint64_t top = UINT64_MAX - page() + 1;
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_deallocate(mach_task_self(), 1, UINT64_MAX));
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_deallocate(mach_task_self(), page(), top));
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_deallocate(mach_task_self(), top, page()));
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_deallocate(mach_task_self(), UINT64_MAX, 1));
}

TEST(Deallocate, MiddleSplitsTheRegion) {
  Alloc al(3 * page());
  al.p()[0] = 1;
  al.p()[2 * page()] = 3;
  ASSERT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), al.addr + page(), page()));
  EXPECT_TRUE(faults([&] { touch_read(al.addr + page()); }));
  EXPECT_EQ(al.p()[0], 1);
  EXPECT_EQ(al.p()[2 * page()], 3);
  mach_vm_address_t r = al.addr;
  mach_vm_size_t s = 0;
  basic_info(r, s);
  EXPECT_EQ(r, al.addr);
  EXPECT_EQ(s, page());
  r = al.addr + page();
  basic_info(r, s);
  EXPECT_EQ(r, al.addr + 2 * page()) << "region lookup in a hole returns the next region";
}

TEST(Deallocate, UnmapsMemoryWeDidNotCreate) {
  void* m = mmap(nullptr, 2 * page(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(m, MAP_FAILED);
  uint64_t a = reinterpret_cast<uint64_t>(m);
  ASSERT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), a, 2 * page()));
  EXPECT_TRUE(faults([&] { touch_read(a); }));
}

}  // namespace

namespace {

TEST(Allocate, PermanentRegionsSurviveDeallocateAndOverwrite) {
  // tests/vm/vm_user.c: a permanent entry cannot be removed or replaced;
  // deallocating it only takes its access away.
  mach_vm_address_t a = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &a, page(), VM_FLAGS_ANYWHERE | VM_FLAGS_PERMANENT));
  touch_write(a, 3);
  mach_vm_address_t b = a;
  EXPECT_KR(KERN_NO_SPACE, mach_vm_allocate(mach_task_self(), &b, page(), VM_FLAGS_FIXED | VM_FLAGS_OVERWRITE));
  EXPECT_EQ(*reinterpret_cast<char*>(a), 3);
  EXPECT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), a, page()));
  EXPECT_TRUE(faults([&] { touch_read(a); }));
  mach_vm_address_t r = a;
  mach_vm_size_t s = 0;
  auto info = basic_info(r, s);
  EXPECT_EQ(r, a);
  EXPECT_EQ(info.max_protection, VM_PROT_NONE);
  EXPECT_KR(KERN_PROTECTION_FAILURE, mach_vm_protect(mach_task_self(), a, page(), FALSE, VM_PROT_READ));
}

}  // namespace
