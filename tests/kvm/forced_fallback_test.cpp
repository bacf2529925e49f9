// HVSHIM_FORCE_FALLBACK puts the library on the paths older kernels take.
// This suite runs twice (tests/CMakeLists.txt): as this kernel has it and
// with every fallback forced, and each test checks the path actually taken.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

#include "common/forced_fallback.h"
#include "kvm/host_alias.h"
#include "kvm/system.h"
#include "kvm/userfault.h"
#include "kvm/vm.h"

namespace hvshim {
namespace {

TEST(ForcedFallback, ListParsing) {
  EXPECT_TRUE(fallback_listed("procmap_query", "procmap_query"));
  EXPECT_TRUE(fallback_listed("zap_all_quirk,procmap_query", "procmap_query"));
  EXPECT_TRUE(fallback_listed("all", "userfaultfd"));
  EXPECT_FALSE(fallback_listed("", "procmap_query"));
  EXPECT_FALSE(fallback_listed("procmap", "procmap_query"));
  EXPECT_FALSE(fallback_listed("userfaultfd_syscall", "userfaultfd"));
}

TEST(ForcedFallback, SlotZapAllQuirkStaysOnWhenForced) {
  auto sys = kvm::System::open();
  if (!sys) GTEST_SKIP() << "/dev/kvm unusable: " << sys.error().describe();
  auto vm = kvm::Vm::create(*sys);
  ASSERT_TRUE(vm) << vm.error().describe();
  int mask = vm->check_extension(kvm::kCapDisableQuirks2);
  bool offered = mask > 0 && (static_cast<uint64_t>(mask) & kvm::kQuirkSlotZapAll);
  EXPECT_EQ(vm->disable_slot_zap_all(), offered && !fallback_forced("zap_all_quirk"));
}

TEST(ForcedFallback, SharedRangeIsFoundOnEitherPath) {
  // PROCMAP_QUERY or the /proc/self/maps text: the same VMA bounds.
  int fd = memfd_create("fallback", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, 64 * 4096), 0);
  // One page of guard below and above, so the VMA is exactly ours.
  auto* area = static_cast<uint8_t*>(mmap(nullptr, 66 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(area, MAP_FAILED);
  void* p = mmap(area + 4096, 64 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
  ASSERT_EQ(p, area + 4096);
  auto base = reinterpret_cast<uint64_t>(p);
  auto r = kvm::shared_range_at(base + 10 * 4096);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->start, base);
  EXPECT_EQ(r->end, base + 64 * 4096);
  // A private mapping is not shared memory on either path.
  auto priv = kvm::shared_range_at(reinterpret_cast<uint64_t>(area));
  ASSERT_FALSE(priv);
  EXPECT_EQ(priv.error().err, EINVAL);
  munmap(area, 66 * 4096);
  close(fd);
}

TEST(ForcedFallback, UserfaultfdOpensOrReportsItWasForcedOff) {
  auto u = kvm::Userfault::open();
  if (fallback_forced("userfaultfd")) {
    ASSERT_FALSE(u);
    EXPECT_EQ(u.error().err, ENOSYS);
    return;
  }
  if (!u && geteuid() != 0) GTEST_SKIP() << "userfaultfd not permitted here: " << u.error().describe();
  ASSERT_TRUE(u) << u.error().describe();
  // The handshake worked with or without WP_UNPOPULATED: protect a page of shared memory.
  int fd = memfd_create("uffd", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, 4096), 0);
  void* p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ASSERT_NE(p, MAP_FAILED);
  auto a = reinterpret_cast<uint64_t>(p);
  EXPECT_TRUE(u->register_wp(a, 4096));
  EXPECT_TRUE(u->write_protect(a, 4096, true));
  EXPECT_TRUE(u->write_protect(a, 4096, false));
  munmap(p, 4096);
  close(fd);
}

}  // namespace
}  // namespace hvshim
