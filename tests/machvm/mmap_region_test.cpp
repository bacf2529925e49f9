// XNU's tests/vm/mmap.c, the cases Linux's mmap can make: a file of counting
// words mapped read-only at page-aligned offsets, anywhere or MAP_FIXED into
// address space taken with mach_vm_allocate; mach_vm_region reports the
// mapping's base and size, and the words are the file's. (Darwin's legacy
// mmap also accepts unaligned offsets when the address has the same in-page
// offset; Linux refuses them with EINVAL, as Darwin's UNIX03 mode does.)
#include <fcntl.h>
#include <sys/mman.h>

#include "machvm/vm_test_util.h"

using namespace vmtest;

namespace {

constexpr uint32_t K(uint32_t n) { return n << 10; }
constexpr uint32_t kInts = 48 * 1024 / 4, kSize = kInts * 4;

int counting_file() {
  char path[] = "/tmp/hvshim_mmap_XXXXXX";
  int fd = mkstemp(path);
  unlink(path);
  for (uint32_t i = 1; i <= kInts; ++i) (void)!write(fd, &i, sizeof i);
  return fd;
}

TEST(MmapRegion, FileMappingsAtEachOffsetAnywhereAndFixed) {
  const int fd = counting_file();
  ASSERT_GE(fd, 0);
  const uint64_t P = page();
  struct Spec {
    bool fixed;
    uint32_t offs, size;
  };
  std::vector<Spec> specs;
  for (bool fixed : {false, true}) {
    for (uint32_t o : {K(0), K(1), K(4), K(8), K(16), K(32)}) specs.push_back({fixed, o, kSize - o});
    for (uint32_t o : {K(0), K(1), K(4), K(8), K(16)}) specs.push_back({fixed, K(16) + o, K(16)});
  }
  int checked = 0, refused = 0;
  for (const Spec& s : specs) {
    SCOPED_TRACE(::testing::Message() << "fixed " << s.fixed << " offs " << s.offs << " size " << s.size);
    mach_vm_address_t f_addr = 0;
    mach_vm_size_t f_size = 0;
    void* want = nullptr;
    if (s.fixed) {
      f_size = 2 * P + s.size;
      ASSERT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &f_addr, f_size, VM_FLAGS_ANYWHERE));
      want = reinterpret_cast<void*>(f_addr + P + (s.offs & (P - 1)));
    }
    auto* p = static_cast<uint32_t*>(mmap(want, s.size, PROT_READ, MAP_PRIVATE | (s.fixed ? MAP_FIXED : 0), fd, s.offs));
    if (s.offs & (P - 1)) {
      EXPECT_EQ(p, MAP_FAILED);
      EXPECT_EQ(errno, EINVAL);
      ++refused;
    } else {
      ASSERT_NE(p, MAP_FAILED);
      if (want) EXPECT_EQ(p, want);
      const uint64_t size = (s.size + P - 1) & ~(P - 1);
      if (!s.fixed) {
        // A mapping the kernel made: region base and size are the kernel's.
        mach_vm_address_t r = reinterpret_cast<uint64_t>(p);
        mach_vm_size_t rs = 0;
        kern_return_t kr = KERN_FAILURE;
        basic_info(r, rs, &kr);
        EXPECT_KR(KERN_SUCCESS, kr);
        EXPECT_EQ(r, reinterpret_cast<uint64_t>(p));
        EXPECT_EQ(rs, size);
      }
      for (uint32_t i = 0; i < s.size / 4; i += static_cast<uint32_t>(P / 4)) EXPECT_EQ(p[i], s.offs / 4 + i + 1);
      ++checked;
      if (!s.fixed) munmap(p, size);
    }
    if (f_addr) EXPECT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), f_addr, f_size));
  }
  EXPECT_EQ(checked, 18);
  EXPECT_EQ(refused, 4);
  close(fd);
}

}  // namespace
