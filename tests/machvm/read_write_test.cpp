// mach_vm_read / read_list / read_overwrite / write / copy.
#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "machvm/vm_test_util.h"

using namespace vmtest;

namespace {

void fill(char* p, size_t n, char seed) {
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<char>(seed + i * 7);
}

TEST(Read, ContentsMatchForEverySizeAndOffset) {
  Alloc al(8 * page());
  fill(al.p(), al.size, 3);
  for (mach_vm_size_t size : {1ULL, 4095ULL, 4096ULL, 4097ULL, 3 * 4096ULL + 5}) {
    for (uint64_t off : {0ULL, 1ULL, 100ULL}) {
      vm_offset_t data = 0;
      mach_msg_type_number_t cnt = 0;
      ASSERT_KR(KERN_SUCCESS, mach_vm_read(mach_task_self(), al.addr + off, size, &data, &cnt));
      EXPECT_EQ(cnt, size);
      EXPECT_EQ(std::memcmp(reinterpret_cast<void*>(data), al.p() + off, size), 0) << size << "+" << off;
      if (size >= 2 * page())
        EXPECT_EQ(data % page(), off % page()) << "long reads keep the in-page offset";
      else
        EXPECT_EQ(data % page(), 0u) << "short reads are page aligned";
      EXPECT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), data, cnt));
    }
  }
}

TEST(Read, IsASnapshot) {
  Alloc al(4 * page());
  std::strcpy(al.p() + page(), "snapshot");
  vm_offset_t data = 0;
  mach_msg_type_number_t cnt = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_read(mach_task_self(), al.addr, 4 * page(), &data, &cnt));
  std::strcpy(al.p() + page(), "changed");
  EXPECT_STREQ(reinterpret_cast<char*>(data + page()), "snapshot");
  std::strcpy(reinterpret_cast<char*>(data), "mine");
  EXPECT_EQ(al.p()[0], 0);
  mach_vm_deallocate(mach_task_self(), data, cnt);
}

TEST(Read, SnapshotOfSharedEntryKeepsZeroAfterSourceWrite) {
  // vm_test_cow_before_zf_read: read before the page was ever touched, then
  // write the source; the copy stays zero.
  Alloc al(page());
  memory_object_size_t s = page();
  mach_port_t h = MACH_PORT_NULL;
  ASSERT_KR(KERN_SUCCESS, mach_make_memory_entry_64(mach_task_self(), &s, al.addr, VM_PROT_DEFAULT | MAP_MEM_VM_SHARE,
                                                   &h, MACH_PORT_NULL));
  vm_offset_t data = 0;
  mach_msg_type_number_t cnt = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_read(mach_task_self(), al.addr, page(), &data, &cnt));
  touch_write(al.addr, 1);
  EXPECT_EQ(*reinterpret_cast<char*>(data), 0);
  mach_vm_deallocate(mach_task_self(), data, cnt);
  mach_port_deallocate(mach_task_self(), h);
}

// Memory the library did not allocate (here: the C heap, whose blocks a
// sanitizer surrounds with poisoned redzones) is read as the kernel reads
// it: every byte of the named pages, with no sanitizer report. Reads of two
// pages and more take the copy path that writes task memory into a new
// object; shorter ones copy through process_vm_readv.
TEST(Read, HeapPagesOfTheCallerAreCopiedWhole) {
  const size_t n = 3 * page();
  char* p = static_cast<char*>(std::malloc(n));
  ASSERT_NE(p, nullptr);
  fill(p, n, 11);
  const uint64_t a = reinterpret_cast<uint64_t>(p);
  const uint64_t lo = a & ~(page() - 1), hi = (a + n + page() - 1) & ~(page() - 1);
  vm_offset_t data = 0;
  mach_msg_type_number_t cnt = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_read(mach_task_self(), lo, hi - lo, &data, &cnt));
  EXPECT_EQ(cnt, hi - lo);
  EXPECT_EQ(std::memcmp(reinterpret_cast<const char*>(data) + (a - lo), p, n), 0);
  EXPECT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), data, cnt));
  std::free(p);
}

