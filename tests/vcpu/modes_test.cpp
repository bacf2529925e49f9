// Scenarios of Apple's own x86 Hypervisor tests (tests/hvtest_x86.m in XNU),
// rewritten for this project: protected mode, long mode with paging, EPT
// faults under paging, native MSRs in long mode, a CPL3 guest, and the cost
// of an I/O exit round trip through hv_vcpu_run against a raw KVM_RUN loop.
#include <time.h>

#include <algorithm>
#include <thread>

#include "kvm/system.h"
#include "kvm/vcpu.h"
#include "kvm/vm.h"
#include "vcpu_fixture.h"

namespace vcputest {
namespace {

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
}

class ModesTest : public VcpuTest {
 protected:
  void put(uint64_t gpa, std::initializer_list<uint8_t> b) {
    std::vector<uint8_t> v(b);
    memcpy(ram.data() + gpa, v.data(), v.size());
  }
  void put64(uint64_t gpa, uint64_t v) { memcpy(ram.data() + gpa, &v, 8); }

  // Identity map of the first 2 MiB (one large page), user-accessible.
  void page_tables() {
    put64(0x10000, 0x11000 | 7);
    put64(0x11000, 0x12000 | 7);
    put64(0x12000, 0x0 | 0x87);
  }

  void long_mode(bool user) {
    page_tables();
    setv(VMCS_GUEST_CR3, 0x10000);
    setv(VMCS_GUEST_CR4, 0x2020);  // PAE | VMXE (VMXE stays with the VMM)
    setv(VMCS_GUEST_IA32_EFER, 0x500);
    setv(VMCS_GUEST_CR0, 0x80000021);
    setv(VMCS_CTRL_VMENTRY_CONTROLS, vmcs(VMCS_CTRL_VMENTRY_CONTROLS) | VMENTRY_GUEST_IA32E);
    setv(VMCS_GUEST_CS, user ? 0x33 : 0x08);
    setv(VMCS_GUEST_CS_AR, user ? 0xa0fb : 0xa09b);
    setv(VMCS_GUEST_CS_LIMIT, 0xffffffff);
    for (uint32_t f : {VMCS_GUEST_DS, VMCS_GUEST_ES, VMCS_GUEST_SS, VMCS_GUEST_FS, VMCS_GUEST_GS}) {
      setv(f, user ? 0x2b : 0x10);
      setv(f - VMCS_GUEST_ES + VMCS_GUEST_ES_AR, user ? 0xc0f3 : 0xc093);
      setv(f - VMCS_GUEST_ES + VMCS_GUEST_ES_LIMIT, 0xffffffff);
    }
    setv(VMCS_GUEST_TR, 0x40);
    setv(VMCS_GUEST_TR_AR, 0x8b);
    setv(VMCS_GUEST_TR_LIMIT, 0x67);
    setv(VMCS_GUEST_LDTR_AR, 0x10000);
  }
};

TEST_F(ModesTest, ProtectedModeFlat32) {
  // mov eax,12345678h; out 10h,eax; hlt
  load({0xb8, 0x78, 0x56, 0x34, 0x12, 0xe7, 0x10, 0xf4});
  setv(VMCS_GUEST_CR0, 0x21);
  setv(VMCS_GUEST_CS, 0x8);
  setv(VMCS_GUEST_CS_AR, 0xc09b);
  setv(VMCS_GUEST_CS_LIMIT, 0xffffffff);
  for (uint32_t f : {VMCS_GUEST_DS_AR, VMCS_GUEST_ES_AR, VMCS_GUEST_SS_AR}) setv(f, 0xc093);
  for (uint32_t f : {VMCS_GUEST_DS_LIMIT, VMCS_GUEST_ES_LIMIT, VMCS_GUEST_SS_LIMIT}) setv(f, 0xffffffff);
  ASSERT_EQ(run(), VMX_REASON_IO);
  EXPECT_EQ(vmcs(VMCS_RO_EXIT_QUALIFIC), (0x10ull << 16) | 0x40 | 3);
  EXPECT_EQ(reg(HV_X86_RAX), 0x12345678u);
  EXPECT_EQ(reg(HV_X86_RIP), kCodeGpa + 5);
  skip_insn();
  EXPECT_EQ(run(), VMX_REASON_HLT);
}

TEST_F(ModesTest, ProtectedModeEventInjectionThroughTheGuestIdt) {
  // GDT: null, code32, data32 at 0x500; IDT at 0x600 with vector 30h ->
  // 08:2000 (interrupt gate): mov al,77h; out 31h,al; hlt.
  put64(0x500, 0);
  put64(0x508, 0x00cf9a000000ffffull);
  put64(0x510, 0x00cf92000000ffffull);
  put64(0x600 + 0x30 * 8, 0x00008e0000082000ull);
  put(0x2000, {0xb0, 0x77, 0xe6, 0x31, 0xf4});
  load({0xeb, 0xfe});  // jmp $
  setv(VMCS_GUEST_CR0, 0x21);
  setv(VMCS_GUEST_CS, 0x8);
  setv(VMCS_GUEST_CS_AR, 0xc09b);
  setv(VMCS_GUEST_CS_LIMIT, 0xffffffff);
  for (uint32_t f : {VMCS_GUEST_DS, VMCS_GUEST_ES, VMCS_GUEST_SS}) {
    setv(f, 0x10);
    setv(f - VMCS_GUEST_ES + VMCS_GUEST_ES_AR, 0xc093);
    setv(f - VMCS_GUEST_ES + VMCS_GUEST_ES_LIMIT, 0xffffffff);
  }
  setv(VMCS_GUEST_GDTR_BASE, 0x500);
  setv(VMCS_GUEST_GDTR_LIMIT, 0x17);
  setv(VMCS_GUEST_IDTR_BASE, 0x600);
  setv(VMCS_GUEST_IDTR_LIMIT, 0x30 * 8 + 7);
  setv(VMCS_CTRL_VMENTRY_IRQ_INFO, IRQ_INFO_VALID | IRQ_INFO_EXT_IRQ | 0x30);
  ASSERT_EQ(run(), VMX_REASON_IO) << hvshim::last_error_cstr();
  EXPECT_EQ(vmcs(VMCS_RO_EXIT_QUALIFIC) >> 16, 0x31u);
  EXPECT_EQ(reg(HV_X86_RIP), 0x2002u);
  EXPECT_EQ(reg(HV_X86_RSP), 0x8000u - 12);  // EIP, CS, EFLAGS pushed
}

TEST_F(ModesTest, LongModeWithPagingIoAndEptFault) {
  // mov rax,123456789h; out 10h,eax; mov rbx,[150000h]; mov [150008h],rbx; hlt
  load({0x48, 0xb8, 0x89, 0x67, 0x45, 0x23, 0x01, 0, 0, 0, 0xe7, 0x10, 0x48, 0x8b, 0x1c, 0x25, 0x00, 0x00,
        0x15, 0x00, 0x48, 0x89, 0x1c, 0x25, 0x08, 0x00, 0x15, 0x00, 0xf4});
  long_mode(false);
  ASSERT_EQ(run(), VMX_REASON_IO) << hvshim::last_error_cstr();
  EXPECT_EQ(reg(HV_X86_RAX), 0x123456789u);
  EXPECT_EQ(vmcs(VMCS_RO_EXIT_QUALIFIC), (0x10ull << 16) | 0x40 | 3);
  EXPECT_EQ(reg(HV_X86_RIP), kCodeGpa + 10);
  EXPECT_TRUE(vmcs(VMCS_CTRL_VMENTRY_CONTROLS) & VMENTRY_GUEST_IA32E);
  EXPECT_EQ(vmcs(VMCS_GUEST_IA32_EFER) & 0x500, 0x500u);
  skip_insn();
  // 0x150000 is inside the guest page tables' 2 MiB page but not mapped.
  ASSERT_EQ(run(), VMX_REASON_EPT_VIOLATION);
  EXPECT_EQ(vmcs(VMCS_GUEST_PHYSICAL_ADDRESS), 0x150000u);
  EXPECT_EQ(vmcs(VMCS_RO_EXIT_QUALIFIC) & 0x187, 0x181u);  // read, linear address valid
  EXPECT_EQ(vmcs(VMCS_RO_GUEST_LIN_ADDR), 0x150000u);
  EXPECT_EQ(reg(HV_X86_RIP), kCodeGpa + 12);
  EXPECT_EQ(vmcs(VMCS_RO_VMEXIT_INSTR_LEN), 8u);
  // The VMM emulates the load itself and moves on, as QEMU's hvf does.
  set(HV_X86_RBX, 0xfeedface);
  skip_insn();
  ASSERT_EQ(run(), VMX_REASON_EPT_VIOLATION);
  EXPECT_EQ(vmcs(VMCS_GUEST_PHYSICAL_ADDRESS), 0x150008u);
  EXPECT_EQ(vmcs(VMCS_RO_EXIT_QUALIFIC) & 0x187, 0x182u);
  EXPECT_EQ(vmcs(VMCS_RO_GUEST_LIN_ADDR), 0x150008u);
  EXPECT_EQ(reg(HV_X86_RIP), kCodeGpa + 20);  // back on the store
  EXPECT_EQ(vmcs(VMCS_RO_VMEXIT_INSTR_LEN), 8u);
  skip_insn();
  EXPECT_EQ(run(), VMX_REASON_HLT);
}

// As Apple's test: guest RAM mapped one 4 KiB host page at a time with
// HV_MEMORY_READ only; each write fault ((qual & 0x86) == 0x82) is answered
// with hv_vm_protect(R|W) on that page and the guest retries. The data is
// at linear 0x400000 + i * 0x1000, mapped by the guest to GPA 0x200000 + ...
TEST_F(ModesTest, PerPageReadOnlyRamGrowsOnWriteFaults) {
  // The fixture maps 1 MiB RWX at 0 for code and page tables; the data
  // pages live above it, each its own host page.
  std::vector<std::unique_ptr<HostMem>> pages;
  for (int i = 0; i < 4; ++i) {
    pages.push_back(std::make_unique<HostMem>(4096));
    ASSERT_EQ(hv_vm_map(pages.back()->data(), 0x200000 + 0x1000 * i, 4096, HV_MEMORY_READ), HV_SUCCESS);
  }
  // PD[2] maps linear 0x400000 (2 MiB page) to GPA 0x200000.
  // mov rdi,400000h; mov ecx,4; l: mov [rdi],ecx; add rdi,1000h; loop l; hlt
  load({0x48, 0xc7, 0xc7, 0x00, 0x00, 0x40, 0x00, 0xb9, 0x04, 0x00, 0x00, 0x00, 0x89, 0x0f, 0x48, 0x81, 0xc7,
        0x00, 0x10, 0x00, 0x00, 0xe2, 0xf5, 0xf4});
  long_mode(false);
  put64(0x12000 + 2 * 8, 0x200000 | 0x87);
  int faults = 0;
  for (;;) {
    uint64_t r = run();
    if (r == VMX_REASON_HLT) break;
    ASSERT_EQ(r, VMX_REASON_EPT_VIOLATION);
    uint64_t q = vmcs(VMCS_RO_EXIT_QUALIFIC);
    ASSERT_EQ(q & 0x86, 0x82u) << std::hex << q;  // write, linear address valid
    ASSERT_EQ((q >> 3) & 7, 1u) << std::hex << q;  // page currently readable only
    uint64_t gpa = vmcs(VMCS_GUEST_PHYSICAL_ADDRESS);
    EXPECT_EQ(vmcs(VMCS_RO_GUEST_LIN_ADDR), gpa - 0x200000 + 0x400000);
    ASSERT_EQ(hv_vm_protect(gpa & ~0xfffull, 4096, HV_MEMORY_READ | HV_MEMORY_WRITE), HV_SUCCESS);
    ASSERT_LE(++faults, 4);
  }
  EXPECT_EQ(faults, 4);
  for (int i = 0; i < 4; ++i) {
    uint32_t v;
    memcpy(&v, pages[i]->data(), 4);
    EXPECT_EQ(v, 4u - i);
  }
}

TEST_F(ModesTest, LongModeNativeKernelGsBase) {
  // mov ecx,c0000102h; rdmsr; out 10h,eax; hlt
  load({0xb9, 0x02, 0x01, 0x00, 0xc0, 0x0f, 0x32, 0xe7, 0x10, 0xf4});
  long_mode(false);
  ASSERT_EQ(hv_vcpu_enable_native_msr(vcpu, 0xc0000102, true), HV_SUCCESS);
  ASSERT_EQ(hv_vcpu_write_msr(vcpu, 0xc0000102, 0x4321), HV_SUCCESS);
  ASSERT_EQ(run(), VMX_REASON_IO);
  EXPECT_EQ(reg(HV_X86_RAX), 0x4321u);
}

TEST_F(ModesTest, VcpusOnSeveralThreads) {
  load({0xf4});
  std::vector<std::thread> ts;
  std::atomic<int> ok{0};
  // mov bx,i; out 12h,al; hlt   (code per thread at 0x4000 + 16 i), written
  // before any vCPU runs: the VMM's instruction fetches read neighbouring code.
  for (int i = 0; i < 4; ++i) {
    const uint8_t code[] = {0xbb, static_cast<uint8_t>(i), 0x00, 0xe6, 0x12, 0xf4};
    memcpy(ram.data() + 0x4000 + 16 * i, code, sizeof code);
  }
  for (int i = 0; i < 4; ++i) {
    ts.emplace_back([&, i] {
      hv_vcpuid_t id;
      if (hv_vcpu_create(&id, HV_VCPU_DEFAULT) != HV_SUCCESS) return;
      uint64_t at = 0x4000 + 16 * i;
      hv_vcpu_write_register(id, HV_X86_RIP, at);
      uint64_t cpu;
      hv_vmx_vcpu_read_vmcs(id, VMCS_CTRL_CPU_BASED, &cpu);
      hv_vmx_vcpu_write_vmcs(id, VMCS_CTRL_CPU_BASED, cpu | CPU_BASED_HLT);
      uint64_t r = 0, bx = 0;
      if (hv_vcpu_run(id) == HV_SUCCESS) hv_vmx_vcpu_read_vmcs(id, VMCS_RO_EXIT_REASON, &r);
      hv_vcpu_read_register(id, HV_X86_RBX, &bx);
      if (r == VMX_REASON_IO && bx == static_cast<uint64_t>(i)) ++ok;
      hv_vcpu_destroy(id);
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), 4);
}

// 64-bit CPL3 guests run natively on this host; both loops run the same
// guest (`1: out 10h,al; jmp 1b`) on the same machine.
TEST_F(ModesTest, IoExitRoundTripCostVersusRawKvm) {
  load({0xe6, 0x10, 0xeb, 0xfc});
  long_mode(true);
  set(HV_X86_RFLAGS, 0x3002);  // IOPL 3
  set(HV_X86_RSP, 0x8000);
  ASSERT_EQ(run(), VMX_REASON_IO) << hvshim::last_error_cstr();
  constexpr int kN = 3000;
  std::vector<uint64_t> shim;
  for (int i = 0; i < kN; ++i) {
    skip_insn();
    uint64_t t0 = now_ns();
    ASSERT_EQ(hv_vcpu_run(vcpu), HV_SUCCESS);
    shim.push_back(now_ns() - t0);
    ASSERT_EQ(vmcs(VMCS_RO_EXIT_REASON), VMX_REASON_IO);
  }
  // Raw KVM: same guest state, a KVM vCPU of our own in a VM of our own.
  auto sys = hvshim::kvm::System::open();
  ASSERT_TRUE(sys.ok());
  auto vm = hvshim::kvm::Vm::create(*sys);
  ASSERT_TRUE(vm.ok());
  ASSERT_TRUE(vm->set_memslot({0, 0, ram.size(), reinterpret_cast<uint64_t>(ram.data()), false}).ok());
  auto kv = vm->create_vcpu(*sys, 0);
  ASSERT_TRUE(kv.ok());
  auto cpuid = sys->supported_cpuid();
  ASSERT_TRUE(cpuid.ok());
  ASSERT_TRUE(kv->set_cpuid(*cpuid).ok());
  auto s = kv->get_sregs();
  ASSERT_TRUE(s.ok());
  auto seg = [](kvm_segment& g, uint16_t sel, uint8_t type, bool l, bool db, uint8_t dpl) {
    g = kvm_segment{};
    g.selector = sel;
    g.limit = 0xffffffff;
    g.type = type;
    g.s = 1;
    g.dpl = dpl;
    g.present = 1;
    g.l = l;
    g.db = db;
    g.g = 1;
  };
  seg(s->cs, 0x33, 0xb, true, false, 3);
  for (kvm_segment* g : {&s->ds, &s->es, &s->ss, &s->fs, &s->gs}) seg(*g, 0x2b, 3, false, true, 3);
  s->tr.selector = 0x40;
  s->tr.type = 0xb;
  s->tr.present = 1;
  s->tr.limit = 0x67;
  s->cr3 = 0x10000;
  s->cr4 = 0x20;
  s->efer = 0x500;
  s->cr0 = 0x80000031;
  ASSERT_TRUE(kv->set_sregs(*s).ok());
  kvm_regs r{};
  r.rip = kCodeGpa;
  r.rflags = 0x3002;
  r.rsp = 0x8000;
  ASSERT_TRUE(kv->set_regs(r).ok());
  std::vector<uint64_t> raw;
  for (int i = 0; i < kN; ++i) {
    uint64_t t0 = now_ns();
    ASSERT_TRUE(kv->run().ok());
    raw.push_back(now_ns() - t0);
    ASSERT_EQ(kv->run_page()->exit_reason, static_cast<uint32_t>(KVM_EXIT_IO));
  }
  std::sort(shim.begin(), shim.end());
  std::sort(raw.begin(), raw.end());
  printf("[ measure  ] I/O exit round trip, median of %d: hv_vcpu_run %.2f us, raw KVM_RUN %.2f us\n", kN,
         shim[kN / 2] / 1000.0, raw[kN / 2] / 1000.0);
  RecordProperty("hv_vcpu_run_ns", static_cast<int>(shim[kN / 2]));
  RecordProperty("kvm_run_ns", static_cast<int>(raw[kN / 2]));
}

}  // namespace
}  // namespace vcputest
