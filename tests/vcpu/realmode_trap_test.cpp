// hvdos-style real-mode traps: the VMM intercepts every exception
// (bitmap 0xffffffff) and sets the IDT limit to 0, so that each INT n
// becomes an exception exit whose IDT-vectoring information names n.
#include <chrono>

#include "vcpu_fixture.h"

namespace vcputest {
namespace {

class RealModeTrapTest : public VcpuTest {
 protected:
  void hvdos_setup() {
    setv(VMCS_CTRL_EXC_BITMAP, 0xffffffff);
    setv(VMCS_GUEST_IDTR_BASE, 0);
    setv(VMCS_GUEST_IDTR_LIMIT, 0);
  }
};

TEST_F(RealModeTrapTest, Int21BecomesExceptionExitWithVectoringInfo) {
  load({0xb4, 0x09, 0xcd, 0x21, 0xf4});  // mov ah,9; int 21h; hlt
  hvdos_setup();
  ASSERT_EQ(run(), VMX_REASON_EXC_NMI);
  EXPECT_EQ(vmcs(VMCS_RO_IDT_VECTOR_INFO), 0x80000421u);
  EXPECT_EQ(vmcs(VMCS_RO_VMEXIT_IRQ_INFO), 0x8000030du);
  EXPECT_EQ(vmcs(VMCS_RO_VMEXIT_INSTR_LEN), 2u);
  EXPECT_EQ(reg(HV_X86_RIP), kCodeGpa + 2);
  EXPECT_EQ(reg(HV_X86_RSP), 0x8000u);
  EXPECT_EQ(reg(HV_X86_CS), 0u);
  EXPECT_EQ(vmcs(VMCS_GUEST_IDTR_LIMIT), 0u);  // the VMM's view, not the relocation
  EXPECT_EQ(reg(HV_X86_IDT_LIMIT), 0u);
  set(HV_X86_RAX, 0x1234);
  set(HV_X86_RIP, reg(HV_X86_RIP) + 2);
  EXPECT_EQ(run(), VMX_REASON_HLT);
  EXPECT_EQ(reg(HV_X86_RAX), 0x1234u);
  EXPECT_EQ(reg(HV_X86_RSP), 0x8000u);
}

TEST_F(RealModeTrapTest, LoopOfTrapsKeepsFlagsAndStack) {
  // mov cx,100; l: int 21h; loop l; hlt
  load({0xb9, 0x64, 0x00, 0xcd, 0x21, 0xe2, 0xfc, 0xf4});
  hvdos_setup();
  set(HV_X86_RFLAGS, 0x202);
  int traps = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    uint64_t r = run();
    if (r != VMX_REASON_EXC_NMI) {
      EXPECT_EQ(r, VMX_REASON_HLT);
      break;
    }
    ASSERT_EQ(vmcs(VMCS_RO_IDT_VECTOR_INFO) & 0xff, 0x21u);
    if (++traps == 1) t0 = std::chrono::steady_clock::now();  // first one installs IVT'
    set(HV_X86_RDX, reg(HV_X86_RDX) + 1);
    set(HV_X86_RIP, reg(HV_X86_RIP) + 2);
    ASSERT_LE(traps, 100);
  }
  auto us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  printf("[ measure  ] real-mode INT 21h trap round trip (VMM work included, after the first): %.1f us\n", us / 100);
  EXPECT_EQ(traps, 100);
  EXPECT_EQ(reg(HV_X86_RDX), 100u);
  EXPECT_EQ(reg(HV_X86_RSP), 0x8000u);
  EXPECT_EQ(reg(HV_X86_RFLAGS) & 0x200, 0x200u);
}

TEST_F(RealModeTrapTest, InLimitVectorsStillRunTheGuestHandler) {
  // IVT[22h] -> 0:2000 (inc dx; iret). int 22h twice, then hlt.
  uint16_t ivt[2] = {0x2000, 0};
  memcpy(ram.data() + 0x22 * 4, ivt, 4);
  ram.data()[0x2000] = 0x42;
  ram.data()[0x2001] = 0xcf;
  load({0xcd, 0x22, 0xcd, 0x22, 0xf4});
  setv(VMCS_CTRL_EXC_BITMAP, 0xffffffff);
  setv(VMCS_GUEST_IDTR_LIMIT, 0x3ff);
  EXPECT_EQ(run(), VMX_REASON_HLT);
  EXPECT_EQ(reg(HV_X86_RDX), 2u);
  EXPECT_EQ(reg(HV_X86_RSP), 0x8000u);
}

TEST_F(RealModeTrapTest, Int3InterceptedAsSoftwareException) {
  load({0x90, 0xcc, 0xf4});
  setv(VMCS_CTRL_EXC_BITMAP, 1u << 3);
  ASSERT_EQ(run(), VMX_REASON_EXC_NMI);
  EXPECT_EQ(vmcs(VMCS_RO_VMEXIT_IRQ_INFO), 0x80000603u);
  EXPECT_EQ(vmcs(VMCS_RO_VMEXIT_INSTR_LEN), 1u);
  EXPECT_EQ(reg(HV_X86_RIP), kCodeGpa + 1);
}

TEST_F(RealModeTrapTest, NoTrapWhenNoExceptionIsIntercepted) {
  // Without an exception bitmap the guest's own IVT is used directly.
  uint16_t ivt[2] = {0x2000, 0};
  memcpy(ram.data() + 0x22 * 4, ivt, 4);
  ram.data()[0x2000] = 0x42;
  ram.data()[0x2001] = 0xcf;
  load({0xcd, 0x22, 0xf4});
  EXPECT_EQ(run(), VMX_REASON_HLT);
  EXPECT_EQ(reg(HV_X86_RDX), 1u);
}

// A tiny DOS-like program driven only through the public API, as hvdos
// does: INT 21h/AH=09h prints a '$'-terminated string, AH=02h prints DL,
// AH=4Ch exits; port 0xE9 output is collected too.
TEST_F(RealModeTrapTest, HvdosLikeProgram) {
  const char msg[] = "Hello from real mode$";
  memcpy(ram.data() + 0x3000, msg, sizeof msg);
  // mov dx,3000h; mov ah,9; int 21h; mov dl,'!'; mov ah,2; int 21h;
  // mov al,'#'; out 0E9h,al; mov ax,4C00h; int 21h; hlt
  load({0xba, 0x00, 0x30, 0xb4, 0x09, 0xcd, 0x21, 0xb2, 0x21, 0xb4, 0x02, 0xcd, 0x21,
        0xb0, 0x23, 0xe6, 0xe9, 0xb8, 0x00, 0x4c, 0xcd, 0x21, 0xf4});
  uint64_t cap;
  ASSERT_EQ(hv_vmx_read_capability(HV_VMX_CAP_PINBASED, &cap), HV_SUCCESS);
  setv(VMCS_CTRL_PIN_BASED, cap2ctrl(cap, 0));
  ASSERT_EQ(hv_vmx_read_capability(HV_VMX_CAP_PROCBASED, &cap), HV_SUCCESS);
  setv(VMCS_CTRL_CPU_BASED, cap2ctrl(cap, CPU_BASED_HLT | CPU_BASED_CR8_LOAD | CPU_BASED_CR8_STORE));
  ASSERT_EQ(hv_vmx_read_capability(HV_VMX_CAP_PROCBASED2, &cap), HV_SUCCESS);
  setv(VMCS_CTRL_CPU_BASED2, cap2ctrl(cap, 0));
  ASSERT_EQ(hv_vmx_read_capability(HV_VMX_CAP_ENTRY, &cap), HV_SUCCESS);
  setv(VMCS_CTRL_VMENTRY_CONTROLS, cap2ctrl(cap, 0));
  setv(VMCS_CTRL_CR0_MASK, 0x60000000);
  setv(VMCS_CTRL_CR0_SHADOW, 0);
  setv(VMCS_CTRL_CR4_MASK, 0);
  setv(VMCS_CTRL_CR4_SHADOW, 0);
  setv(VMCS_GUEST_CR0, 0x20);
  setv(VMCS_GUEST_CR3, 0);
  setv(VMCS_GUEST_CR4, 0x2000);
  for (uint32_t base : {VMCS_GUEST_CS, VMCS_GUEST_DS, VMCS_GUEST_ES, VMCS_GUEST_FS, VMCS_GUEST_GS, VMCS_GUEST_SS}) {
    setv(base, 0);
    setv(base - VMCS_GUEST_ES + VMCS_GUEST_ES_LIMIT, 0xffff);
    setv(base - VMCS_GUEST_ES + VMCS_GUEST_ES_AR, base == VMCS_GUEST_CS ? 0x9b : 0x93);
    setv(base - VMCS_GUEST_ES + VMCS_GUEST_ES_BASE, 0);
  }
  setv(VMCS_GUEST_LDTR_AR, 0x10000);
  setv(VMCS_GUEST_TR_AR, 0x83);
  setv(VMCS_GUEST_GDTR_LIMIT, 0);
  setv(VMCS_GUEST_GDTR_BASE, 0);
  setv(VMCS_GUEST_IDTR_LIMIT, 0);
  setv(VMCS_GUEST_IDTR_BASE, 0);
  setv(VMCS_CTRL_EXC_BITMAP, 0xffffffff);
  std::string out;
  bool exited = false;
  for (int i = 0; i < 50 && !exited; ++i) {
    uint64_t r = run();
    if (r == VMX_REASON_EXC_NMI) {
      ASSERT_EQ(vmcs(VMCS_RO_IDT_VECTOR_INFO) & 0xff, 0x21u);
      uint64_t ax = reg(HV_X86_RAX);
      switch ((ax >> 8) & 0xff) {
        case 0x09:
          for (uint64_t p = reg(HV_X86_RDX); ram.data()[p] != '$'; ++p) out += static_cast<char>(ram.data()[p]);
          break;
        case 0x02: out += static_cast<char>(reg(HV_X86_RDX) & 0xff); break;
        case 0x4c: exited = true; break;
        default: FAIL() << "unexpected DOS call " << std::hex << ax;
      }
      set(HV_X86_RIP, reg(HV_X86_RIP) + 2);
    } else if (r == VMX_REASON_IO) {
      ASSERT_EQ(vmcs(VMCS_RO_EXIT_QUALIFIC) >> 16, 0xe9u);
      out += static_cast<char>(reg(HV_X86_RAX) & 0xff);
      skip_insn();
    } else if (r == VMX_REASON_IRQ || r == VMX_REASON_EPT_VIOLATION) {
      continue;  // as hvdos: resume
    } else {
      FAIL() << "unexpected exit " << r;
    }
  }
  EXPECT_TRUE(exited);
  EXPECT_EQ(out, "Hello from real mode!#");
}

}  // namespace
}  // namespace vcputest