TEST(Read, ErrorCodes) {
  vm_offset_t data = 0;
  mach_msg_type_number_t cnt = 0;
  EXPECT_KR(KERN_SUCCESS, mach_vm_read(mach_task_self(), 0x1000, 0, &data, &cnt));
  EXPECT_EQ(data, 0u);
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_read(mach_task_self(), 0x1000, 1ULL << 32, &data, &cnt));
  EXPECT_KR(KERN_INVALID_ADDRESS, mach_vm_read(mach_task_self(), UINT64_MAX - 10, 100, &data, &cnt));
  Alloc al(4 * page());
  ASSERT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), al.addr + page(), page()));
  EXPECT_KR(KERN_INVALID_ADDRESS, mach_vm_read(mach_task_self(), al.addr, 4 * page(), &data, &cnt));
  mach_vm_address_t again = al.addr + page();
  ASSERT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &again, page(), VM_FLAGS_FIXED));
  ASSERT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), al.addr + page(), page(), FALSE, VM_PROT_WRITE));
  EXPECT_KR(KERN_PROTECTION_FAILURE, mach_vm_read(mach_task_self(), al.addr, 4 * page(), &data, &cnt));
  EXPECT_KR(KERN_INVALID_ADDRESS, mach_vm_read(mach_task_self(), al.addr + page(), 16, &data, &cnt));
  EXPECT_KR(MACH_SEND_INVALID_DEST, mach_vm_read(VM_MAP_NULL, al.addr, 16, &data, &cnt));
}

TEST(Read, NeverFaultsOnUnmappedMemory) {
  vm_offset_t data = 0;
  mach_msg_type_number_t cnt = 0;
  EXPECT_KR(KERN_INVALID_ADDRESS, mach_vm_read(mach_task_self(), 0x10000, 64, &data, &cnt));
  void* m = mmap(nullptr, page(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  EXPECT_KR(KERN_INVALID_ADDRESS, mach_vm_read(mach_task_self(), reinterpret_cast<uint64_t>(m), 64, &data, &cnt));
  munmap(m, page());
}

TEST(ReadList, EntriesAndLimits) {
  Alloc al(2 * page());
  std::strcpy(al.p(), "first");
  std::strcpy(al.p() + page(), "second");
  mach_vm_read_entry_t list = {};
  list[0] = {al.addr, 6};
  list[1] = {0x10000, 16};  // unmapped
  list[2] = {al.addr + page(), 7};
  list[3] = {al.addr, 0};
  // XNU answers with the last entry that has a size: [2] succeeded.
  EXPECT_KR(KERN_SUCCESS, mach_vm_read_list(mach_task_self(), list, 4));
  EXPECT_STREQ(reinterpret_cast<char*>(list[0].address), "first");
  EXPECT_EQ(list[1].address, 0u);
  EXPECT_EQ(list[1].size, 0u);
  EXPECT_STREQ(reinterpret_cast<char*>(list[2].address), "second");
  EXPECT_EQ(list[3].address, 0u);
  mach_vm_deallocate(mach_task_self(), list[0].address, list[0].size);
  mach_vm_deallocate(mach_task_self(), list[2].address, list[2].size);
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_read_list(mach_task_self(), list, VM_MAP_ENTRY_MAX + 1));
  // The last sized entry fails: that is the answer, the earlier read stays.
  list[0] = {al.addr, 6};
  list[1] = {0x10000, 16};
  list[2] = {al.addr, 0};
  EXPECT_KR(KERN_INVALID_ADDRESS, mach_vm_read_list(mach_task_self(), list, 3));
  EXPECT_STREQ(reinterpret_cast<char*>(list[0].address), "first");
  mach_vm_deallocate(mach_task_self(), list[0].address, list[0].size);
}

TEST(ReadOverwrite, UnalignedOverwriteKeepsNeighbours) {
  // map_read_overwrite: copy 4 bytes short at an offset of 4; first and last
  // words of the destination must survive.
  Alloc src(page()), dst(page());
  std::memset(src.p(), 'S', page());
  std::memset(dst.p(), 'D', page());
  mach_vm_size_t out = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_read_overwrite(mach_task_self(), src.addr + 4, page() - 8, dst.addr + 4, &out));
  EXPECT_EQ(out, page() - 8);
  EXPECT_EQ(std::memcmp(dst.p(), "DDDD", 4), 0);
  EXPECT_EQ(std::memcmp(dst.p() + page() - 4, "DDDD", 4), 0);
  EXPECT_EQ(dst.p()[4], 'S');
  EXPECT_EQ(dst.p()[page() - 5], 'S');
  ASSERT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), dst.addr, page(), FALSE, VM_PROT_READ));
  EXPECT_KR(KERN_INVALID_ADDRESS, mach_vm_read_overwrite(mach_task_self(), src.addr, 64, dst.addr, &out));
}

