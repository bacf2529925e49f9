// mach_vm_remap / remap_new: shared views and snapshots.
#include <sys/mman.h>

#include "machvm/vm_test_util.h"

using namespace vmtest;

namespace {

kern_return_t remap(mach_vm_address_t* dst, mach_vm_size_t size, int flags, mach_vm_address_t src, boolean_t copy,
                    vm_prot_t* cur, vm_prot_t* max) {
  return mach_vm_remap(mach_task_self(), dst, size, 0, flags, mach_task_self(), src, copy, cur, max,
                       VM_INHERIT_DEFAULT);
}

TEST(Remap, ShareSeesWritesBothWays) {
  Alloc al(3 * page());
  mach_vm_address_t b = 0;
  vm_prot_t cur = 0, max = 0;
  ASSERT_KR(KERN_SUCCESS, remap(&b, 3 * page(), VM_FLAGS_ANYWHERE, al.addr, FALSE, &cur, &max));
  EXPECT_EQ(cur, VM_PROT_DEFAULT);
  EXPECT_EQ(max, VM_PROT_ALL);
  std::strcpy(al.p() + 2 * page(), "one");
  EXPECT_STREQ(reinterpret_cast<char*>(b + 2 * page()), "one");
  std::strcpy(reinterpret_cast<char*>(b), "two");
  EXPECT_STREQ(al.p(), "two");
  mach_vm_address_t r = al.addr;
  mach_vm_size_t s = 0;
  EXPECT_TRUE(basic_info(r, s).shared);
  mach_vm_deallocate(mach_task_self(), b, 3 * page());
}

TEST(Remap, CopyIsASnapshotBothWays) {
  // A plain MAP_PRIVATE of the source's file would fail this: pages not yet
  // written through the copy keep following the source.
  Alloc al(2 * page());
  std::strcpy(al.p(), "before");
  std::strcpy(al.p() + page(), "page two");
  mach_vm_address_t b = 0;
  vm_prot_t cur = 0, max = 0;
  ASSERT_KR(KERN_SUCCESS, remap(&b, 2 * page(), VM_FLAGS_ANYWHERE, al.addr, TRUE, &cur, &max));
  std::strcpy(al.p(), "after");
  std::strcpy(al.p() + page(), "changed");
  EXPECT_STREQ(reinterpret_cast<char*>(b), "before");
  EXPECT_STREQ(reinterpret_cast<char*>(b + page()), "page two");
  std::strcpy(reinterpret_cast<char*>(b), "copy");
  EXPECT_STREQ(al.p(), "after");
  mach_vm_deallocate(mach_task_self(), b, 2 * page());
}

TEST(Remap, PrivateMapOfASharedFileIsNotASnapshot) {
  // Documents why snapshots are eager copies here: this is what Linux's
  // MAP_PRIVATE gives, and it is not XNU's copy semantics.
  int fd = memfd_create("t", 0);
  ASSERT_EQ(ftruncate(fd, page()), 0);
  auto* shared = static_cast<char*>(mmap(nullptr, page(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  auto* priv = static_cast<char*>(mmap(nullptr, page(), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
  std::strcpy(shared, "later write");
  EXPECT_STREQ(priv, "later write");
  munmap(shared, page());
  munmap(priv, page());
  close(fd);
}

TEST(Remap, ReportsTheAndOfSourceProtections) {
  Alloc al(2 * page());
  ASSERT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), al.addr + page(), page(), TRUE, VM_PROT_READ));
  mach_vm_address_t b = 0;
  vm_prot_t cur = 0, max = 0;
  ASSERT_KR(KERN_SUCCESS, remap(&b, 2 * page(), VM_FLAGS_ANYWHERE, al.addr, FALSE, &cur, &max));
  EXPECT_EQ(cur, VM_PROT_READ);
  EXPECT_EQ(max, VM_PROT_READ);
  // Each part keeps its own protection.
  EXPECT_FALSE(faults([&] { touch_write(b); }));
  EXPECT_TRUE(faults([&] { touch_write(b + page()); }));
  mach_vm_deallocate(mach_task_self(), b, 2 * page());
}

TEST(Remap, CopyKeepsEachPartsProtection) {
  Alloc al(2 * page());
  ASSERT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), al.addr + page(), page(), FALSE, VM_PROT_READ));
  mach_vm_address_t b = 0;
  vm_prot_t cur = 0, max = 0;
  ASSERT_KR(KERN_SUCCESS, remap(&b, 2 * page(), VM_FLAGS_ANYWHERE, al.addr, TRUE, &cur, &max));
  EXPECT_EQ(cur, VM_PROT_READ);
  EXPECT_FALSE(faults([&] { touch_write(b); }));
  EXPECT_TRUE(faults([&] { touch_write(b + page()); }));
  mach_vm_deallocate(mach_task_self(), b, 2 * page());
}

