// After hv_vm_unmap and after hv_vm_protect(…, 0) the guest reaches nothing
// of the page any more, however warm its mappings were: reads, writes and
// fetches fault at the page, 8-byte accesses straddling into it fault, the
// host memory behind it keeps what the host put there, and the neighbours
// stay exactly as accessible as before.
#include <sys/mman.h>

#include "isolation_fixture.h"

namespace stress {
namespace {

constexpr int kPages = 4;

uint64_t tag(int page) { return 0x7a900000000000ull | unsigned(page); }

class IsolationUnmapProtectTest : public IsolationTest {
 protected:
  void SetUp() override {
    IsolationTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_TRUE(mem.ok());
    for (int i = 0; i < kPages; ++i) {
      mem.set_word(i, tag(i));
      place_exec_stub(mem.page(i) + 0x800);
    }
    ASSERT_EQ(hv_vm_map(mem.data(), kWindow, mem.size(), kRwx), HV_SUCCESS);
    // Warm up: the guest touches every page, so KVM has them all mapped.
    for (int i = 0; i < kPages; ++i) {
      expect_reads(gpa(i), tag(i), "before");
      EXPECT_TRUE(g->write64(gpa(i) + 8, 1).ok());
      EXPECT_TRUE(g->exec(gpa(i) + 0x800).ok());
    }
    // Positive control for the straddling checks: across two mapped pages
    // an 8-byte read returns 4 bytes of each.
    mem.set_word(0, 0x1111111122222222ull, kPage - 8);
    expect_reads(gpa(1) - 4, (mem.word(1) << 32) | 0x11111111u, "straddling pages 0 and 1");
  }
  void TearDown() override {
    if (!IsSkipped()) {
      EXPECT_EQ(mem.guards_damage(), "");
    }
    IsolationTest::TearDown();
  }
  static uint64_t gpa(int page) { return kWindow + page * kPage; }
  // Pages other than `gone` still behave as mapped RWX.
  void expect_neighbours_intact(int gone) {
    for (int i = 0; i < kPages; ++i) {
      if (i == gone) continue;
      expect_reads(gpa(i), mem.word(i), "neighbour " + std::to_string(i));
      EXPECT_TRUE(g->exec(gpa(i) + 0x800).ok()) << "neighbour " << i;
    }
  }
  GuardedMem mem{kPages, kind()};
};

TEST_P(IsolationUnmapProtectTest, UnmappedPageIsUnreachable) {
  ASSERT_EQ(hv_vm_unmap(gpa(1), kPage), HV_SUCCESS);
  mem.set_word(1, 0x5ec1e7);  // the host keeps using its memory
  for (size_t off : {size_t(0), size_t(8), size_t(0x800), kPage - 8})
    expect_no_access(gpa(1) + off, mem.page(1) + off, "unmapped page, offset " + std::to_string(off));
  expect_straddle_blocked(gpa(1), nullptr, mem.page(1), "into the unmapped page from below");
  expect_straddle_blocked(gpa(2), mem.page(1) + kPage - 4, nullptr, "into the unmapped page from above");
  EXPECT_EQ(mem.word(1), 0x5ec1e7u);
  expect_neighbours_intact(1);
  // Everything gone: nothing of the window answers any more.
  ASSERT_EQ(hv_vm_unmap(gpa(0), kPage), HV_SUCCESS);
  ASSERT_EQ(hv_vm_unmap(gpa(2), 2 * kPage), HV_SUCCESS);
  for (int i = -1; i <= kPages; ++i)
    expect_no_access(gpa(i), (i >= 0 && i < kPages) ? mem.page(i) : nullptr, "after unmapping all, page " +
                                                                                  std::to_string(i));
}

// The host frees the memory it had unmapped from the guest and gets new
// memory at the same address: the guest must not see that either.
TEST_P(IsolationUnmapProtectTest, HostMemoryReusedAfterUnmapIsUnreachable) {
  ASSERT_EQ(hv_vm_unmap(kWindow, mem.size()), HV_SUCCESS);
  void* again = mmap(mem.data(), mem.size(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  ASSERT_EQ(again, static_cast<void*>(mem.data()));
  for (int i = 0; i < kPages; ++i) mem.set_word(i, 0x5ec1e7000 + i);
  for (int i = 0; i < kPages; ++i) expect_no_access(gpa(i), mem.page(i), "reused page " + std::to_string(i));
}

TEST_P(IsolationUnmapProtectTest, NoAccessPageIsUnreachableUntilGrantedAgain) {
  ASSERT_EQ(hv_vm_protect(gpa(2), kPage, 0), HV_SUCCESS);
  mem.set_word(2, 0x5ec1e7);  // written while the guest has no access
  for (size_t off : {size_t(0), size_t(8), size_t(0x800), kPage - 8})
    expect_no_access(gpa(2) + off, mem.page(2) + off, "no-access page, offset " + std::to_string(off));
  expect_straddle_blocked(gpa(2), nullptr, mem.page(2), "into the no-access page from below");
  expect_straddle_blocked(gpa(3), mem.page(2) + kPage - 4, nullptr, "into the no-access page from above");
  expect_neighbours_intact(2);
  // Read-only: the guest sees what the host wrote, its writes do not land.
  ASSERT_EQ(hv_vm_protect(gpa(2), kPage, HV_MEMORY_READ), HV_SUCCESS);
  expect_reads(gpa(2), 0x5ec1e7, "read-only again");
  Access w = g->write64(gpa(2), kAttack);
  EXPECT_TRUE(w.fault()) << to_string(w);
  EXPECT_EQ(mem.word(2), 0x5ec1e7u);
  // Full access: writes land again.
  ASSERT_EQ(hv_vm_protect(gpa(2), kPage, kRwx), HV_SUCCESS);
  EXPECT_TRUE(g->write64(gpa(2), 0x600d).ok());
  EXPECT_EQ(mem.word(2), 0x600du);
  // The whole mapping at once.
  ASSERT_EQ(hv_vm_protect(kWindow, mem.size(), 0), HV_SUCCESS);
  for (int i = 0; i < kPages; ++i) expect_no_access(gpa(i), mem.page(i), "all no-access, page " + std::to_string(i));
}

STRESS_BOTH_HOST_KINDS(IsolationUnmapProtectTest);

}  // namespace
}  // namespace stress