TEST(Write, ContentsAndErrorCodes) {
  Alloc dst(4 * page());
  std::vector<char> buf(2 * page() + 1);
  fill(buf.data(), buf.size(), 9);
  for (size_t n : {size_t{1}, size_t{4095}, size_t{4097}, buf.size()}) {
    ASSERT_KR(KERN_SUCCESS, mach_vm_write(mach_task_self(), dst.addr + 1, reinterpret_cast<vm_offset_t>(buf.data()),
                                         static_cast<mach_msg_type_number_t>(n)));
    EXPECT_EQ(std::memcmp(dst.p() + 1, buf.data(), n), 0);
  }
  ASSERT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), dst.addr + 2 * page(), page(), FALSE, VM_PROT_READ));
  EXPECT_KR(KERN_PROTECTION_FAILURE, mach_vm_write(mach_task_self(), dst.addr + page(),
                                                   reinterpret_cast<vm_offset_t>(buf.data()), 2 * page()));
  EXPECT_KR(KERN_INVALID_ADDRESS, mach_vm_write(mach_task_self(), dst.addr + 2 * page(),
                                                reinterpret_cast<vm_offset_t>(buf.data()), 16));
  ASSERT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), dst.addr + 3 * page(), page()));
  EXPECT_KR(KERN_INVALID_ADDRESS, mach_vm_write(mach_task_self(), dst.addr + 3 * page(),
                                                reinterpret_cast<vm_offset_t>(buf.data()), 16));
  // A bad source buffer fails before the destination is considered.
  void* none = mmap(nullptr, page(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  EXPECT_KR(MACH_SEND_INVALID_MEMORY,
            mach_vm_write(mach_task_self(), dst.addr, reinterpret_cast<vm_offset_t>(none), 16));
  EXPECT_KR(MACH_SEND_INVALID_MEMORY, mach_vm_write(mach_task_self(), 0x10000, 0x20000, 16));
  munmap(none, page());
  EXPECT_KR(KERN_SUCCESS, mach_vm_write(mach_task_self(), 0, 0, 0));
}

TEST(Copy, ContentsOverlapAndErrorCodes) {
  Alloc al(8 * page());
  fill(al.p(), 8 * page(), 1);
  std::vector<char> expect(al.p(), al.p() + 8 * page());
  ASSERT_KR(KERN_SUCCESS, mach_vm_copy(mach_task_self(), al.addr, 4 * page(), al.addr + 4 * page()));
  EXPECT_EQ(std::memcmp(al.p() + 4 * page(), expect.data(), 4 * page()), 0);
  // Overlapping: behaves like memmove.
  fill(al.p(), 8 * page(), 2);
  std::vector<char> before(al.p(), al.p() + 8 * page());
  ASSERT_KR(KERN_SUCCESS, mach_vm_copy(mach_task_self(), al.addr, 5 * page() + 3, al.addr + 2 * page() + 1));
  EXPECT_EQ(std::memcmp(al.p() + 2 * page() + 1, before.data(), 5 * page() + 3), 0);
  EXPECT_KR(KERN_SUCCESS, mach_vm_copy(mach_task_self(), 0, 0, 0));
  EXPECT_KR(KERN_INVALID_ADDRESS, mach_vm_copy(mach_task_self(), al.addr, UINT32_MAX - 1, al.addr));
  EXPECT_KR(KERN_INVALID_ADDRESS, mach_vm_copy(mach_task_self(), UINT64_MAX - 5, 100, al.addr));
  EXPECT_KR(KERN_INVALID_ADDRESS, mach_vm_copy(mach_task_self(), al.addr, 100, UINT64_MAX - 5));
  ASSERT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), al.addr, 4 * page(), FALSE, VM_PROT_NONE));
  EXPECT_KR(KERN_PROTECTION_FAILURE, mach_vm_copy(mach_task_self(), al.addr, 4 * page(), al.addr + 4 * page()));
  EXPECT_KR(KERN_PROTECTION_FAILURE, mach_vm_copy(mach_task_self(), al.addr + 4 * page(), 4 * page(), al.addr));
  EXPECT_KR(KERN_INVALID_ADDRESS, mach_vm_copy(mach_task_self(), al.addr, 16, al.addr + 4 * page()));
}

