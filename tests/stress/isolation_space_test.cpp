// hv_vcpu_set_space: a vCPU moved into a space that lacks a mapping reaches
// nothing of it, however warm its mappings were in the space it came from;
// another space's memory at the same GPA is that memory and nothing else;
// and a destroyed space's mappings do not come back under its recycled id.
#include "isolation_fixture.h"

namespace stress {
namespace {

constexpr int kPages = 2;

class IsolationSpaceTest : public IsolationTest {
 protected:
  static uint64_t gpa(int page) { return kWindow + page * kPage; }
  hv_vm_space_t new_space() {
    hv_vm_space_t s = 0;
    EXPECT_EQ(hv_vm_space_create(&s), HV_SUCCESS) << hvshim::last_error_cstr();
    EXPECT_EQ(sys.map_into(s), HV_SUCCESS);
    return s;
  }
  void move_to(hv_vm_space_t s) { ASSERT_EQ(hv_vcpu_set_space(g->id(), s), HV_SUCCESS) << hvshim::last_error_cstr(); }
  void expect_window_unreachable(GuardedMem& behind, const std::string& what) {
    for (int i = 0; i < kPages; ++i)
      for (size_t off : {size_t(0), kPage - 8})
        expect_no_access(gpa(i) + off, behind.page(i) + off, what + ", page " + std::to_string(i));
    expect_straddle_blocked(gpa(0), nullptr, nullptr, what + ", lower edge", false);
    expect_straddle_blocked(gpa(kPages), nullptr, nullptr, what + ", upper edge", false);
  }
};

TEST_P(IsolationSpaceTest, SpaceWithoutTheMappingReachesNothing) {
  GuardedMem secret(kPages, kind()), other(kPages, kind());
  for (int i = 0; i < kPages; ++i) {
    secret.set_word(i, 0x5ec1e7000 + i);
    other.set_word(i, 0x07e1000 + i);
  }
  ASSERT_EQ(hv_vm_map(secret.data(), kWindow, secret.size(), kRwx), HV_SUCCESS);
  for (int i = 0; i < kPages; ++i) {
    expect_reads(gpa(i), secret.word(i), "default space");
    EXPECT_TRUE(g->write64(gpa(i) + 8, 1).ok());
  }
  const hv_vm_space_t s1 = new_space();
  move_to(s1);
  expect_window_unreachable(secret, "space without the mapping");
  // Other memory at the same GPA in s1: the guest sees it and only it.
  ASSERT_EQ(hv_vm_map_space(s1, other.data(), kWindow, other.size(), HV_MEMORY_READ | HV_MEMORY_WRITE), HV_SUCCESS);
  for (int i = 0; i < kPages; ++i) {
    expect_reads(gpa(i), other.word(i), "space with other memory");
    EXPECT_TRUE(g->write64(gpa(i), 0x07e1f00d).ok());
    EXPECT_EQ(other.word(i), 0x07e1f00du);
    EXPECT_EQ(secret.word(i), 0x5ec1e7000u + i);
  }
  // Back home: the original memory again, writable.
  move_to(HV_VM_SPACE_DEFAULT);
  for (int i = 0; i < kPages; ++i) expect_reads(gpa(i), secret.word(i), "back in the default space");
  EXPECT_TRUE(g->write64(gpa(1), 0x600d).ok());
  EXPECT_EQ(secret.word(1), 0x600du);
  EXPECT_EQ(other.word(1), 0x07e1f00du);
  // Unmapped in s1 while the vCPU was away: nothing there on return.
  ASSERT_EQ(hv_vm_unmap_space(s1, kWindow, other.size()), HV_SUCCESS);
  move_to(s1);
  expect_window_unreachable(other, "space whose mapping was removed while away");
  move_to(HV_VM_SPACE_DEFAULT);
  EXPECT_EQ(secret.guards_damage(), "");
  EXPECT_EQ(other.guards_damage(), "");
  EXPECT_EQ(hv_vm_space_destroy(s1), HV_SUCCESS);
}

// The vCPU keeps a KVM vCPU per visited space; after the space is
// destroyed and its id handed out again, the new space must not show the
// old one's memory through it.
TEST_P(IsolationSpaceTest, RecycledSpaceIdDoesNotShowTheDestroyedSpacesMemory) {
  GuardedMem old_mem(kPages, kind());
  for (int i = 0; i < kPages; ++i) old_mem.set_word(i, 0x01d000 + i);
  const hv_vm_space_t s1 = new_space();
  ASSERT_EQ(hv_vm_map_space(s1, old_mem.data(), kWindow, old_mem.size(), kRwx), HV_SUCCESS);
  move_to(s1);
  for (int i = 0; i < kPages; ++i) expect_reads(gpa(i), old_mem.word(i), "old space");
  move_to(HV_VM_SPACE_DEFAULT);
  ASSERT_EQ(hv_vm_space_destroy(s1), HV_SUCCESS);
  const hv_vm_space_t s2 = new_space();
  ASSERT_EQ(s2, s1) << "the test wants the id recycled";
  move_to(s2);
  expect_window_unreachable(old_mem, "recycled space id");
  move_to(HV_VM_SPACE_DEFAULT);
  EXPECT_EQ(hv_vm_space_destroy(s2), HV_SUCCESS);
  EXPECT_EQ(old_mem.guards_damage(), "");
}

// Protecting a page in one space changes nothing in another space that maps
// the same host page, and vice versa.
TEST_P(IsolationSpaceTest, ProtectionIsPerSpace) {
  GuardedMem shared(1, kind());
  shared.set_word(0, 0x5a5a);
  ASSERT_EQ(hv_vm_map(shared.data(), kWindow, kPage, kRwx), HV_SUCCESS);
  const hv_vm_space_t s1 = new_space();
  ASSERT_EQ(hv_vm_map_space(s1, shared.data(), kWindow, kPage, kRwx), HV_SUCCESS);
  ASSERT_EQ(hv_vm_protect_space(s1, kWindow, kPage, 0), HV_SUCCESS);
  expect_reads(kWindow, 0x5a5a, "default space, page no-access in s1");
  move_to(s1);
  expect_no_access(kWindow, shared.data(), "no-access in s1");
  move_to(HV_VM_SPACE_DEFAULT);
  ASSERT_EQ(hv_vm_protect(kWindow, kPage, HV_MEMORY_READ), HV_SUCCESS);
  ASSERT_EQ(hv_vm_protect_space(s1, kWindow, kPage, kRwx), HV_SUCCESS);
  EXPECT_TRUE(g->write64(kWindow, kAttack).fault());
  move_to(s1);
  EXPECT_TRUE(g->write64(kWindow, 0x51).ok());
  EXPECT_EQ(shared.word(0), 0x51u);
  move_to(HV_VM_SPACE_DEFAULT);
  EXPECT_EQ(hv_vm_space_destroy(s1), HV_SUCCESS);
}

STRESS_BOTH_HOST_KINDS(IsolationSpaceTest);

}  // namespace
}  // namespace stress
