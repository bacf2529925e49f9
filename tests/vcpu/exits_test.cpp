// Guest-visible exits: each test runs a few real-mode instructions and
// checks the VMX exit reason, the read-only exit fields and the guest state
// the VMM sees.
#include <time.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "vcpu_fixture.h"

namespace vcputest {
namespace {

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
}

using ExitTest = VcpuTest;

TEST_F(ExitTest, HltExitLeavesRipOnTheInstruction) {
  load({0x90, 0xf4});  // nop; hlt
  EXPECT_EQ(run(), VMX_REASON_HLT);
  EXPECT_EQ(reg(HV_X86_RIP), kCodeGpa + 1);
  EXPECT_EQ(vmcs(VMCS_RO_VMEXIT_INSTR_LEN), 1u);
}

TEST_F(ExitTest, OutImmediateGivesIntelQualificationAndVmmAdvancesRip) {
  load({0xb0, 0x42, 0xe6, 0x80, 0xf4});  // mov al,42h; out 80h,al; hlt
  ASSERT_EQ(run(), VMX_REASON_IO);
  EXPECT_EQ(vmcs(VMCS_RO_EXIT_QUALIFIC), (0x80ull << 16) | 0x40);  // port, imm operand, size 1, out
  EXPECT_EQ(reg(HV_X86_RIP), kCodeGpa + 2);
  EXPECT_EQ(vmcs(VMCS_RO_VMEXIT_INSTR_LEN), 2u);
  EXPECT_EQ(reg(HV_X86_RAX) & 0xff, 0x42u);
  skip_insn();
  EXPECT_EQ(run(), VMX_REASON_HLT);
  EXPECT_EQ(reg(HV_X86_RIP), kCodeGpa + 4);
}

TEST_F(ExitTest, BackToBackOutsToOnePortAreEachReportedOnce) {
  load({0xe6, 0x80, 0xe6, 0x80, 0xf4});
  ASSERT_EQ(run(), VMX_REASON_IO);
  EXPECT_EQ(reg(HV_X86_RIP), kCodeGpa);
  skip_insn();
  ASSERT_EQ(run(), VMX_REASON_IO);
  EXPECT_EQ(reg(HV_X86_RIP), kCodeGpa + 2);
  skip_insn();
  EXPECT_EQ(run(), VMX_REASON_HLT);
}

TEST_F(ExitTest, OutDxSizesAndOperandSizePrefix) {
  // mov dx,3f8h; mov al,41h; out dx,al; out dx,eax (66 EF); hlt
  load({0xba, 0xf8, 0x03, 0xb0, 0x41, 0xee, 0x66, 0xef, 0xf4});
  ASSERT_EQ(run(), VMX_REASON_IO);
  EXPECT_EQ(vmcs(VMCS_RO_EXIT_QUALIFIC), 0x3f8ull << 16);
  EXPECT_EQ(reg(HV_X86_RIP), kCodeGpa + 5);
  EXPECT_EQ(vmcs(VMCS_RO_VMEXIT_INSTR_LEN), 1u);
  skip_insn();
  ASSERT_EQ(run(), VMX_REASON_IO);
  EXPECT_EQ(vmcs(VMCS_RO_EXIT_QUALIFIC), (0x3f8ull << 16) | 3);
  EXPECT_EQ(reg(HV_X86_RIP), kCodeGpa + 6);
  EXPECT_EQ(vmcs(VMCS_RO_VMEXIT_INSTR_LEN), 2u);
  skip_insn();
  EXPECT_EQ(run(), VMX_REASON_HLT);
}

TEST_F(ExitTest, InIsCompletedByTheVmmNotByKvm) {
  load({0xe4, 0x60, 0xf4});  // in al,60h; hlt
  set(HV_X86_RAX, 0x1100);
  ASSERT_EQ(run(), VMX_REASON_IO);
  EXPECT_EQ(vmcs(VMCS_RO_EXIT_QUALIFIC), (0x60ull << 16) | 0x48);
  EXPECT_EQ(reg(HV_X86_RIP), kCodeGpa);
  EXPECT_EQ(reg(HV_X86_RAX), 0x1100u);  // KVM's own completion did not leak
  set(HV_X86_RAX, 0x1199);
  skip_insn();
  EXPECT_EQ(run(), VMX_REASON_HLT);
  EXPECT_EQ(reg(HV_X86_RAX), 0x1199u);
}

TEST_F(ExitTest, EptViolationOnUnmappedReadThenRetryAfterMapping) {
  ASSERT_EQ(hv_vm_unmap(0x20000, 0x1000), HV_SUCCESS);
  // mov ax,2000h; mov ds,ax; mov ax,[10h]; hlt
  load({0xb8, 0x00, 0x20, 0x8e, 0xd8, 0xa1, 0x10, 0x00, 0xf4});
  ASSERT_EQ(run(), VMX_REASON_EPT_VIOLATION);
  EXPECT_EQ(vmcs(VMCS_GUEST_PHYSICAL_ADDRESS), 0x20010u);
  uint64_t q = vmcs(VMCS_RO_EXIT_QUALIFIC);
  EXPECT_EQ(q & 7, 1u) << std::hex << q;          // data read
  EXPECT_EQ((q >> 3) & 7, 0u) << std::hex << q;   // page not present
  EXPECT_EQ(vmcs(VMCS_RO_GUEST_LIN_ADDR), 0x20010u);
  EXPECT_EQ(reg(HV_X86_RIP), kCodeGpa + 5);
  EXPECT_EQ(vmcs(VMCS_RO_VMEXIT_INSTR_LEN), 3u);
  EXPECT_EQ(reg(HV_X86_RAX), 0x2000u);  // nothing half-completed
  uint16_t val = 0xbeef;
  memcpy(ram.data() + 0x20010, &val, 2);
  ASSERT_EQ(hv_vm_map(ram.data() + 0x20000, 0x20000, 0x1000, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC),
            HV_SUCCESS);
  EXPECT_EQ(run(), VMX_REASON_HLT);
  EXPECT_EQ(reg(HV_X86_RAX), 0xbeefu);
}

// An instruction KVM's emulator cannot execute (x87) whose operand is MMIO:
// VMX gives the VMM the data access to emulate, with the linear address
// valid (qualification bits 7/8), which is what QEMU's hvf needs to emulate
// it rather than re-enter forever.
TEST_F(ExitTest, MmioOperandOfAnInstructionKvmCannotEmulateIsADataEptViolation) {
  ASSERT_EQ(hv_vm_unmap(0x20000, 0x1000), HV_SUCCESS);
  // mov ax,2000h; mov ds,ax; fld dword [10h]; hlt
  load({0xb8, 0x00, 0x20, 0x8e, 0xd8, 0xd9, 0x06, 0x10, 0x00, 0xf4});
  ASSERT_EQ(run(), VMX_REASON_EPT_VIOLATION);
  uint64_t q = vmcs(VMCS_RO_EXIT_QUALIFIC);
  EXPECT_EQ(q & 7, 1u) << std::hex << q;  // data read, not a fetch
  EXPECT_EQ(q & 0x180, 0x180u) << std::hex << q;
  EXPECT_EQ(vmcs(VMCS_GUEST_PHYSICAL_ADDRESS), 0x20010u);
  EXPECT_EQ(vmcs(VMCS_RO_GUEST_LIN_ADDR), 0x20010u);
  EXPECT_EQ(reg(HV_X86_RIP), kCodeGpa + 5);
  EXPECT_EQ(vmcs(VMCS_RO_VMEXIT_INSTR_LEN), 4u);
  skip_insn();  // the VMM emulated it
  EXPECT_EQ(run(), VMX_REASON_HLT);
}

TEST_F(ExitTest, EptViolationOnWriteToReadOnlyPageThenProtectAndRetry) {
  ASSERT_EQ(hv_vm_protect(0x20000, 0x1000, HV_MEMORY_READ), HV_SUCCESS);
  // mov ax,2000h; mov ds,ax; mov word [10h],1234h; hlt
  load({0xb8, 0x00, 0x20, 0x8e, 0xd8, 0xc7, 0x06, 0x10, 0x00, 0x34, 0x12, 0xf4});
  ASSERT_EQ(run(), VMX_REASON_EPT_VIOLATION);
  uint64_t q = vmcs(VMCS_RO_EXIT_QUALIFIC);
  EXPECT_EQ(q & 0x86, 0x82u) << std::hex << q;  // Apple's test: write to a readable page
  EXPECT_EQ((q >> 3) & 7, 1u) << std::hex << q;
  EXPECT_EQ(vmcs(VMCS_GUEST_PHYSICAL_ADDRESS), 0x20010u);
  EXPECT_EQ(reg(HV_X86_RIP), kCodeGpa + 5);
  EXPECT_EQ(vmcs(VMCS_RO_VMEXIT_INSTR_LEN), 6u);
  uint16_t val;
  memcpy(&val, ram.data() + 0x20010, 2);
  EXPECT_EQ(val, 0);
  ASSERT_EQ(hv_vm_protect(0x20000, 0x1000, HV_MEMORY_READ | HV_MEMORY_WRITE), HV_SUCCESS);
  EXPECT_EQ(run(), VMX_REASON_HLT);
  memcpy(&val, ram.data() + 0x20010, 2);
  EXPECT_EQ(val, 0x1234);
}

TEST_F(ExitTest, EptViolationOnInstructionFetch) {
  ASSERT_EQ(hv_vm_unmap(0x30000, 0x1000), HV_SUCCESS);
  load({0xea, 0x00, 0x00, 0x00, 0x30});  // jmp 3000h:0000h
  ASSERT_EQ(run(), VMX_REASON_EPT_VIOLATION);
  uint64_t q = vmcs(VMCS_RO_EXIT_QUALIFIC);
  EXPECT_EQ(q & 7, 4u) << std::hex << q;
  EXPECT_EQ(vmcs(VMCS_GUEST_PHYSICAL_ADDRESS), 0x30000u);
  EXPECT_EQ(reg(HV_X86_RIP), 0u);
  EXPECT_EQ(reg(HV_X86_CS), 0x3000u);
}

TEST_F(ExitTest, InterruptFromAnotherThreadGivesIrqExit) {
  load({0xeb, 0xfe});  // jmp $
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    hv_vcpuid_t id = vcpu;
    EXPECT_EQ(hv_vcpu_interrupt(&id, 1), HV_SUCCESS);
  });
  EXPECT_EQ(run(), VMX_REASON_IRQ);
  t.join();
  EXPECT_EQ(reg(HV_X86_RIP), kCodeGpa);
}

