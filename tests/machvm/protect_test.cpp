// mach_vm_protect: maximum protection, all-or-nothing range checks, faults
// as a user sees them.
#include <sys/mman.h>

#include "machvm/vm_test_util.h"

using namespace vmtest;

namespace {

TEST(Protect, ZeroSizeSucceedsAnywhere) {
  for (mach_vm_address_t a : std::initializer_list<mach_vm_address_t>{0ULL, 0x1000ULL, UINT64_MAX, 1ULL << 63})
    EXPECT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), a, 0, FALSE, VM_PROT_NONE));
}

TEST(Protect, WrappingRangesAreInvalidArgument) {
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_protect(mach_task_self(), 1, UINT64_MAX, FALSE, VM_PROT_READ));
  EXPECT_KR(KERN_INVALID_ARGUMENT,
            mach_vm_protect(mach_task_self(), UINT64_MAX - page() + 1, page(), FALSE, VM_PROT_READ));
}

TEST(Protect, UnknownBitsAreInvalidArgument) {
  Alloc al(page());
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_protect(mach_task_self(), al.addr, page(), FALSE, 0x400));
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_protect(mach_task_self(), al.addr, page(), FALSE, VM_PROT_IS_MASK));
}

TEST(Protect, ReadOnlyFaultsOnWriteNoneFaultsOnRead) {
  Alloc al(2 * page());
  al.p()[0] = 9;
  ASSERT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), al.addr, page(), FALSE, VM_PROT_READ));
  EXPECT_TRUE(faults([&] { touch_write(al.addr); }));
  EXPECT_FALSE(faults([&] { touch_read(al.addr); }));
  EXPECT_EQ(al.p()[0], 9);
  ASSERT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), al.addr, page(), FALSE, VM_PROT_NONE));
  EXPECT_TRUE(faults([&] { touch_read(al.addr); }));
  EXPECT_FALSE(faults([&] { touch_write(al.addr + page()); })) << "the second page keeps its protection";
  ASSERT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), al.addr, page(), FALSE, VM_PROT_DEFAULT));
  EXPECT_EQ(al.p()[0], 9);
}

TEST(Protect, MaximumOnlyShrinks) {
  Alloc al(page());
  ASSERT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), al.addr, page(), TRUE, VM_PROT_READ));
  mach_vm_address_t r = al.addr;
  mach_vm_size_t s = 0;
  auto info = basic_info(r, s);
  EXPECT_EQ(info.max_protection, VM_PROT_READ);
  EXPECT_EQ(info.protection, VM_PROT_READ) << "cur is clipped to the new maximum";
  EXPECT_KR(KERN_PROTECTION_FAILURE, mach_vm_protect(mach_task_self(), al.addr, page(), FALSE, VM_PROT_DEFAULT));
  EXPECT_KR(KERN_PROTECTION_FAILURE, mach_vm_protect(mach_task_self(), al.addr, page(), TRUE, VM_PROT_ALL));
  EXPECT_TRUE(faults([&] { touch_write(al.addr); })) << "a refused raise leaves the page read-only";
  ASSERT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), al.addr, page(), TRUE, VM_PROT_NONE));
  EXPECT_KR(KERN_PROTECTION_FAILURE, mach_vm_protect(mach_task_self(), al.addr, page(), TRUE, VM_PROT_READ));
  EXPECT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), al.addr, page(), FALSE, VM_PROT_NONE));
}

TEST(Protect, HoleAnywhereFailsAndChangesNothing) {
  Alloc al(3 * page());
  ASSERT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), al.addr + page(), page()));
  EXPECT_KR(KERN_INVALID_ADDRESS, mach_vm_protect(mach_task_self(), al.addr, 3 * page(), FALSE, VM_PROT_READ));
  EXPECT_FALSE(faults([&] { touch_write(al.addr); })) << "first page must still be writable";
  EXPECT_FALSE(faults([&] { touch_write(al.addr + 2 * page()); }));
  mach_vm_address_t r = al.addr;
  mach_vm_size_t s = 0;
  EXPECT_EQ(basic_info(r, s).protection, VM_PROT_DEFAULT);
}

TEST(Protect, MaxFailureOnOnePartChangesNothing) {
  Alloc al(2 * page());
  ASSERT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), al.addr + page(), page(), TRUE, VM_PROT_READ));
  EXPECT_KR(KERN_PROTECTION_FAILURE, mach_vm_protect(mach_task_self(), al.addr, 2 * page(), FALSE, VM_PROT_ALL));
  mach_vm_address_t r = al.addr;
  mach_vm_size_t s = 0;
  auto info = basic_info(r, s);
  EXPECT_EQ(info.protection, VM_PROT_DEFAULT);
  EXPECT_EQ(s, page());
}

