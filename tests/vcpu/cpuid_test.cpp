// CPUID as guest code sees it, on two vCPUs: the initial APIC id and the
// x2APIC id are the vCPU's own, x2APIC is not offered (no in-kernel local
// APIC), the XSAVE image fits the fpstate buffer, and a VMM's own table
// (hvshim_vcpu_set_cpuid) is what the guest reads.
#include <hvshim/hvshim.h>

#include <thread>

#include "hvapi/vcpu/cpuid_policy.h"
#include "vcpu_fixture.h"

namespace vcputest {
namespace {

struct CpuidSeen {
  uint32_t max_leaf = 0;
  uint32_t l1_ebx = 0, l1_ecx = 0;
  uint32_t lb_edx = 0;
  uint32_t ld_ebx = 0, ld_ecx = 0;
};

// xor eax,eax; cpuid; hlt | mov eax,1; cpuid; hlt | mov eax,0bh; xor ecx,ecx; cpuid; hlt |
// mov eax,0dh; xor ecx,ecx; cpuid; hlt   (real mode, 66h = 32-bit operands)
constexpr uint8_t kCpuidProgram[] = {
    0x66, 0x31, 0xc0, 0x0f, 0xa2, 0xf4,                                            //
    0x66, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f, 0xa2, 0xf4,                          //
    0x66, 0xb8, 0x0b, 0x00, 0x00, 0x00, 0x66, 0x31, 0xc9, 0x0f, 0xa2, 0xf4,        //
    0x66, 0xb8, 0x0d, 0x00, 0x00, 0x00, 0x66, 0x31, 0xc9, 0x0f, 0xa2, 0xf4,        //
};

uint64_t rd(hv_vcpuid_t v, hv_x86_reg_t r) {
  uint64_t x = 0;
  EXPECT_EQ(hv_vcpu_read_register(v, r, &x), HV_SUCCESS);
  return x;
}

// Runs kCpuidProgram (at GPA 0x1000) on `v`, which the calling thread owns.
CpuidSeen run_program(hv_vcpuid_t v) {
  CpuidSeen s;
  uint64_t cpu = 0;
  EXPECT_EQ(hv_vmx_vcpu_read_vmcs(v, VMCS_CTRL_CPU_BASED, &cpu), HV_SUCCESS);
  EXPECT_EQ(hv_vmx_vcpu_write_vmcs(v, VMCS_CTRL_CPU_BASED, cpu | CPU_BASED_HLT), HV_SUCCESS);
  EXPECT_EQ(hv_vcpu_write_register(v, HV_X86_RIP, kCodeGpa), HV_SUCCESS);
  EXPECT_EQ(hv_vcpu_write_register(v, HV_X86_RFLAGS, 2), HV_SUCCESS);
  for (int step = 0; step < 4; ++step) {
    EXPECT_EQ(hv_vcpu_run(v), HV_SUCCESS) << hvshim_last_error();
    uint64_t reason = 0;
    EXPECT_EQ(hv_vmx_vcpu_read_vmcs(v, VMCS_RO_EXIT_REASON, &reason), HV_SUCCESS);
    EXPECT_EQ(reason, VMX_REASON_HLT);
    if (reason != VMX_REASON_HLT) return s;
    switch (step) {
      case 0: s.max_leaf = static_cast<uint32_t>(rd(v, HV_X86_RAX)); break;
      case 1: s.l1_ebx = static_cast<uint32_t>(rd(v, HV_X86_RBX)); s.l1_ecx = static_cast<uint32_t>(rd(v, HV_X86_RCX)); break;
      case 2: s.lb_edx = static_cast<uint32_t>(rd(v, HV_X86_RDX)); break;
      case 3: s.ld_ebx = static_cast<uint32_t>(rd(v, HV_X86_RBX)); s.ld_ecx = static_cast<uint32_t>(rd(v, HV_X86_RCX)); break;
    }
    EXPECT_EQ(hv_vcpu_write_register(v, HV_X86_RIP, rd(v, HV_X86_RIP) + 1), HV_SUCCESS);
  }
  return s;
}

class CpuidTest : public VcpuTest {
 protected:
  void SetUp() override {
    VcpuTest::SetUp();
    if (IsSkipped()) return;
    memcpy(ram.data() + kCodeGpa, kCpuidProgram, sizeof kCpuidProgram);
  }
  // Runs `f(vcpu id)` on a new thread that owns a new vCPU.
  template <class F>
  void on_second_vcpu(F&& f) {
    std::thread t([&] {
      hv_vcpuid_t v = ~0u;
      ASSERT_EQ(hv_vcpu_create(&v, HV_VCPU_DEFAULT), HV_SUCCESS) << hvshim_last_error();
      f(v);
      EXPECT_EQ(hv_vcpu_destroy(v), HV_SUCCESS);
    });
    t.join();
  }
};

TEST_F(CpuidTest, EachVcpuSeesItsOwnApicIdAndAConsistentFeatureSet) {
  CpuidSeen a = run_program(vcpu);
  CpuidSeen b;
  hv_vcpuid_t second = ~0u;
  on_second_vcpu([&](hv_vcpuid_t v) {
    second = v;
    b = run_program(v);
  });
  ASSERT_EQ(vcpu, 0u);
  ASSERT_EQ(second, 1u);
  EXPECT_EQ(a.l1_ebx >> 24, 0u);
  EXPECT_EQ(b.l1_ebx >> 24, 1u);
  EXPECT_EQ(a.l1_ebx & 0xffffff, b.l1_ebx & 0xffffff);
  for (const CpuidSeen* s : {&a, &b}) {
    EXPECT_EQ(s->l1_ecx & (1u << 21), 0u) << "x2APIC offered without a local APIC to back it";
    if (s->l1_ecx & (1u << 26)) {  // XSAVE
      EXPECT_LE(s->ld_ecx, 4096u) << "XSAVE image larger than hv_vcpu_read_fpstate's 4096 bytes";
      EXPECT_LE(s->ld_ebx, s->ld_ecx);
      EXPECT_GE(s->ld_ebx, 576u);
    }
  }
  if (a.max_leaf >= 0xb) {
    EXPECT_EQ(a.lb_edx, 0u);
    EXPECT_EQ(b.lb_edx, 1u);
  }
}

TEST_F(CpuidTest, VmmTableIsWhatTheGuestReadsAndIsFrozenByTheFirstRun) {
  uint32_t n = 0;
  ASSERT_EQ(hvshim_vcpu_get_cpuid(vcpu, nullptr, &n), HV_NO_RESOURCES);
  ASSERT_GT(n, 0u);
  std::vector<hvshim_cpuid_entry_t> t(n);
  ASSERT_EQ(hvshim_vcpu_get_cpuid(vcpu, t.data(), &n), HV_SUCCESS);
  bool found = false;
  for (auto& e : t) {
    if (e.function == 1) {
      e.ebx = (e.ebx & 0xffffff) | (7u << 24);  // the VMM's own APIC id
      found = true;
    }
  }
  ASSERT_TRUE(found);
  // Refused tables change nothing.
  EXPECT_EQ(hvshim_vcpu_set_cpuid(vcpu, nullptr, 1), HV_BAD_ARGUMENT);
  EXPECT_EQ(hvshim_vcpu_set_cpuid(vcpu, t.data(), 0), HV_BAD_ARGUMENT);
  EXPECT_EQ(hvshim_vcpu_set_cpuid(vcpu, t.data(), 257), HV_BAD_ARGUMENT);
  std::vector<hvshim_cpuid_entry_t> big = t;
  for (auto& e : big) {
    if (e.function == 0xd && e.index == 0) e.edx |= 1u << 30;  // component 62, placed past 4096
  }
  big.push_back({0xd, 62, HVSHIM_CPUID_INDEX_SIGNIFICANT, 64, 8192, 0, 0});
  EXPECT_EQ(hvshim_vcpu_set_cpuid(vcpu, big.data(), static_cast<uint32_t>(big.size())), HV_BAD_ARGUMENT);
  ASSERT_EQ(hvshim_vcpu_set_cpuid(vcpu, t.data(), n), HV_SUCCESS) << hvshim_last_error();
  // Another thread may not change it.
  std::thread([&] { EXPECT_EQ(hvshim_vcpu_set_cpuid(vcpu, t.data(), n), HV_DENIED); }).join();

  CpuidSeen s = run_program(vcpu);
  EXPECT_EQ(s.l1_ebx >> 24, 7u);
  EXPECT_EQ(hvshim_vcpu_set_cpuid(vcpu, t.data(), n), HV_BUSY);
  // The second vCPU still gets its default.
  on_second_vcpu([&](hv_vcpuid_t v) { EXPECT_EQ(run_program(v).l1_ebx >> 24, 1u); });
}

TEST(CpuidPolicyTest, XsaveComponentsBeyondTheFpstateBufferAreDroppedWithTheirFeatureFlags) {
  using hvshim::hv::vcpu::cpuid_for_vcpu;
  auto entry = [](uint32_t fn, uint32_t idx, uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
    kvm_cpuid_entry2 e{};
    e.function = fn;
    e.index = idx;
    e.flags = fn == 0xd || fn == 7 ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
    e.eax = a, e.ebx = b, e.ecx = c, e.edx = d;
    return e;
  };
  // x87|SSE|AVX|opmask|ZMM_Hi256|Hi16_ZMM|PKRU|XTILECFG|XTILEDATA, as on a
  // Sapphire Rapids host: 11008 bytes with the AMX tiles.
  uint32_t mask = 0x7 | 0xe0 | 0x200 | 0x60000;
  std::vector<kvm_cpuid_entry2> t = {
      entry(1, 0, 0, 0x00000800, 1u << 21 | 1u << 26, 0),
      entry(7, 0, 0, 1u << 16, 1u << 3, 1u << 24),
      entry(0xd, 0, mask, 576, 11008, 0),
      entry(0xd, 2, 256, 576, 0, 0),
      entry(0xd, 5, 64, 1088, 0, 0),
      entry(0xd, 6, 512, 1152, 0, 0),
      entry(0xd, 7, 1024, 1664, 0, 0),
      entry(0xd, 9, 8, 2688, 0, 0),
      entry(0xd, 17, 64, 2752, 0, 0),
      entry(0xd, 18, 8192, 2816, 0, 0),
      entry(0xb, 0, 1, 1, 0x100, 0),
      entry(0xb, 1, 4, 2, 0x201, 0),
  };
  auto out = cpuid_for_vcpu(t, 3);
  auto get = [&](uint32_t fn, uint32_t idx) -> const kvm_cpuid_entry2* {
    for (auto& e : out)
      if (e.function == fn && e.index == idx) return &e;
    return nullptr;
  };
  ASSERT_NE(get(0xd, 0), nullptr);
  EXPECT_EQ(get(0xd, 0)->eax, 0x7u | 0xe0 | 0x200);  // both AMX components gone
  EXPECT_EQ(get(0xd, 0)->ecx, 2696u);
  EXPECT_EQ(get(0xd, 18), nullptr);
  EXPECT_EQ(get(7, 0)->edx & (1u << 24), 0u);       // AMX-TILE
  EXPECT_EQ(get(7, 0)->ebx & (1u << 16), 1u << 16);  // AVX-512F stays (its state fits)
  EXPECT_EQ(get(1, 0)->ebx >> 24, 3u);
  EXPECT_EQ(get(1, 0)->ebx & 0xffffff, 0x800u);
  EXPECT_EQ(get(1, 0)->ecx, 1u << 26);
  EXPECT_EQ(get(0xb, 0)->edx, 3u);
  EXPECT_EQ(get(0xb, 1)->edx, 3u);
}

}  // namespace
}  // namespace vcputest
