// hv_vm_protect on shared guest RAM as a VMM sees it through hv_vcpu_run:
// a guest write to a read-only page is an EPT-violation exit with the GPA,
// before the write happens; unprotecting and running again completes it.
// 64-bit code at CPL 3 runs natively on PVM hosts, so its writes take the
// userfaultfd fault-and-kick path; real-mode code is emulated by KVM and
// takes the demotion path (src/hvapi/wp/fault_router.h).
#include <cstring>

#include "hvapi/vm_instance.h"
#include "vcpu_fixture.h"

namespace vcputest {
namespace {

constexpr uint64_t P = 4096;
constexpr hv_memory_flags_t RWX = HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC;
constexpr uint64_t kData = 0x50000;

class SharedRamTest : public VcpuTest {
 protected:
  SharedRamTest() : VcpuTest(HostMem::kShared) {}
  void SetUp() override {
    VcpuTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    std::lock_guard lk(hvshim::hv::vm_mutex());
    if (!hvshim::hv::current_vm()->router())
      GTEST_SKIP() << "userfaultfd write protection unavailable here (see hvshim-info); memslot path only";
  }
  void put64(uint64_t gpa, uint64_t v) { memcpy(ram.data() + gpa, &v, 8); }
  uint8_t byte(uint64_t gpa) const { return ram.data()[gpa]; }