TEST(Protect, SubrangeSplitsAndRestoreMerges) {
  Alloc al(4 * page());
  ASSERT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), al.addr + page(), page(), FALSE, VM_PROT_READ));
  mach_vm_address_t r = al.addr;
  mach_vm_size_t s = 0;
  basic_info(r, s);
  EXPECT_EQ(s, page());
  r = al.addr + page();
  auto info = basic_info(r, s);
  EXPECT_EQ(r, al.addr + page());
  EXPECT_EQ(s, page());
  EXPECT_EQ(info.protection, VM_PROT_READ);
  ASSERT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), al.addr + page(), page(), FALSE, VM_PROT_DEFAULT));
  r = al.addr;
  basic_info(r, s);
  EXPECT_EQ(s, 4 * page()) << "identical neighbours merge back";
}

TEST(Protect, ProtCopyMakesReadOnlySharedMemoryPrivatelyWritable) {
  // A read-only second view of some memory; VM_PROT_COPY gives this view
  // its own writable copy without changing the original.
  Alloc al(page());
  std::strcpy(al.p(), "original");
  mach_vm_address_t view = 0;
  vm_prot_t cur, max;
  ASSERT_KR(KERN_SUCCESS, mach_vm_remap(mach_task_self(), &view, page(), 0, VM_FLAGS_ANYWHERE, mach_task_self(),
                                       al.addr, FALSE, &cur, &max, VM_INHERIT_DEFAULT));
  ASSERT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), view, page(), TRUE, VM_PROT_READ));
  EXPECT_KR(KERN_PROTECTION_FAILURE, mach_vm_protect(mach_task_self(), view, page(), FALSE, VM_PROT_DEFAULT));
  ASSERT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), view, page(), FALSE, VM_PROT_DEFAULT | VM_PROT_COPY));
  std::strcpy(reinterpret_cast<char*>(view), "patched");
  EXPECT_STREQ(al.p(), "original");
  EXPECT_STREQ(reinterpret_cast<char*>(view), "patched");
  mach_vm_address_t r = view;
  mach_vm_size_t s = 0;
  EXPECT_TRUE(basic_info(r, s).max_protection & VM_PROT_WRITE);
  mach_vm_deallocate(mach_task_self(), view, page());
}

TEST(Protect, WorksOnMemoryWeDidNotCreate) {
  void* m = mmap(nullptr, page(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(m, MAP_FAILED);
  uint64_t a = reinterpret_cast<uint64_t>(m);
  ASSERT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), a, page(), FALSE, VM_PROT_READ));
  EXPECT_TRUE(faults([&] { touch_write(a); }));
  mach_vm_address_t r = a;
  mach_vm_size_t s = 0;
  EXPECT_EQ(basic_info(r, s).protection, VM_PROT_READ);
  munmap(m, page());
}

TEST(Protect, ProtCopyOnAPrivateFileMappingLikeADebuggerPatchingText) {
  // frida/debuggers: make read-only file-backed code writable with
  // VM_PROT_COPY; the file itself must not change.
  char path[] = "/tmp/machvm-text-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_EQ(pwrite(fd, "original text", 14, 0), 14);
  ASSERT_EQ(ftruncate(fd, static_cast<off_t>(page())), 0);
  auto* m = static_cast<char*>(mmap(nullptr, page(), PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0));
  ASSERT_NE(m, MAP_FAILED);
  uint64_t a = reinterpret_cast<uint64_t>(m);
  ASSERT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), a, page(), FALSE, VM_PROT_DEFAULT | VM_PROT_COPY));
  std::memcpy(m, "patched", 7);
  char buf[16] = {};
  ASSERT_EQ(pread(fd, buf, 14, 0), 14);
  EXPECT_STREQ(buf, "original text");
  EXPECT_EQ(std::memcmp(m, "patchedl text", 13), 0);
  munmap(m, page());
  close(fd);
  unlink(path);
}

}  // namespace

#if defined(__x86_64__)
namespace {

TEST(Protect, JitPatternWriteThenExecute) {
  // Allocate, write code, flip to R-X, run it.
  Alloc al(page());
  const unsigned char code[] = {0xB8, 0x2A, 0x00, 0x00, 0x00, 0xC3};  // mov eax, 42; ret
  std::memcpy(al.p(), code, sizeof code);
  ASSERT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), al.addr, page(), FALSE, VM_PROT_READ | VM_PROT_EXECUTE));
  auto fn = reinterpret_cast<int (*)()>(al.addr);
  EXPECT_EQ(fn(), 42);
  EXPECT_TRUE(faults([&] { touch_write(al.addr); }));
}

}  // namespace
#endif