TEST_F(ExitTest, InterruptBeforeRunIsNotLost) {
  load({0xeb, 0xfe});
  hv_vcpuid_t id = vcpu;
  ASSERT_EQ(hv_vcpu_interrupt(&id, 1), HV_SUCCESS);
  EXPECT_EQ(run(), VMX_REASON_IRQ);
  hv_vcpuid_t bogus = 77;
  EXPECT_EQ(hv_vcpu_interrupt(&bogus, 1), HV_BAD_ARGUMENT);
}

TEST_F(ExitTest, RunUntilDeadline) {
  load({0xeb, 0xfe});
  uint64_t t0 = now_ns();
  ASSERT_EQ(hv_vcpu_run_until(vcpu, t0 + 20000000), HV_SUCCESS);
  EXPECT_EQ(vmcs(VMCS_RO_EXIT_REASON), VMX_REASON_VMX_TIMER_EXPIRED);
  EXPECT_GE(now_ns() - t0, 20000000u);
  ASSERT_EQ(hv_vcpu_run_until(vcpu, t0), HV_SUCCESS);  // already expired
  EXPECT_EQ(vmcs(VMCS_RO_EXIT_REASON), VMX_REASON_VMX_TIMER_EXPIRED);
  uint64_t ns = 0;
  ASSERT_EQ(hv_vcpu_get_exec_time(vcpu, &ns), HV_SUCCESS);
  EXPECT_GT(ns, 10000000u);
}