TEST(Remap, ZeroAndOverflowingSizesAreInvalidArgument) {
  Alloc al(page());
  mach_vm_address_t b = 0;
  vm_prot_t cur, max;
  EXPECT_KR(KERN_INVALID_ARGUMENT, remap(&b, 0, VM_FLAGS_ANYWHERE, al.addr, FALSE, &cur, &max));
  EXPECT_KR(KERN_INVALID_ARGUMENT, remap(&b, static_cast<mach_vm_size_t>(-2), VM_FLAGS_ANYWHERE, al.addr, FALSE, &cur, &max));
  EXPECT_KR(KERN_INVALID_ARGUMENT, remap(&b, page(), VM_FLAGS_ANYWHERE | VM_FLAGS_PURGABLE, al.addr, FALSE, &cur, &max));
}

TEST(Remap, HoleInSourceIsInvalidAddress) {
  Alloc al(3 * page());
  ASSERT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), al.addr + page(), page()));
  mach_vm_address_t b = 0;
  vm_prot_t cur, max;
  EXPECT_KR(KERN_INVALID_ADDRESS, remap(&b, 3 * page(), VM_FLAGS_ANYWHERE, al.addr, FALSE, &cur, &max));
  EXPECT_KR(KERN_INVALID_ADDRESS, remap(&b, 3 * page(), VM_FLAGS_ANYWHERE, al.addr, TRUE, &cur, &max));
}

TEST(Remap, FixedOnOccupiedIsNoSpaceOverwriteReplaces) {
  Alloc src(page()), dst(page());
  std::strcpy(src.p(), "source");
  std::strcpy(dst.p(), "target");
  mach_vm_address_t b = dst.addr;
  vm_prot_t cur, max;
  EXPECT_KR(KERN_NO_SPACE, remap(&b, page(), VM_FLAGS_FIXED, src.addr, FALSE, &cur, &max));
  EXPECT_STREQ(dst.p(), "target");
  ASSERT_KR(KERN_SUCCESS, remap(&b, page(), VM_FLAGS_FIXED | VM_FLAGS_OVERWRITE, src.addr, FALSE, &cur, &max));
  EXPECT_STREQ(dst.p(), "source");
  std::strcpy(dst.p(), "shared now");
  EXPECT_STREQ(src.p(), "shared now");
}

TEST(Remap, LegacyRoundingAndReturnDataAddr) {
  Alloc al(3 * page());
  std::strcpy(al.p() + page() + 16, "xyz");
  vm_prot_t cur, max;
  // Legacy: source truncated, size rounded on its own: covers one page only.
  mach_vm_address_t b = 0;
  ASSERT_KR(KERN_SUCCESS, remap(&b, 32, VM_FLAGS_ANYWHERE, al.addr + 2 * page() - 16, FALSE, &cur, &max));
  EXPECT_EQ(b % page(), 0u);
  mach_vm_address_t r = b;
  mach_vm_size_t s = 0;
  basic_info(r, s);
  EXPECT_EQ(s, page());
  mach_vm_deallocate(mach_task_self(), b, page());
  // RETURN_DATA_ADDR: the address of the data itself, both pages covered.
  mach_vm_address_t c = 0;
  ASSERT_KR(KERN_SUCCESS, remap(&c, 32, VM_FLAGS_ANYWHERE | VM_FLAGS_RETURN_DATA_ADDR, al.addr + page() + 16, FALSE,
                                &cur, &max));
  EXPECT_EQ(c % page(), 16u);
  EXPECT_STREQ(reinterpret_cast<char*>(c), "xyz");
  mach_vm_deallocate(mach_task_self(), c, 32);
}

