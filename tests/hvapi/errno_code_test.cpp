// One errno → hv_return_t mapping: the same kernel failure gives the same
// code whichever call met it, and a failed call leaves the guest's view as
// it was.
#include <cerrno>

#include "fixture.h"
#include "hvapi/fail.h"
#include "kvm/fault_injection.h"

namespace hvtest {
namespace {

constexpr uint64_t kBase = 0x600000;
constexpr uint64_t P = 4096;
constexpr hv_memory_flags_t RW = HV_MEMORY_READ | HV_MEMORY_WRITE;

TEST(ErrnoCodeTest, ResourceExhaustionIsNoResourcesEverythingElseIsError) {
  for (int e : {ENOMEM, EMFILE, ENFILE, ENOSPC}) EXPECT_EQ(hvshim::hv::code_for_errno(e), HV_NO_RESOURCES) << e;
  for (int e : {EFAULT, EINVAL, EEXIST, EIO, EBUSY, 0}) EXPECT_EQ(hvshim::hv::code_for_errno(e), HV_ERROR) << e;
}

class ErrnoMapTest : public VmTest {};

// hv_vm_map and hv_vm_protect meet the memslot ioctl: each resource errno
// gives HV_NO_RESOURCES (ENFILE and EMFILE gave HV_ERROR here before the
// mappings were one), anything else HV_ERROR, and nothing changes.
TEST_F(ErrnoMapTest, MemslotFailuresMapTheSameForMapAndProtect) {
  HostMem mem(2 * P, HostMem::kPrivate);  // its protection takes memslots
  mem.set_word(0, 0x11);
  mem.set_word(1, 0x22);
  ASSERT_EQ(hv_vm_map(mem.data(), kBase, P, RW), HV_SUCCESS);
  HostMem other(P);
  for (int e : {ENOMEM, EMFILE, ENFILE, ENOSPC, EFAULT}) {
    const hv_return_t want = e == EFAULT ? HV_ERROR : HV_NO_RESOURCES;
    hvshim::kvm::fault_injection::arm("KVM_SET_USER_MEMORY_REGION", e);
    EXPECT_EQ(hv_vm_map(other.data(), kBase + 4 * P, P, RW), want) << "errno " << e;
    hvshim::kvm::fault_injection::disarm();
    EXPECT_EQ(guest->access(kBase + 4 * P), "---") << "errno " << e;
    hvshim::kvm::fault_injection::arm("KVM_SET_USER_MEMORY_REGION", e);
    EXPECT_EQ(hv_vm_protect(kBase, P, HV_MEMORY_READ), want) << "errno " << e;
    hvshim::kvm::fault_injection::disarm();
    EXPECT_EQ(guest->access(kBase), "rw-") << "errno " << e;
    EXPECT_EQ(guest_words(*guest, kBase, 1)[0], 0x11u);
  }
}

}  // namespace
}  // namespace hvtest