// Two views of one object: the same memory under two addresses.
struct TwoViews {
  mach_vm_address_t a = 0, b = 0;
  mach_vm_size_t size;
  explicit TwoViews(mach_vm_size_t s) : size(s) {
    EXPECT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &a, s, VM_FLAGS_ANYWHERE));
    vm_prot_t cur, max;
    EXPECT_KR(KERN_SUCCESS, mach_vm_remap(mach_task_self(), &b, s, 0, VM_FLAGS_ANYWHERE, mach_task_self(), a, FALSE,
                                          &cur, &max, VM_INHERIT_DEFAULT));
  }
  ~TwoViews() {
    mach_vm_deallocate(mach_task_self(), a, size);
    mach_vm_deallocate(mach_task_self(), b, size);
  }
  char* pa() const { return reinterpret_cast<char*>(a); }
  char* pb() const { return reinterpret_cast<char*>(b); }
};

TEST(Copy, SourceAndDestinationAliasedUnderOtherAddresses) {
  // Found by the model test: memmove of [a, a+n) to [b+100, ...) where b
  // shows the same pages reads bytes it has already overwritten.
  TwoViews v(4 * page());
  fill(v.pa(), v.size, 9);
  const uint64_t n = 3 * page();
  std::vector<char> want(v.pa(), v.pa() + v.size);
  ASSERT_KR(KERN_SUCCESS, mach_vm_copy(mach_task_self(), v.a, n, v.b + 100));
  EXPECT_EQ(std::memcmp(v.pa() + 100, want.data(), n), 0) << "the copy is of the source as it was";
  fill(v.pa(), v.size, 9);
  mach_vm_size_t out = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_read_overwrite(mach_task_self(), v.b + 50, n, v.a, &out));
  EXPECT_EQ(std::memcmp(v.pa(), want.data() + 50, n), 0);
  fill(v.pa(), v.size, 9);
  ASSERT_KR(KERN_SUCCESS, mach_vm_write(mach_task_self(), v.b + 1, v.a, static_cast<mach_msg_type_number_t>(n)));
  EXPECT_EQ(std::memcmp(v.pa() + 1, want.data(), n), 0);
}

TEST(Copy, LargeCopyAndReadKeepEveryByte) {
  // What tools/hvbench times (mach_copy/mach_read), checked for content.
  const mach_vm_size_t n = 16ULL << 20;
  Alloc src(n), dst(n);
  for (uint64_t off = 0; off < n; off += page()) std::memcpy(src.p() + off, &off, sizeof off);
  std::memset(dst.p(), 0x5a, n);
  ASSERT_KR(KERN_SUCCESS, mach_vm_copy(mach_task_self(), src.addr, n, dst.addr));
  EXPECT_EQ(std::memcmp(dst.p(), src.p(), n), 0);
  vm_offset_t data = 0;
  mach_msg_type_number_t cnt = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_read(mach_task_self(), src.addr, n, &data, &cnt));
  ASSERT_EQ(cnt, n);
  src.p()[n / 2] ^= 1;  // a snapshot: later writes to the source stay out
  EXPECT_NE(std::memcmp(reinterpret_cast<void*>(data), src.p(), n), 0);
  src.p()[n / 2] ^= 1;
  EXPECT_EQ(std::memcmp(reinterpret_cast<void*>(data), src.p(), n), 0);
  EXPECT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), data, cnt));
}

}  // namespace