TEST(Remap, RemapNewChecksRequestedProtections) {
  Alloc al(page());
  ASSERT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), al.addr, page(), TRUE, VM_PROT_READ));
  mach_vm_address_t b = 0;
  vm_prot_t cur = VM_PROT_DEFAULT, max = VM_PROT_DEFAULT;
  EXPECT_KR(KERN_PROTECTION_FAILURE, mach_vm_remap_new(mach_task_self(), &b, page(), 0, VM_FLAGS_ANYWHERE,
                                                       mach_task_self(), al.addr, FALSE, &cur, &max,
                                                       VM_INHERIT_DEFAULT));
  cur = VM_PROT_DEFAULT;
  max = VM_PROT_DEFAULT;
  ASSERT_KR(KERN_SUCCESS, mach_vm_remap_new(mach_task_self(), &b, page(), 0, VM_FLAGS_ANYWHERE, mach_task_self(),
                                           al.addr, TRUE, &cur, &max, VM_INHERIT_DEFAULT))
      << "a copy only needs read access to the source";
  touch_write(b);
  mach_vm_deallocate(mach_task_self(), b, page());
  cur = VM_PROT_READ;
  max = VM_PROT_ALL;
  EXPECT_KR(KERN_PROTECTION_FAILURE, mach_vm_remap_new(mach_task_self(), &b, page(), 0, VM_FLAGS_ANYWHERE,
                                                       mach_task_self(), al.addr, TRUE, &cur, &max,
                                                       VM_INHERIT_DEFAULT));
}

TEST(Remap, CopyOfPurgeableTwiceAndCowBeforeZeroFillRead) {
  // copy_none_use_pmap and vm_test_cow_before_zf_read.
  mach_vm_address_t a = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &a, 4 * page(), VM_FLAGS_ANYWHERE | VM_FLAGS_PURGABLE));
  vm_prot_t cur, max;
  mach_vm_address_t c1 = 0, c2 = 0;
  ASSERT_KR(KERN_SUCCESS, remap(&c1, 4 * page(), VM_FLAGS_ANYWHERE, a, TRUE, &cur, &max));
  ASSERT_KR(KERN_SUCCESS, remap(&c2, 4 * page(), VM_FLAGS_ANYWHERE, a, TRUE, &cur, &max));
  touch_write(a, 5);
  EXPECT_EQ(*reinterpret_cast<char*>(c1), 0);
  EXPECT_EQ(*reinterpret_cast<char*>(c2), 0);
  for (auto x : {a, c1, c2}) mach_vm_deallocate(mach_task_self(), x, 4 * page());
}

TEST(Remap, PrivateMemoryWeDidNotCreateCanOnlyBeCopied) {
  void* m = mmap(nullptr, page(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  *static_cast<int*>(m) = 7;
  mach_vm_address_t b = 0;
  vm_prot_t cur, max;
  EXPECT_KR(KERN_NOT_SUPPORTED, remap(&b, page(), VM_FLAGS_ANYWHERE, reinterpret_cast<uint64_t>(m), FALSE, &cur, &max));
  ASSERT_KR(KERN_SUCCESS, remap(&b, page(), VM_FLAGS_ANYWHERE, reinterpret_cast<uint64_t>(m), TRUE, &cur, &max));
  EXPECT_EQ(*reinterpret_cast<int*>(b), 7);
  mach_vm_deallocate(mach_task_self(), b, page());
  munmap(m, page());
}

TEST(Remap, ReleasingOneOfTwoAddressesOfAPageInOneViewKeepsItsContents) {
  // Found by the model test: [x][x] (two views of page x side by side) is
  // remapped as one new view; once the old views are gone, deallocating the
  // first copy of x in the new view must not give x's pages back, the
  // second still shows them.
  Alloc x(page());
  std::strcpy(x.p(), "still here");
  mach_vm_address_t pair = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &pair, 2 * page(), VM_FLAGS_ANYWHERE));
  vm_prot_t cur, max;
  for (mach_vm_address_t at : {pair, pair + page()})
    ASSERT_KR(KERN_SUCCESS, remap(&at, page(), VM_FLAGS_FIXED | VM_FLAGS_OVERWRITE, x.addr, FALSE, &cur, &max));
  mach_vm_address_t v = 0;
  ASSERT_KR(KERN_SUCCESS, remap(&v, 2 * page(), VM_FLAGS_ANYWHERE, pair, FALSE, &cur, &max));
  ASSERT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), pair, 2 * page()));
  ASSERT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), x.addr, page()));
  x.addr = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), v, page()));
  EXPECT_STREQ(reinterpret_cast<char*>(v + page()), "still here");
  mach_vm_deallocate(mach_task_self(), v + page(), page());
}

}  // namespace
