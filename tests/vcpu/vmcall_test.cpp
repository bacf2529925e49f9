// VMCALL from guest code: reported as VMX_REASON_VMCALL (RIP on the
// instruction, length 3) where the library can recognise it, the guest's
// code bytes never change, and hv_vcpu_run never spins.
#include <time.h>

#include <hvshim/hvshim.h>

#include "vcpu_fixture.h"

namespace vcputest {
namespace {

using VmcallTest = VcpuTest;

uint64_t in_2s() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec + 2) * 1000000000ull + ts.tv_nsec;
}

// mov ax,1234h; vmcall; mov bx,5678h; hlt
constexpr uint8_t kGuest[] = {0xb8, 0x34, 0x12, 0x0f, 0x01, 0xc1, 0xbb, 0x78, 0x56, 0xf4};

TEST_F(VmcallTest, RealModeVmcallWithExceptionBitmapIsAVmcallExitAndCodeStaysIntact) {
  load({0xb8, 0x34, 0x12, 0x0f, 0x01, 0xc1, 0xbb, 0x78, 0x56, 0xf4});
  setv(VMCS_CTRL_EXC_BITMAP, 0xffffffff);  // as Apple's and hvdos's real-mode setups
  setv(VMCS_GUEST_IDTR_LIMIT, 0);
  ASSERT_EQ(hv_vcpu_run_until(vcpu, in_2s()), HV_SUCCESS) << hvshim::last_error_cstr();
  ASSERT_EQ(vmcs(VMCS_RO_EXIT_REASON), VMX_REASON_VMCALL);
  EXPECT_EQ(reg(HV_X86_RIP), kCodeGpa + 3);
  EXPECT_EQ(vmcs(VMCS_RO_VMEXIT_INSTR_LEN), 3u);
  EXPECT_EQ(reg(HV_X86_RAX), 0x1234u);  // no KVM hypercall result
  EXPECT_EQ(reg(HV_X86_RSP), 0x8000u);
  EXPECT_EQ(memcmp(ram.data() + kCodeGpa, kGuest, sizeof kGuest), 0) << "guest code rewritten";
  set(HV_X86_RAX, 0);  // the VMM's hypercall result
  skip_insn();
  ASSERT_EQ(hv_vcpu_run_until(vcpu, in_2s()), HV_SUCCESS) << hvshim::last_error_cstr();
  EXPECT_EQ(vmcs(VMCS_RO_EXIT_REASON), VMX_REASON_HLT);
  EXPECT_EQ(reg(HV_X86_RBX), 0x5678u);
  EXPECT_EQ(reg(HV_X86_RAX), 0u);
}

TEST_F(VmcallTest, VmcallOnAReadOnlyCodePageIsAVmcallExitNotAWrite) {
  load({0xb8, 0x34, 0x12, 0x0f, 0x01, 0xc1, 0xbb, 0x78, 0x56, 0xf4});
  ASSERT_EQ(hv_vm_protect(0, 0x2000, HV_MEMORY_READ | HV_MEMORY_EXEC), HV_SUCCESS);
  setv(VMCS_CTRL_EXC_BITMAP, 0xffffffff);
  setv(VMCS_GUEST_IDTR_LIMIT, 0);
  ASSERT_EQ(hv_vcpu_run_until(vcpu, in_2s()), HV_SUCCESS) << hvshim::last_error_cstr();
  ASSERT_EQ(vmcs(VMCS_RO_EXIT_REASON), VMX_REASON_VMCALL);
  EXPECT_EQ(reg(HV_X86_RIP), kCodeGpa + 3);
  EXPECT_EQ(memcmp(ram.data() + kCodeGpa, kGuest, sizeof kGuest), 0);
}

// Without an exception bitmap the library cannot see the #UD KVM raises
// on this host kind; the guest's own #UD handler (IVT[6]) gets it, as on a
// CPU without VMX. Code bytes never change and the run returns.
TEST_F(VmcallTest, RealModeVmcallWithoutInterceptsNeverRewritesCodeOrSpins) {
  load({0xb8, 0x34, 0x12, 0x0f, 0x01, 0xc1, 0xbb, 0x78, 0x56, 0xf4});
  // IVT[6] -> 0:2000h: out 6, al; hlt
  uint16_t ivt6[2] = {0x2000, 0};
  memcpy(ram.data() + 6 * 4, ivt6, 4);
  const uint8_t ud[] = {0xe6, 0x06, 0xf4};
  memcpy(ram.data() + 0x2000, ud, sizeof ud);
  setv(VMCS_CTRL_EXC_BITMAP, 0);
  ASSERT_EQ(hv_vcpu_run_until(vcpu, in_2s()), HV_SUCCESS) << hvshim::last_error_cstr();
  uint64_t r = vmcs(VMCS_RO_EXIT_REASON);
  EXPECT_NE(r, VMX_REASON_VMX_TIMER_EXPIRED) << "the guest spun on the VMCALL";
  EXPECT_EQ(memcmp(ram.data() + kCodeGpa, kGuest, sizeof kGuest), 0) << "guest code rewritten";
  if (r == VMX_REASON_IO) {
    EXPECT_EQ(vmcs(VMCS_RO_EXIT_QUALIFIC) >> 16, 6u);  // the #UD handler ran
  } else {
    // A host whose hypercall is VMCALL: KVM completed it as a KVM hypercall.
    EXPECT_EQ(r, VMX_REASON_HLT);
  }
}

}  // namespace
}  // namespace vcputest

namespace vcputest {
namespace {

TEST_F(VmcallTest, BehaviourReportMatchesWhatTheGuestSaw) {
  uint32_t b = 0;
  ASSERT_EQ(hvshim_vmcall_behaviour(&b), HV_SUCCESS);
  EXPECT_EQ(hvshim_vmcall_behaviour(nullptr), HV_BAD_ARGUMENT);
  load({0xb8, 0x34, 0x12, 0x0f, 0x01, 0xc1, 0xbb, 0x78, 0x56, 0xf4});
  setv(VMCS_CTRL_EXC_BITMAP, 0xffffffff);
  setv(VMCS_GUEST_IDTR_LIMIT, 0);
  ASSERT_EQ(hv_vcpu_run_until(vcpu, in_2s()), HV_SUCCESS) << hvshim::last_error_cstr();
  uint64_t r = vmcs(VMCS_RO_EXIT_REASON);
  if (b & HVSHIM_VMCALL_EXIT_REAL_MODE) EXPECT_EQ(r, VMX_REASON_VMCALL);
  if (b & HVSHIM_VMCALL_KVM_HYPERCALL) EXPECT_EQ(r, VMX_REASON_HLT);
  if (b & HVSHIM_VMCALL_CODE_INTACT) EXPECT_EQ(memcmp(ram.data() + kCodeGpa, kGuest, sizeof kGuest), 0);
}

}  // namespace
}  // namespace vcputest