TEST_F(ExitTest, InterruptWindowExiting) {
  load({0xfb, 0x90, 0xeb, 0xfe});  // sti; nop; jmp $
  setv(VMCS_CTRL_CPU_BASED, vmcs(VMCS_CTRL_CPU_BASED) | CPU_BASED_IRQ_WND);
  ASSERT_EQ(run(), VMX_REASON_IRQ_WND);
  EXPECT_TRUE(reg(HV_X86_RFLAGS) & 0x200);
}

TEST_F(ExitTest, EventInjectionDeliversThroughTheGuestIvt) {
  // IVT[30h] -> 0000:2000: mov al,77h; out 31h,al; hlt
  uint16_t ivt[2] = {0x2000, 0};
  memcpy(ram.data() + 0x30 * 4, ivt, 4);
  const uint8_t handler[] = {0xb0, 0x77, 0xe6, 0x31, 0xf4};
  memcpy(ram.data() + 0x2000, handler, sizeof handler);
  load({0xeb, 0xfe});
  setv(VMCS_CTRL_VMENTRY_IRQ_INFO, IRQ_INFO_VALID | IRQ_INFO_EXT_IRQ | 0x30);
  ASSERT_EQ(run(), VMX_REASON_IO);
  EXPECT_EQ(vmcs(VMCS_RO_EXIT_QUALIFIC) >> 16, 0x31u);
  EXPECT_EQ(reg(HV_X86_RIP), 0x2002u);
  EXPECT_EQ(vmcs(VMCS_CTRL_VMENTRY_IRQ_INFO) & IRQ_INFO_VALID, 0u);
  EXPECT_EQ(reg(HV_X86_RSP), 0x8000u - 6);
}

