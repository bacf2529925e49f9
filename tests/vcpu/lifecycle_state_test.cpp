// vCPU lifecycle, thread binding, registers (Apple's order), fpstate, MSRs
// and the VMCS view (defaults, capabilities, hidden VMX-only bits).
#include <thread>

#include "hvapi/vcpu/decode.h"
#include "vcpu_fixture.h"

namespace vcputest {
namespace {

using LifecycleTest = VcpuTest;

TEST_F(LifecycleTest, IdsAreLowestFreeFirst) {
  EXPECT_EQ(vcpu, 0u);
  hv_vcpuid_t a, b, c;
  ASSERT_EQ(hv_vcpu_create(&a, HV_VCPU_DEFAULT), HV_SUCCESS);
  ASSERT_EQ(hv_vcpu_create(&b, HV_VCPU_DEFAULT), HV_SUCCESS);
  EXPECT_EQ(a, 1u);
  EXPECT_EQ(b, 2u);
  ASSERT_EQ(hv_vcpu_destroy(a), HV_SUCCESS);
  ASSERT_EQ(hv_vcpu_create(&c, HV_VCPU_DEFAULT), HV_SUCCESS);
  EXPECT_EQ(c, 1u);
  EXPECT_EQ(hv_vcpu_destroy(c), HV_SUCCESS);
  EXPECT_EQ(hv_vcpu_destroy(b), HV_SUCCESS);
  EXPECT_EQ(hv_vcpu_destroy(b), HV_BAD_ARGUMENT);
}

TEST_F(LifecycleTest, UnknownIdsAndBadArguments) {
  uint64_t v;
  EXPECT_EQ(hv_vcpu_read_register(42, HV_X86_RAX, &v), HV_BAD_ARGUMENT);
  EXPECT_EQ(hv_vcpu_run(42), HV_BAD_ARGUMENT);
  EXPECT_EQ(hv_vcpu_destroy(42), HV_BAD_ARGUMENT);
  EXPECT_EQ(hv_vcpu_read_register(vcpu, static_cast<hv_x86_reg_t>(51), &v), HV_BAD_ARGUMENT);
  EXPECT_EQ(hv_vcpu_read_register(vcpu, HV_X86_RAX, nullptr), HV_BAD_ARGUMENT);
  EXPECT_EQ(hv_vcpu_create(nullptr, HV_VCPU_DEFAULT), HV_BAD_ARGUMENT);
}

TEST_F(LifecycleTest, VmDestroyIsBusyWhileVcpusLive) { EXPECT_EQ(hv_vm_destroy(), HV_BUSY); }

TEST_F(LifecycleTest, OtherThreadsAreDeniedExceptInterrupt) {
  std::thread t([&] {
    uint64_t v;
    EXPECT_EQ(hv_vcpu_read_register(vcpu, HV_X86_RAX, &v), HV_DENIED);
    EXPECT_EQ(hv_vcpu_write_register(vcpu, HV_X86_RAX, 1), HV_DENIED);
    EXPECT_EQ(hv_vcpu_run(vcpu), HV_DENIED);
    EXPECT_EQ(hv_vcpu_destroy(vcpu), HV_DENIED);
    EXPECT_EQ(hv_vmx_vcpu_read_vmcs(vcpu, VMCS_GUEST_RIP, &v), HV_DENIED);
    hv_vcpuid_t id = vcpu;
    EXPECT_EQ(hv_vcpu_interrupt(&id, 1), HV_SUCCESS);
    // A vCPU of this thread works here and is destroyed here.
    hv_vcpuid_t mine;
    ASSERT_EQ(hv_vcpu_create(&mine, HV_VCPU_DEFAULT), HV_SUCCESS);
    EXPECT_EQ(mine, 1u);
    EXPECT_EQ(hv_vcpu_write_register(mine, HV_X86_RBX, 7), HV_SUCCESS);
    EXPECT_EQ(hv_vcpu_destroy(mine), HV_SUCCESS);
  });
  t.join();
  load({0xf4});
  EXPECT_EQ(run(), VMX_REASON_IRQ);  // the kick from the other thread is pending
}

TEST_F(LifecycleTest, GprsUseApplesOrder) {
  const hv_x86_reg_t regs[] = {HV_X86_RAX, HV_X86_RCX, HV_X86_RDX, HV_X86_RBX, HV_X86_RSI, HV_X86_RDI,
                               HV_X86_RSP, HV_X86_RBP, HV_X86_R8,  HV_X86_R9,  HV_X86_R10, HV_X86_R11,
                               HV_X86_R12, HV_X86_R13, HV_X86_R14, HV_X86_R15};
  for (unsigned i = 0; i < 16; ++i) set(regs[i], 0x1111111100000000ull | i);
  for (unsigned i = 0; i < 16; ++i) EXPECT_EQ(reg(regs[i]), 0x1111111100000000ull | i);
  // A guest sees them in the same places: mov ax,cx / out 80h,ax
  set(HV_X86_RCX, 0xabcd);
  load({0x89, 0xc8, 0xe7, 0x80, 0xf4});
  ASSERT_EQ(run(), VMX_REASON_IO);
  EXPECT_EQ(reg(HV_X86_RAX) & 0xffff, 0xabcdu);
  EXPECT_EQ(vmcs(VMCS_RO_EXIT_QUALIFIC) & 7, 1u);  // 2-byte access
}

TEST_F(LifecycleTest, RipRflagsRspAliasTheVmcsFields) {
  set(HV_X86_RIP, 0x1234);
  EXPECT_EQ(vmcs(VMCS_GUEST_RIP), 0x1234u);
  setv(VMCS_GUEST_RSP, 0x4444);
  EXPECT_EQ(reg(HV_X86_RSP), 0x4444u);
  set(HV_X86_RFLAGS, 0x202);
  EXPECT_EQ(vmcs(VMCS_GUEST_RFLAGS), 0x202u);
}

TEST_F(LifecycleTest, TprIsInApicFormat) {
  set(HV_X86_TPR, 0x50);
  EXPECT_EQ(reg(HV_X86_TPR), 0x50u);
}

TEST_F(LifecycleTest, SegmentsControlAndDebugRegisters) {
  set(HV_X86_DS, 0x1234);
  EXPECT_EQ(vmcs(VMCS_GUEST_DS), 0x1234u);
  setv(VMCS_GUEST_ES_AR, 0xc093);
  EXPECT_EQ(vmcs(VMCS_GUEST_ES_AR), 0xc093u);
  setv(VMCS_GUEST_FS_BASE, 0x123000);
  EXPECT_EQ(vmcs(VMCS_GUEST_FS_BASE), 0x123000u);
  set(HV_X86_GDT_BASE, 0x5000);
  set(HV_X86_GDT_LIMIT, 0x27);
  EXPECT_EQ(vmcs(VMCS_GUEST_GDTR_BASE), 0x5000u);
  EXPECT_EQ(vmcs(VMCS_GUEST_GDTR_LIMIT), 0x27u);
  set(HV_X86_TSS_AR, 0x8b);
  EXPECT_EQ(reg(HV_X86_TSS_AR), 0x8bu);
  set(HV_X86_DR0, 0x1000);
  set(HV_X86_DR7, 0x500);
  set(HV_X86_CR2, 0xdead000);
  EXPECT_EQ(reg(HV_X86_DR0), 0x1000u);
  EXPECT_EQ(vmcs(VMCS_GUEST_DR7), 0x500u);
  EXPECT_EQ(reg(HV_X86_CR2), 0xdead000u);
  set(HV_X86_XCR0, 3);
  EXPECT_EQ(reg(HV_X86_XCR0), 3u);
  EXPECT_EQ(hv_vcpu_write_register(vcpu, HV_X86_XCR0, 2), HV_BAD_ARGUMENT);
  load({0xf4});
  EXPECT_EQ(run(), VMX_REASON_HLT);  // all of it accepted by KVM
  EXPECT_EQ(reg(HV_X86_DR0), 0x1000u);
}

TEST_F(LifecycleTest, VmxOnlyCrBitsAreKeptForTheVmmAndHiddenFromKvm) {
  setv(VMCS_GUEST_CR4, 0x2000);
  setv(VMCS_GUEST_CR0, 0x20);
  EXPECT_EQ(vmcs(VMCS_GUEST_CR4), 0x2000u);
  EXPECT_EQ(reg(HV_X86_CR4) & 0x2000, 0x2000u);
  EXPECT_EQ(hv_vmx_vcpu_write_vmcs(vcpu, VMCS_GUEST_CR0, 0x60000020), HV_BAD_ARGUMENT);
  EXPECT_EQ(hv_vmx_vcpu_write_vmcs(vcpu, VMCS_GUEST_CR0, 0x80000020), HV_BAD_ARGUMENT);
  setv(VMCS_CTRL_CR4_MASK, 0x2000);
  setv(VMCS_CTRL_CR4_SHADOW, 0);
  EXPECT_EQ(vmcs(VMCS_CTRL_CR4_MASK), 0x2000u);
  load({0xf4});
  EXPECT_EQ(run(), VMX_REASON_HLT);
  EXPECT_EQ(vmcs(VMCS_GUEST_CR4) & 0x2000, 0x2000u);
}

TEST_F(LifecycleTest, FpstateRoundTripAndSizeCheck) {
  std::vector<uint8_t> buf(4096);
  ASSERT_EQ(hv_vcpu_read_fpstate(vcpu, buf.data(), buf.size()), HV_SUCCESS);
  // XMM0 lives at offset 160 of the legacy region.
  for (int i = 0; i < 16; ++i) buf[160 + i] = static_cast<uint8_t>(0xa0 + i);
  buf[512] |= 2;  // XSTATE_BV: the SSE component is in the image
  ASSERT_EQ(hv_vcpu_write_fpstate(vcpu, buf.data(), buf.size()), HV_SUCCESS);
  std::vector<uint8_t> back(4096);
  ASSERT_EQ(hv_vcpu_read_fpstate(vcpu, back.data(), back.size()), HV_SUCCESS);
  EXPECT_EQ(0, memcmp(back.data() + 160, buf.data() + 160, 16));
  EXPECT_EQ(hv_vcpu_read_fpstate(vcpu, buf.data(), 100), HV_BAD_ARGUMENT);
  EXPECT_EQ(hv_vcpu_write_fpstate(vcpu, nullptr, 4096), HV_BAD_ARGUMENT);
}

TEST_F(LifecycleTest, MsrsNativeAndManaged) {
  ASSERT_EQ(hv_vcpu_write_msr(vcpu, 0x174, 0x10), HV_SUCCESS);  // SYSENTER_CS
  uint64_t v = 0;
  ASSERT_EQ(hv_vcpu_read_msr(vcpu, 0x174, &v), HV_SUCCESS);
  EXPECT_EQ(v, 0x10u);
  EXPECT_EQ(vmcs(VMCS_GUEST_IA32_SYSENTER_CS), 0x10u);
  ASSERT_EQ(hv_vcpu_write_msr(vcpu, 0xc0000102, 0xffff800000001000ull), HV_SUCCESS);  // KERNEL_GS_BASE
  ASSERT_EQ(hv_vcpu_read_msr(vcpu, 0xc0000102, &v), HV_SUCCESS);
  EXPECT_EQ(v, 0xffff800000001000ull);
  ASSERT_EQ(hv_vcpu_write_msr(vcpu, 0xc0000100, 0x7000), HV_SUCCESS);  // FS_BASE
  EXPECT_EQ(vmcs(VMCS_GUEST_FS_BASE), 0x7000u);
  for (uint32_t m : {0xc0000081u, 0xc0000082u, 0xc0000083u, 0xc0000084u, 0xc0000102u, 0x10u, 0x174u, 0x175u,
                     0x176u, 0xc0000100u, 0xc0000101u, 0xc0000103u})
    EXPECT_EQ(hv_vcpu_enable_native_msr(vcpu, m, true), HV_SUCCESS) << std::hex << m;
  EXPECT_EQ(hv_vcpu_read_msr(vcpu, 0xdeadbeef, &v), HV_BAD_ARGUMENT);
  EXPECT_EQ(hv_vcpu_enable_managed_msr(vcpu, 0x174, true), HV_UNSUPPORTED);
  EXPECT_EQ(hv_vcpu_set_msr_access(vcpu, 0x174, HV_MSR_READ), HV_UNSUPPORTED);
}

TEST_F(LifecycleTest, MiscCalls) {
  EXPECT_EQ(hv_vcpu_flush(vcpu), HV_SUCCESS);
  EXPECT_EQ(hv_vcpu_invalidate_tlb(vcpu), HV_SUCCESS);
  EXPECT_EQ(hv_vm_sync_tsc(0), HV_SUCCESS);
  EXPECT_GT(hv_tsc_clock(), 0u);
  EXPECT_EQ(hv_vcpu_set_tsc_relative(vcpu, 5), HV_UNSUPPORTED);
  uint64_t v;
  EXPECT_EQ(hv_vmx_vcpu_read_shadow_vmcs(vcpu, VMCS_GUEST_RIP, &v), HV_UNSUPPORTED);
  EXPECT_EQ(hv_vmx_vcpu_write_shadow_vmcs(vcpu, VMCS_GUEST_RIP, 0), HV_UNSUPPORTED);
  EXPECT_EQ(hv_vmx_vcpu_set_shadow_access(vcpu, VMCS_GUEST_RIP, HV_SHADOW_VMCS_READ), HV_UNSUPPORTED);
  EXPECT_EQ(hv_vmx_get_msr_info(HV_VMX_INFO_MSR_IA32_ARCH_CAPABILITIES, &v), HV_SUCCESS);
  EXPECT_EQ(hv_vmx_vcpu_set_apic_address(vcpu, 0xfee00000), HV_SUCCESS);
  EXPECT_EQ(vmcs(VMCS_CTRL_APIC_ACCESS), 0xfee00000u);
  load({0xf4});
  EXPECT_EQ(run(), VMX_REASON_HLT);
}

using VmcsTest = VcpuTest;

TEST_F(VmcsTest, CapabilityFormatAndRealModeCanonicalControls) {
  uint64_t cap;
  ASSERT_EQ(hv_vmx_read_capability(HV_VMX_CAP_PROCBASED2, &cap), HV_SUCCESS);
  EXPECT_EQ(cap2ctrl(cap, 0) & (CPU_BASED2_EPT | CPU_BASED2_UNRESTRICTED),
            static_cast<uint64_t>(CPU_BASED2_EPT | CPU_BASED2_UNRESTRICTED));
  for (auto c : {HV_VMX_CAP_PINBASED, HV_VMX_CAP_PROCBASED, HV_VMX_CAP_ENTRY, HV_VMX_CAP_EXIT}) {
    ASSERT_EQ(hv_vmx_read_capability(c, &cap), HV_SUCCESS);
    EXPECT_EQ((cap & 0xffffffff) & ~(cap >> 32), 0u) << c;  // must-be-1 is a subset of allowed-1
  }
  ASSERT_EQ(hv_vmx_read_capability(HV_VMX_CAP_PROCBASED, &cap), HV_SUCCESS);
  EXPECT_TRUE((cap >> 32) & CPU_BASED_HLT);
  EXPECT_EQ(hv_vmx_read_capability(static_cast<hv_vmx_capability_t>(40), &cap), HV_BAD_ARGUMENT);
}

TEST_F(VmcsTest, DefaultsAfterCreate) {
  uint64_t cap;
  ASSERT_EQ(hv_vmx_read_capability(HV_VMX_CAP_PROCBASED2, &cap), HV_SUCCESS);
  EXPECT_EQ(vmcs(VMCS_CTRL_CPU_BASED2), cap2ctrl(cap, 0));
  ASSERT_EQ(hv_vmx_read_capability(HV_VMX_CAP_PROCBASED, &cap), HV_SUCCESS);
  EXPECT_EQ(vmcs(VMCS_CTRL_CPU_BASED), cap2ctrl(cap, 0));
  EXPECT_EQ(vmcs(VMCS_GUEST_CS_AR), 0x9bu);
  EXPECT_EQ(vmcs(VMCS_GUEST_CS_LIMIT), 0xffffu);
  EXPECT_EQ(vmcs(VMCS_GUEST_RFLAGS), 2u);
  EXPECT_EQ(vmcs(VMCS_GUEST_CR0) & 1, 0u);
  EXPECT_EQ(vmcs(VMCS_GUEST_LINK_POINTER), ~0ull);
}

TEST_F(VmcsTest, OnlyCpuBasedTouchedRunsRealModeCode) {
  // As orklann/hvf-examples real_mode.c: read-modify-write CPU_BASED only.
  const uint8_t code[] = {0xb8, 0x34, 0x12, 0xf4};  // mov ax,1234h; hlt
  memcpy(ram.data() + 0x1000, code, sizeof code);
  setv(VMCS_CTRL_CPU_BASED, vmcs(VMCS_CTRL_CPU_BASED) | CPU_BASED_HLT);
  set(HV_X86_RIP, 0x1000);
  EXPECT_EQ(run(), VMX_REASON_HLT);
  EXPECT_EQ(reg(HV_X86_RAX), 0x1234u);
}

TEST_F(VmcsTest, SignExtendedControlIsTruncatedAndApplied) {
  // QEMU computes the primary controls with (1 << 31), which sign-extends
  // into bits 63:32; VMWRITE of a 32-bit field ignores them. The value
  // below is QEMU's (HLT, TSC offsetting, TPR shadow, secondary controls):
  // it must be accepted and HLT exiting must take effect.
  const uint8_t code[] = {0xb8, 0x34, 0x12, 0xf4};  // mov ax,1234h; hlt
  memcpy(ram.data() + 0x1000, code, sizeof code);
  ASSERT_EQ(hv_vmx_vcpu_write_vmcs(vcpu, VMCS_CTRL_CPU_BASED, 0xffffffff8421e5faull), HV_SUCCESS)
      << hvshim::last_error_cstr();
  EXPECT_EQ(vmcs(VMCS_CTRL_CPU_BASED), 0x8421e5faull);
  set(HV_X86_RIP, 0x1000);
  EXPECT_EQ(run(), VMX_REASON_HLT);
  EXPECT_EQ(reg(HV_X86_RIP), 0x1003u);
  EXPECT_EQ(reg(HV_X86_RAX), 0x1234u);
}

TEST_F(VmcsTest, NarrowFieldsIgnoreUpperSourceBits) {
  // 16-bit field (selector) and 32-bit fields (limit, exception bitmap,
  // entry interruption info) keep only their width, as VMWRITE does.
  setv(VMCS_GUEST_DS, 0xdead000000000010ull);
  EXPECT_EQ(vmcs(VMCS_GUEST_DS), 0x10u);
  setv(VMCS_GUEST_DS_LIMIT, 0xffffffff0000ffffull);
  EXPECT_EQ(vmcs(VMCS_GUEST_DS_LIMIT), 0xffffu);
  setv(VMCS_CTRL_EXC_BITMAP, 0xffffffff00000002ull);
  EXPECT_EQ(vmcs(VMCS_CTRL_EXC_BITMAP), 2u);
  setv(VMCS_CTRL_VMENTRY_IRQ_INFO, 0x1234567800000000ull);
  EXPECT_EQ(vmcs(VMCS_CTRL_VMENTRY_IRQ_INFO), 0u);
  // A control whose low 32 bits are outside the capability still fails.
  EXPECT_EQ(hv_vmx_vcpu_write_vmcs(vcpu, VMCS_CTRL_CPU_BASED2, 0xffffffff00000000ull), HV_BAD_ARGUMENT);
  // Natural-width and 64-bit fields keep all 64 bits.
  setv(VMCS_GUEST_DS_BASE, 0x123456789000ull);
  EXPECT_EQ(vmcs(VMCS_GUEST_DS_BASE), 0x123456789000ull);
}

TEST_F(VmcsTest, UnsupportedAndReadOnlyFields) {
  uint64_t v;
  EXPECT_EQ(hv_vmx_vcpu_read_vmcs(vcpu, VMCS_CTRL_EPTP, &v), HV_BAD_ARGUMENT);
  EXPECT_EQ(hv_vmx_vcpu_read_vmcs(vcpu, VMCS_HOST_RIP, &v), HV_BAD_ARGUMENT);
  EXPECT_EQ(hv_vmx_vcpu_write_vmcs(vcpu, VMCS_RO_EXIT_REASON, 1), HV_BAD_ARGUMENT);
  EXPECT_EQ(hv_vmx_vcpu_write_vmcs(vcpu, VMCS_CTRL_TSC_OFFSET, 1), HV_BAD_ARGUMENT);
  EXPECT_EQ(hv_vmx_vcpu_write_vmcs(vcpu, VMCS_CTRL_CPU_BASED2, 0), HV_BAD_ARGUMENT);  // must-be-1 missing
  EXPECT_EQ(hv_vmx_vcpu_write_vmcs(vcpu, VMCS_GUEST_ACTIVITY_STATE, 3), HV_BAD_ARGUMENT);
  uint64_t a0, a1;
  ASSERT_EQ(hv_vmx_vcpu_get_cap_write_vmcs(vcpu, VMCS_CTRL_CPU_BASED2, &a0, &a1), HV_SUCCESS);
  EXPECT_EQ(a0 & CPU_BASED2_EPT, static_cast<uint64_t>(CPU_BASED2_EPT));
  ASSERT_EQ(hv_vmx_vcpu_get_cap_write_vmcs(vcpu, VMCS_GUEST_CR4, &a0, &a1), HV_SUCCESS);
  EXPECT_EQ(a0, 0x2000u);
  ASSERT_EQ(hv_vmx_vcpu_get_cap_write_vmcs(vcpu, VMCS_GUEST_RIP, &a0, &a1), HV_SUCCESS);
  EXPECT_EQ(a0, 0u);
  EXPECT_EQ(a1, ~0ull);
  EXPECT_EQ(hv_vmx_vcpu_get_cap_write_vmcs(vcpu, VMCS_CTRL_EPTP, &a0, &a1), HV_BAD_ARGUMENT);
}

TEST_F(VmcsTest, InterruptibilityRoundTrip) {
  setv(VMCS_GUEST_INTERRUPTIBILITY, 1);
  EXPECT_EQ(vmcs(VMCS_GUEST_INTERRUPTIBILITY), 1u);
  setv(VMCS_GUEST_INTERRUPTIBILITY, 0);
  EXPECT_EQ(vmcs(VMCS_GUEST_INTERRUPTIBILITY), 0u);
}

TEST(DecodeTest, Lengths) {
  using namespace hvshim::hv::vcpu;
  auto len = [](std::initializer_list<uint8_t> b, CpuMode m) {
    std::vector<uint8_t> v(b);
    return decode(v.data(), v.size(), m).len;
  };
  EXPECT_EQ(len({0xc7, 0x06, 0x10, 0x00, 0x34, 0x12}, CpuMode::Real16), 6u);
  EXPECT_EQ(len({0x66, 0xc7, 0x06, 0x10, 0x00, 0x34, 0x12, 0, 0}, CpuMode::Real16), 9u);
  EXPECT_EQ(len({0x89, 0x43, 0x10}, CpuMode::Long64), 3u);
  EXPECT_EQ(len({0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8}, CpuMode::Long64), 10u);
  EXPECT_EQ(len({0x8b, 0x04, 0x25, 0, 0, 0x20, 0}, CpuMode::Long64), 7u);
  EXPECT_EQ(len({0x0f, 0xa2}, CpuMode::Long64), 2u);
  EXPECT_EQ(len({0x0f, 0x01, 0xc1}, CpuMode::Prot32), 3u);
  EXPECT_EQ(len({0xc5, 0xf8, 0x11, 0x07}, CpuMode::Long64), 4u);
  EXPECT_EQ(len({0xf3, 0xa5}, CpuMode::Prot32), 2u);
  EXPECT_EQ(len({0xa1, 0x10, 0x00}, CpuMode::Real16), 3u);
  EXPECT_EQ(len({0xc7, 0x00}, CpuMode::Real16), 0u);  // truncated
  {
    // mov [rbx+rsi*4+10h], eax in 64-bit; mov ax,[bp+di+2] in 16-bit (SS default)
    uint64_t gpr[16] = {};
    gpr[3] = 0x1000;
    gpr[6] = 2;
    gpr[5] = 0x20;
    gpr[7] = 0x3;
    uint64_t seg[6] = {0, 0, 0x50000, 0x60000, 0, 0x7000000};
    std::vector<uint8_t> a{0x89, 0x44, 0xb3, 0x10};
    Insn d = decode(a.data(), a.size(), CpuMode::Long64);
    uint64_t la = 0;
    ASSERT_TRUE(effective_address(d, gpr, seg, 0, CpuMode::Long64, true, &la));
    EXPECT_EQ(la, 0x1018u);
    std::vector<uint8_t> g{0x65, 0x8b, 0x04, 0x25, 0x08, 0, 0, 0};  // mov eax,gs:[8]
    d = decode(g.data(), g.size(), CpuMode::Long64);
    ASSERT_TRUE(effective_address(d, gpr, seg, 0, CpuMode::Long64, false, &la));
    EXPECT_EQ(la, 0x7000008u);
    std::vector<uint8_t> b{0x8b, 0x43, 0x02};  // mov ax,[bp+di+2]
    d = decode(b.data(), b.size(), CpuMode::Real16);
    ASSERT_TRUE(effective_address(d, gpr, seg, 0, CpuMode::Real16, false, &la));
    EXPECT_EQ(la, 0x50000u + 0x25);
  }
  IoInsn io = decode_io(std::vector<uint8_t>{0xf3, 0x6e}.data(), 2, CpuMode::Real16);
  EXPECT_TRUE(io.valid && io.string && io.rep && !io.in && io.size == 1);
}

}  // namespace
}  // namespace vcputest