  // 64-bit, CPL 3, the first 2 MiB identity-mapped by one user page.
  void long_mode_user(std::initializer_list<uint8_t> code) {
    load(code);
    put64(0x10000, 0x11000 | 0x67);  // accessed and dirty already: no walker writes
    put64(0x11000, 0x12000 | 0x67);
    put64(0x12000, 0x0 | 0xe7);
    setv(VMCS_GUEST_CR3, 0x10000);
    setv(VMCS_GUEST_CR4, 0x2020);
    setv(VMCS_GUEST_IA32_EFER, 0x500);
    setv(VMCS_GUEST_CR0, 0x80000021);
    setv(VMCS_CTRL_VMENTRY_CONTROLS, vmcs(VMCS_CTRL_VMENTRY_CONTROLS) | VMENTRY_GUEST_IA32E);
    setv(VMCS_GUEST_CS, 0x33);
    setv(VMCS_GUEST_CS_AR, 0xa0fb);
    setv(VMCS_GUEST_CS_LIMIT, 0xffffffff);
    for (uint32_t f : {VMCS_GUEST_DS, VMCS_GUEST_ES, VMCS_GUEST_SS, VMCS_GUEST_FS, VMCS_GUEST_GS}) {
      setv(f, 0x2b);
      setv(f - VMCS_GUEST_ES + VMCS_GUEST_ES_AR, 0xc0f3);
      setv(f - VMCS_GUEST_ES + VMCS_GUEST_ES_LIMIT, 0xffffffff);
    }
    setv(VMCS_GUEST_TR, 0x40);
    setv(VMCS_GUEST_TR_AR, 0x8b);
    setv(VMCS_GUEST_TR_LIMIT, 0x67);
    setv(VMCS_GUEST_LDTR_AR, 0x10000);
    set(HV_X86_RSP, 0x9000);
  }
  void expect_write_fault_at(uint64_t gpa, uint64_t rip) {
    EXPECT_EQ(vmcs(VMCS_GUEST_PHYSICAL_ADDRESS), gpa);
    uint64_t q = vmcs(VMCS_RO_EXIT_QUALIFIC);
    EXPECT_TRUE(q & 2) << "write access bit, qualification " << std::hex << q;
    EXPECT_EQ((q >> 3) & 7, 5u) << "page is read+exec";
    EXPECT_EQ(reg(HV_X86_RIP), rip) << "the write has not executed";
  }
};

TEST_F(SharedRamTest, NativeGuestWriteToReadOnlyPageExitsBeforeWriting) {
  // mov byte [50010h], 5Ah; mov al, [50020h]; out 10h, al; jmp $-2 (out again)
  long_mode_user({0xc6, 0x04, 0x25, 0x10, 0x00, 0x05, 0x00, 0x5a, 0x8a, 0x04, 0x25, 0x20, 0x00, 0x05, 0x00, 0xe6,
                  0x10, 0xeb, 0xfc});
  ram.data()[kData + 0x10] = 0x11;
  ram.data()[kData + 0x20] = 0x22;
  ASSERT_EQ(hv_vm_protect(kData, P, HV_MEMORY_READ | HV_MEMORY_EXEC), HV_SUCCESS);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(run(), VMX_REASON_EPT_VIOLATION) << "try " << i << ": " << hvshim::last_error_cstr();
    expect_write_fault_at(kData + 0x10, kCodeGpa);
    EXPECT_EQ(byte(kData + 0x10), 0x11) << "try " << i;
  }
  // Host writes show while the page is protected.
  ram.data()[kData + 0x20] = 0x33;
  ASSERT_EQ(hv_vm_protect(kData, P, RWX), HV_SUCCESS);
  ASSERT_EQ(run(), VMX_REASON_IO) << hvshim::last_error_cstr();
  EXPECT_EQ(byte(kData + 0x10), 0x5a);
  EXPECT_EQ(reg(HV_X86_RAX) & 0xff, 0x33u);
}

TEST_F(SharedRamTest, DirtyTrackingCycleOverManyPages) {
  // rbx walks 64 pages from 60000h writing one byte each, then out.
  // mov rbx,60000h; mov ecx,64; l: mov byte [rbx],cl; add rbx,1000h; loop l; out 10h,al; jmp $-2
  long_mode_user({0x48, 0xc7, 0xc3, 0x00, 0x00, 0x06, 0x00, 0xb9, 0x40, 0x00, 0x00, 0x00, 0x88, 0x0b, 0x48, 0x81,
                  0xc3, 0x00, 0x10, 0x00, 0x00, 0xe2, 0xf5, 0xe6, 0x10, 0xeb, 0xfc});
  ASSERT_EQ(hv_vm_protect(0x60000, 64 * P, HV_MEMORY_READ | HV_MEMORY_EXEC), HV_SUCCESS);
  int faults = 0;
  for (;;) {
    uint64_t r = run();
    if (r == VMX_REASON_IO) break;
    ASSERT_EQ(r, VMX_REASON_EPT_VIOLATION) << hvshim::last_error_cstr();
    uint64_t gpa = vmcs(VMCS_GUEST_PHYSICAL_ADDRESS);
    ASSERT_EQ(gpa, 0x60000 + faults * P) << "pages fault in order, once each";
    EXPECT_EQ(byte(gpa), 0) << "not written before the VMM unprotects";
    ASSERT_EQ(hv_vm_protect(gpa, P, RWX), HV_SUCCESS);
    ++faults;
  }
  EXPECT_EQ(faults, 64);
  for (int i = 0; i < 64; ++i) EXPECT_EQ(byte(0x60000 + i * P), 64 - i) << "page " << i;
}

TEST_F(SharedRamTest, WalkerWriteToProtectedPageTableIsReported) {
  // Page-table entries without the accessed bit: the first access makes KVM
  // set it, a write by KVM itself into the protected page-table page.
  // mov al, [50020h]; out 10h, al; jmp $-2
  long_mode_user({0x8a, 0x04, 0x25, 0x20, 0x00, 0x05, 0x00, 0xe6, 0x10, 0xeb, 0xfc});
  put64(0x10000, 0x11000 | 0x07);
  ASSERT_EQ(hv_vm_protect(0x10000, P, HV_MEMORY_READ), HV_SUCCESS);
  // On PVM the write cannot be stopped, only reported once it happened
  // (README, compatibility table); on EPT hardware it exits before.
  ASSERT_EQ(run(), VMX_REASON_EPT_VIOLATION) << hvshim::last_error_cstr();
  EXPECT_EQ(vmcs(VMCS_GUEST_PHYSICAL_ADDRESS) & ~(P - 1), 0x10000u);
  EXPECT_TRUE(vmcs(VMCS_RO_EXIT_QUALIFIC) & 2) << "a write";
  ASSERT_EQ(hv_vm_protect(0x10000, P, RWX), HV_SUCCESS);
  ASSERT_EQ(run(), VMX_REASON_IO) << hvshim::last_error_cstr();
  uint64_t pml4e;
  memcpy(&pml4e, ram.data() + 0x10000, 8);
  EXPECT_TRUE(pml4e & 0x20) << "accessed bit set once the VMM allowed it";
}

TEST_F(SharedRamTest, RealModeWriteToReadOnlyPageExitsBeforeWriting) {
  // mov byte [5010h], 5Ah (DS=0x4000 -> 0x50010); hlt
  load({0xb8, 0x00, 0x50, 0x8e, 0xd8, 0xc6, 0x06, 0x10, 0x00, 0x5a, 0xf4});
  ram.data()[kData + 0x10] = 0x11;
  ASSERT_EQ(hv_vm_protect(kData, P, HV_MEMORY_READ | HV_MEMORY_EXEC), HV_SUCCESS);
  ASSERT_EQ(run(), VMX_REASON_EPT_VIOLATION) << hvshim::last_error_cstr();
  expect_write_fault_at(kData + 0x10, kCodeGpa + 5);
  EXPECT_EQ(byte(kData + 0x10), 0x11);
  ASSERT_EQ(hv_vm_protect(kData, P, RWX), HV_SUCCESS);
  ASSERT_EQ(run(), VMX_REASON_HLT) << hvshim::last_error_cstr();
  EXPECT_EQ(byte(kData + 0x10), 0x5a);
}

}  // namespace
}  // namespace vcputest
