// An 8-byte guest store that straddles a page the guest may not write is
// one EPT violation for the VMM, as on VMX: the exit names the store (RIP on
// it, its length), and nothing of it is left over for the next
// hv_vcpu_run (KVM delivers such a store as two MMIO fragments, the first
// one alone shorter than the instruction's operand). No host byte behind an
// unwritable page changes (checked here and in isolation_edges_test.cpp).
#include "isolation_fixture.h"

namespace stress {
namespace {

class IsolationStraddleTest : public IsolationTest {
 protected:
  // After the straddling write: the exit is the store's, and a harmless
  // probe afterwards sees exactly what it should.
  void check_straddling_store(uint64_t at, const std::string& what) {
    SCOPED_TRACE(what);
    ASSERT_TRUE(g->start(GuestCode::write64(), at, kAttack));
    ASSERT_EQ(hv_vcpu_run(g->id()), HV_SUCCESS) << hvshim::last_error_cstr();
    EXPECT_EQ(g->vmcs(VMCS_RO_EXIT_REASON), uint64_t(VMX_REASON_EPT_VIOLATION));
    const uint64_t fault = g->vmcs(VMCS_GUEST_PHYSICAL_ADDRESS);
    EXPECT_TRUE(fault >= at && fault < at + 8) << std::hex << "fault at " << fault << " for a store at " << at;
    EXPECT_EQ(g->reg(HV_X86_RIP), GuestCode::write64()) << "RIP is not on the store";
    EXPECT_EQ(g->vmcs(VMCS_RO_VMEXIT_INSTR_LEN), 3u);  // mov %rsi,(%rdi)
    // The next run is a fresh probe of readable memory (the system image):
    // it must not see the rest of the store.
    Access next = g->read64(0x7000 + 16);
    EXPECT_TRUE(next.ok()) << "the run after the store: " << to_string(next);
  }
};

TEST_P(IsolationStraddleTest, StoreAcrossTwoUnwritablePagesIsOneExit) {
  GuardedMem ro(1, kind());
  ASSERT_EQ(hv_vm_map(ro.data(), kWindow + kPage, kPage, HV_MEMORY_READ), HV_SUCCESS);
  check_straddling_store(kWindow + kPage - 4, "unmapped below, read-only above");
  check_straddling_store(kWindow + 2 * kPage - 4, "read-only below, unmapped above");
  check_straddling_store(kWindow + 8 * kPage - 4, "unmapped on both sides");
  EXPECT_EQ(ro.word(0), 0u);
  EXPECT_EQ(ro.guards_damage(), "");
}

// One side writable: a single MMIO fragment of 4 bytes, which must not be
// taken for a shorter instruction that is a suffix of the real store.
TEST_P(IsolationStraddleTest, StoreFromWritableIntoUnwritablePageIsOneExit) {
  GuardedMem rw(1, kind());
  ASSERT_EQ(hv_vm_map(rw.data(), kWindow, kPage, kRwx), HV_SUCCESS);
  check_straddling_store(kWindow + kPage - 4, "writable below, unmapped above");
  check_straddling_store(kWindow - 4, "unmapped below, writable above");
  EXPECT_EQ(rw.guards_damage(), "");
}

STRESS_BOTH_HOST_KINDS(IsolationStraddleTest);

}  // namespace
}  // namespace stress