TEST_F(ExitTest, TripleFaultInProtectedModeWithEmptyIdt) {
  load({0x0f, 0x0b});  // ud2
  setv(VMCS_GUEST_CR0, 0x21);
  setv(VMCS_GUEST_CS, 0x8);
  setv(VMCS_GUEST_CS_AR, 0xc09b);
  setv(VMCS_GUEST_CS_LIMIT, 0xffffffff);
  for (uint32_t f : {VMCS_GUEST_DS_AR, VMCS_GUEST_ES_AR, VMCS_GUEST_SS_AR}) setv(f, 0xc093);
  for (uint32_t f : {VMCS_GUEST_DS_LIMIT, VMCS_GUEST_ES_LIMIT, VMCS_GUEST_SS_LIMIT}) setv(f, 0xffffffff);
  setv(VMCS_GUEST_IDTR_LIMIT, 0);
  EXPECT_EQ(run(), VMX_REASON_TRIPLE_FAULT);
}

}  // namespace
}  // namespace vcputest

namespace vcputest {
namespace {

TEST_F(ExitTest, RdmsrOfNonNativeMsrExitsAndNativeDoesNot) {
  // mov ecx,174h; rdmsr; hlt
  load({0x66, 0xb9, 0x74, 0x01, 0x00, 0x00, 0x0f, 0x32, 0xf4});
  ASSERT_EQ(hv_vcpu_write_msr(vcpu, 0x174, 0x33), HV_SUCCESS);
  set(HV_X86_RAX, 0x5a5a);
  ASSERT_EQ(run(), VMX_REASON_RDMSR);
  EXPECT_EQ(reg(HV_X86_RIP), kCodeGpa + 6);
  EXPECT_EQ(vmcs(VMCS_RO_VMEXIT_INSTR_LEN), 2u);
  EXPECT_EQ(reg(HV_X86_RCX), 0x174u);
  EXPECT_EQ(reg(HV_X86_RAX), 0x5a5au);  // untouched until the VMM emulates
  set(HV_X86_RAX, 0x99);
  skip_insn();
  EXPECT_EQ(run(), VMX_REASON_HLT);
  EXPECT_EQ(reg(HV_X86_RAX), 0x99u);
  ASSERT_EQ(hv_vcpu_enable_native_msr(vcpu, 0x174, true), HV_SUCCESS);
  set(HV_X86_RIP, kCodeGpa);
  EXPECT_EQ(run(), VMX_REASON_HLT);
  EXPECT_EQ(reg(HV_X86_RAX), 0x33u);
}

TEST_F(ExitTest, WrmsrOfNonNativeMsrExits) {
  // mov ecx,175h; mov eax,1234h; xor edx,edx; wrmsr; hlt
  load({0x66, 0xb9, 0x75, 0x01, 0x00, 0x00, 0x66, 0xb8, 0x34, 0x12, 0x00, 0x00, 0x66, 0x31, 0xd2, 0x0f, 0x30, 0xf4});
  ASSERT_EQ(run(), VMX_REASON_WRMSR);
  EXPECT_EQ(reg(HV_X86_RIP), kCodeGpa + 15);
  EXPECT_EQ(reg(HV_X86_RAX), 0x1234u);
  uint64_t v = 1;
  ASSERT_EQ(hv_vcpu_read_msr(vcpu, 0x175, &v), HV_SUCCESS);
  EXPECT_EQ(v, 0u);  // not written behind the VMM's back
  skip_insn();
  EXPECT_EQ(run(), VMX_REASON_HLT);
}

TEST_F(ExitTest, CpuidIsAnsweredByKvmWithoutAnExit) {
  // xor eax,eax; cpuid; hlt  -- documented deviation: no VMX_REASON_CPUID
  load({0x66, 0x31, 0xc0, 0x0f, 0xa2, 0xf4});
  EXPECT_EQ(run(), VMX_REASON_HLT);
  EXPECT_NE(reg(HV_X86_RBX), 0u);  // vendor string
}

}  // namespace
}  // namespace vcputest

