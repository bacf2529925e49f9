// After hv_vm_destroy + hv_vm_create the new VM sees none of the old VM's
// memory at the same guest-physical addresses: with nothing mapped there
// every access faults and the old host memory keeps what the host left in
// it; with other memory mapped there the guest sees that memory only. The
// old VM's extra spaces are gone too.
#include "isolation_fixture.h"

namespace stress {
namespace {

constexpr int kPages = 4;

class IsolationVmRecreateTest : public IsolationTest {
 protected:
  static uint64_t gpa(int page) { return kWindow + page * kPage; }
  void recreate_vm() {
    g.reset();
    ASSERT_EQ(hv_vm_destroy(), HV_SUCCESS) << hvshim::last_error_cstr();
    vm_ = false;
    ASSERT_EQ(hv_vm_create(HV_VM_DEFAULT), HV_SUCCESS) << hvshim::last_error_cstr();
    vm_ = true;
    ASSERT_EQ(sys.map_into(HV_VM_SPACE_DEFAULT), HV_SUCCESS);
    g = make_guest();
    ASSERT_NE(g, nullptr);
  }
};

TEST_P(IsolationVmRecreateTest, NewVmSeesNoneOfTheOldVmsMemory) {
  GuardedMem old_mem(kPages, kind()), old_space_mem(1, kind()), other(kPages, kind());
  for (int i = 0; i < kPages; ++i) {
    old_mem.set_word(i, 0x01d0000 + i);
    other.set_word(i, 0x0e30000 + i);
  }
  old_space_mem.set_word(0, 0x01d5);
  ASSERT_EQ(hv_vm_map(old_mem.data(), kWindow, old_mem.size(), kRwx), HV_SUCCESS);
  hv_vm_space_t s1 = 0;
  ASSERT_EQ(hv_vm_space_create(&s1), HV_SUCCESS);
  ASSERT_EQ(sys.map_into(s1), HV_SUCCESS);
  ASSERT_EQ(hv_vm_map_space(s1, old_space_mem.data(), gpa(kPages + 4), kPage, kRwx), HV_SUCCESS);
  // The old VM's guest uses all of it, so KVM has every page mapped.
  for (int i = 0; i < kPages; ++i) {
    expect_reads(gpa(i), old_mem.word(i), "old VM");
    EXPECT_TRUE(g->write64(gpa(i) + 8, 0x01d).ok());
  }
  ASSERT_EQ(hv_vcpu_set_space(g->id(), s1), HV_SUCCESS);
  expect_reads(gpa(kPages + 4), 0x01d5, "old VM, second space");
  ASSERT_EQ(hv_vcpu_set_space(g->id(), HV_VM_SPACE_DEFAULT), HV_SUCCESS);

  recreate_vm();
  if (HasFatalFailure()) return;
  for (int i = 0; i < kPages; ++i) expect_no_access(gpa(i), old_mem.page(i), "new VM, page " + std::to_string(i));
  expect_no_access(gpa(kPages + 4), old_space_mem.data(), "new VM, the old second space's page");
  EXPECT_EQ(hv_vcpu_set_space(g->id(), s1), HV_BAD_ARGUMENT) << "the old VM's space still exists";
  hv_vm_space_t fresh = 0;
  ASSERT_EQ(hv_vm_space_create(&fresh), HV_SUCCESS);
  ASSERT_EQ(sys.map_into(fresh), HV_SUCCESS);
  ASSERT_EQ(hv_vcpu_set_space(g->id(), fresh), HV_SUCCESS);
  expect_no_access(gpa(kPages + 4), old_space_mem.data(), "new VM, new space " + std::to_string(fresh));
  ASSERT_EQ(hv_vcpu_set_space(g->id(), HV_VM_SPACE_DEFAULT), HV_SUCCESS);
  EXPECT_EQ(hv_vm_space_destroy(fresh), HV_SUCCESS);

  // Other memory at the same GPAs: that is what the guest sees and writes.
  ASSERT_EQ(hv_vm_map(other.data(), kWindow, other.size(), HV_MEMORY_READ | HV_MEMORY_WRITE), HV_SUCCESS);
  for (int i = 0; i < kPages; ++i) {
    expect_reads(gpa(i), other.word(i), "new VM, other memory");
    EXPECT_TRUE(g->write64(gpa(i), 0x0e3f00d).ok());
    EXPECT_EQ(other.word(i), 0x0e3f00du);
    EXPECT_EQ(old_mem.word(i), 0x01d0000u + i);
    EXPECT_EQ(old_mem.word(i, 8), 0x01du);
  }
  EXPECT_EQ(old_mem.guards_damage(), "");
  EXPECT_EQ(other.guards_damage(), "");
}

STRESS_BOTH_HOST_KINDS(IsolationVmRecreateTest);

}  // namespace
}  // namespace stress
