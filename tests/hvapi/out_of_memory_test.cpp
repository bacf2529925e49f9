// The C boundary under memory exhaustion: when an allocation inside an hv_*
// call throws std::bad_alloc, the call returns HV_NO_RESOURCES with a reason
// and the process goes on. Without the boundary the exception would reach
// the C caller and terminate the VMM.
#include <string>

#include <hvshim/hvshim.h>

#include "fixture.h"
#include "support/failing_new.h"

namespace hvtest {
namespace {

constexpr uint64_t kBase = 0x400000;
constexpr uint64_t kHole = 0x900000;
constexpr uint64_t P = 4096;
constexpr hv_memory_flags_t RW = HV_MEMORY_READ | HV_MEMORY_WRITE;

class OutOfMemoryTest : public VmTest {
 protected:
  OutOfMemoryTest() : mem(4 * P) {}
  void SetUp() override {
    VmTest::SetUp();
    if (IsSkipped()) return;
    for (int i = 0; i < 4; ++i) mem.set_word(i, 0x500 + i);
    ASSERT_EQ(hv_vm_map(mem.data(), kBase, 4 * P, RW), HV_SUCCESS);
    ASSERT_EQ(sweep(*guest, kBase, 4), kLayout);
  }
  void ExpectLayoutUnchanged(const std::string& where) {
    EXPECT_EQ(sweep(*guest, kBase, 4), kLayout) << where;
    auto w = guest_words(*guest, kBase, 4);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(w[i], 0x500u + i) << where << ", page " << i;
  }
  const std::string kLayout = "rw- rw- rw- rw-";
  HostMem mem;
};

TEST_F(OutOfMemoryTest, FirstAllocationFailingInMapIsNoResourcesAndChangesNothing) {
  HostMem other(P);
  hvshim::testing::fail_nth_allocation(1);
  hv_return_t r = hv_vm_map(other.data(), kHole, P, RW);
  ASSERT_TRUE(hvshim::testing::stop_failing_allocations()) << "hv_vm_map made no allocation";
  EXPECT_EQ(r, HV_NO_RESOURCES);
  EXPECT_NE(std::string(hvshim_last_error()).find("hv_vm_map: out of memory"), std::string::npos)
      << hvshim_last_error();
  EXPECT_EQ(guest->access(kHole), "---");
  ExpectLayoutUnchanged("after the refused map");
  // Nothing was left behind: the same map succeeds now.
  EXPECT_EQ(hv_vm_map(other.data(), kHole, P, RW), HV_SUCCESS);
  EXPECT_EQ(guest->access(kHole), "rw-");
}

TEST_F(OutOfMemoryTest, FirstAllocationFailingInProtectIsNoResourcesAndChangesNothing) {
  hvshim::testing::fail_nth_allocation(1);
  hv_return_t r = hv_vm_protect(kBase + P, 2 * P, HV_MEMORY_READ);
  ASSERT_TRUE(hvshim::testing::stop_failing_allocations()) << "hv_vm_protect made no allocation";
  EXPECT_EQ(r, HV_NO_RESOURCES);
  ExpectLayoutUnchanged("after the refused protect");
  EXPECT_EQ(hv_vm_protect(kBase + P, 2 * P, HV_MEMORY_READ), HV_SUCCESS);
  EXPECT_EQ(sweep(*guest, kBase, 4), "rw- r-- r-- rw-");
}

}  // namespace
}  // namespace hvtest