namespace vcputest {
namespace {

TEST_F(ExitTest, StateKvmRejectsGivesVmEntryFailureAndIsKept) {
  load({0xf4});
  // CR4.PCIDE outside long mode: a VM-entry failure on VMX, EINVAL on KVM.
  setv(VMCS_GUEST_CR4, 0x22000);
  ASSERT_EQ(hv_vcpu_run(vcpu), HV_SUCCESS);
  EXPECT_EQ(vmcs(VMCS_RO_EXIT_REASON), VMX_REASON_VMENTRY_GUEST | 0x80000000u);
  EXPECT_EQ(vmcs(VMCS_GUEST_CR4), 0x22000u);
  EXPECT_EQ(reg(HV_X86_RIP), kCodeGpa);
  setv(VMCS_GUEST_CR4, 0x2000);
  EXPECT_EQ(run(), VMX_REASON_HLT);
}

TEST_F(ExitTest, HltWithoutHltExitingWaitsForAKick) {
  load({0xf4});
  setv(VMCS_CTRL_CPU_BASED, vmcs(VMCS_CTRL_CPU_BASED) & ~static_cast<uint64_t>(CPU_BASED_HLT));
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    hv_vcpuid_t id = vcpu;
    hv_vcpu_interrupt(&id, 1);
  });
  EXPECT_EQ(run(), VMX_REASON_IRQ);
  t.join();
  EXPECT_EQ(vmcs(VMCS_GUEST_ACTIVITY_STATE), 1u);
}

}  // namespace
}  // namespace vcputest

namespace vcputest {
namespace {

TEST_F(ExitTest, RepOutsbIsReportedBeforeItStarts) {
  // mov si,3000h; mov cx,3; mov dx,0e9h; rep outsb; hlt
  memcpy(ram.data() + 0x3000, "abc", 3);
  load({0xbe, 0x00, 0x30, 0xb9, 0x03, 0x00, 0xba, 0xe9, 0x00, 0xf3, 0x6e, 0xf4});
  ASSERT_EQ(run(), VMX_REASON_IO);
  uint64_t q = vmcs(VMCS_RO_EXIT_QUALIFIC);
  EXPECT_EQ(q, (0xe9ull << 16) | 0x30) << std::hex << q;  // string, rep, size 1, out, DX
  EXPECT_EQ(reg(HV_X86_RIP), kCodeGpa + 9);
  EXPECT_EQ(vmcs(VMCS_RO_VMEXIT_INSTR_LEN), 2u);
  EXPECT_EQ(reg(HV_X86_RCX), 3u);
  EXPECT_EQ(reg(HV_X86_RSI), 0x3000u);
  // The VMM emulates the whole REP OUTSB, as xhyve/QEMU do.
  set(HV_X86_RCX, 0);
  set(HV_X86_RSI, 0x3003);
  skip_insn();
  EXPECT_EQ(run(), VMX_REASON_HLT);
}

}  // namespace
}  // namespace vcputest
