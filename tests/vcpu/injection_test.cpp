// VM-entry event injection as a VMM like QEMU's hvf accelerator drives it:
// one injected interrupt through VMCS_CTRL_VMENTRY_IRQ_INFO, then many runs
// with the TPR and segment state written before each one. The guest's
// handler counts deliveries; the event must arrive exactly once.
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "vcpu_fixture.h"

namespace vcputest {
namespace {

using InjectionTest = VcpuTest;

constexpr uint64_t kHandler = 0x2000;
constexpr uint64_t kCounter = 0x3000;

uint16_t counter(const HostMem& ram) {
  uint16_t c;
  memcpy(&c, ram.data() + kCounter, 2);
  return c;
}

// Real-mode guest: IVT[8] -> 0:kHandler, a PIT handler as SeaBIOS's: it
// acknowledges the PIC (an I/O exit inside the handler, while the delivery
// is the most recent event), counts, returns:
//   push ax; mov al,20h; out 20h,al; pop ax; inc word [3000h]; iret
// The main code: sti; 40 x out 80h,al (each one an exit); hlt.
void load_counting_guest(HostMem& ram) {
  uint16_t ivt8[2] = {static_cast<uint16_t>(kHandler), 0};
  memcpy(ram.data() + 8 * 4, ivt8, 4);
  const uint8_t handler[] = {0x50, 0xb0, 0x20, 0xe6, 0x20, 0x58, 0xff, 0x06, 0x00, 0x30, 0xcf};
  memcpy(ram.data() + kHandler, handler, sizeof handler);
}

// What QEMU does before every hv_vcpu_run_until: TPR, and (its segment
// state is "dirty" after an exit) every segment written back as read.
void write_back_like_qemu(InjectionTest& t, hv_vcpuid_t vcpu) {
  ASSERT_EQ(hv_vcpu_write_register(vcpu, HV_X86_TPR, 0), HV_SUCCESS);
  for (uint32_t sel = VMCS_GUEST_ES; sel <= VMCS_GUEST_GS; sel += 2) {
    uint64_t v = 0, base = 0, lim = 0, ar = 0;
    ASSERT_EQ(hv_vmx_vcpu_read_vmcs(vcpu, sel, &v), HV_SUCCESS);
    ASSERT_EQ(hv_vmx_vcpu_read_vmcs(vcpu, sel - VMCS_GUEST_ES + VMCS_GUEST_ES_BASE, &base), HV_SUCCESS);
    ASSERT_EQ(hv_vmx_vcpu_read_vmcs(vcpu, sel - VMCS_GUEST_ES + VMCS_GUEST_ES_LIMIT, &lim), HV_SUCCESS);
    ASSERT_EQ(hv_vmx_vcpu_read_vmcs(vcpu, sel - VMCS_GUEST_ES + VMCS_GUEST_ES_AR, &ar), HV_SUCCESS);
    ASSERT_EQ(hv_vmx_vcpu_write_vmcs(vcpu, sel, v), HV_SUCCESS);
    ASSERT_EQ(hv_vmx_vcpu_write_vmcs(vcpu, sel - VMCS_GUEST_ES + VMCS_GUEST_ES_BASE, base), HV_SUCCESS);
    ASSERT_EQ(hv_vmx_vcpu_write_vmcs(vcpu, sel - VMCS_GUEST_ES + VMCS_GUEST_ES_LIMIT, lim), HV_SUCCESS);
    ASSERT_EQ(hv_vmx_vcpu_write_vmcs(vcpu, sel - VMCS_GUEST_ES + VMCS_GUEST_ES_AR, ar), HV_SUCCESS);
  }
  uint64_t intr = 0;
  ASSERT_EQ(hv_vmx_vcpu_read_vmcs(vcpu, VMCS_GUEST_INTERRUPTIBILITY, &intr), HV_SUCCESS);
  ASSERT_EQ(hv_vmx_vcpu_write_vmcs(vcpu, VMCS_GUEST_INTERRUPTIBILITY, intr), HV_SUCCESS);
  (void)t;
}

// Runs to HLT, completing each OUT; returns the number of I/O exits.
int run_to_hlt(InjectionTest& t, hv_vcpuid_t vcpu, bool write_back) {
  int ios = 0;
  for (int i = 0; i < 200; ++i) {
    if (write_back) write_back_like_qemu(t, vcpu);
    EXPECT_EQ(hv_vcpu_run_until(vcpu, HV_DEADLINE_FOREVER), HV_SUCCESS) << hvshim::last_error_cstr();
    uint64_t reason = 0, rip = 0, len = 0;
    EXPECT_EQ(hv_vmx_vcpu_read_vmcs(vcpu, VMCS_RO_EXIT_REASON, &reason), HV_SUCCESS);
    if (reason == VMX_REASON_HLT) return ios;
    EXPECT_EQ(reason, VMX_REASON_IO);
    if (reason != VMX_REASON_IO) return -1;
    // QEMU re-injects whatever the exit reports as not delivered.
    uint64_t idt = 0;
    EXPECT_EQ(hv_vmx_vcpu_read_vmcs(vcpu, VMCS_RO_IDT_VECTOR_INFO, &idt), HV_SUCCESS);
    EXPECT_EQ(idt & IRQ_INFO_VALID, 0u);
    ++ios;
    EXPECT_EQ(hv_vcpu_read_register(vcpu, HV_X86_RIP, &rip), HV_SUCCESS);
    EXPECT_EQ(hv_vmx_vcpu_read_vmcs(vcpu, VMCS_RO_VMEXIT_INSTR_LEN, &len), HV_SUCCESS);
    EXPECT_EQ(hv_vcpu_write_register(vcpu, HV_X86_RIP, rip + len), HV_SUCCESS);
  }
  return -1;
}

TEST_F(InjectionTest, InjectedInterruptIsDeliveredOnceAlthoughTprAndSegmentsAreWrittenBeforeEveryRun) {
  load_counting_guest(ram);
  // sti; mov cx,40; 1: out 80h,al; loop 1b; hlt
  load({0xfb, 0xb9, 0x28, 0x00, 0xe6, 0x80, 0xe2, 0xfc, 0xf4});
  setv(VMCS_CTRL_EXC_BITMAP, 0);  // as QEMU: no exception intercepts
  // First exit (the first OUT) with IF set, then inject once, as QEMU does
  // when its PIC raises IRQ0.
  write_back_like_qemu(*this, vcpu);
  ASSERT_EQ(run(), VMX_REASON_IO);
  skip_insn();
  ASSERT_EQ(reg(HV_X86_RFLAGS) & 0x200, 0x200u);
  setv(VMCS_CTRL_VMENTRY_IRQ_INFO, IRQ_INFO_VALID | IRQ_INFO_EXT_IRQ | 8);
  int ios = run_to_hlt(*this, vcpu, true);
  EXPECT_EQ(ios, 40);  // 39 OUTs to port 80h, one EOI
  EXPECT_EQ(counter(ram), 1u) << "the handler ran once per delivery";
  EXPECT_EQ(vmcs(VMCS_CTRL_VMENTRY_IRQ_INFO) & IRQ_INFO_VALID, 0u);
}

TEST_F(InjectionTest, InjectedInterruptIsDeliveredOnceWithoutWriteBacks) {
  load_counting_guest(ram);
  load({0xfb, 0xb9, 0x28, 0x00, 0xe6, 0x80, 0xe2, 0xfc, 0xf4});
  setv(VMCS_CTRL_EXC_BITMAP, 0);
  ASSERT_EQ(run(), VMX_REASON_IO);
  skip_insn();
  setv(VMCS_CTRL_VMENTRY_IRQ_INFO, IRQ_INFO_VALID | IRQ_INFO_EXT_IRQ | 8);
  EXPECT_EQ(run_to_hlt(*this, vcpu, false), 40);
  EXPECT_EQ(counter(ram), 1u);
}

TEST_F(InjectionTest, ThreeInjectionsGiveThreeDeliveries) {
  load_counting_guest(ram);
  load({0xfb, 0xb9, 0x28, 0x00, 0xe6, 0x80, 0xe2, 0xfc, 0xf4});
  setv(VMCS_CTRL_EXC_BITMAP, 0);
  int exits = 0;
  for (;;) {
    write_back_like_qemu(*this, vcpu);
    if (exits == 3 || exits == 10 || exits == 20)
      setv(VMCS_CTRL_VMENTRY_IRQ_INFO, IRQ_INFO_VALID | IRQ_INFO_EXT_IRQ | 8);
    uint64_t r = run();
    if (r == VMX_REASON_HLT) break;
    ASSERT_EQ(r, VMX_REASON_IO);
    skip_insn();
    ASSERT_LT(++exits, 100);
  }
  EXPECT_EQ(exits, 43);  // 40 OUTs to port 80h, three EOIs
  EXPECT_EQ(counter(ram), 3u);
}

// QEMU's loop: every exit's IDT-vectoring information is re-injected, a new
// IRQ0 is injected when none is outstanding and IF is set, and runs are cut
// short (deadline timer, and kicks from another thread as QEMU's I/O thread
// sends them), so some exits come before the guest has taken the event.
// Each injection must reach the handler exactly once.
TEST_F(InjectionTest, EventsCutShortByExitsAreReturnedAndDeliveredOnce) {
  load_counting_guest(ram);
  load({0xeb, 0xfe});  // 1: jmp 1b
  set(HV_X86_RFLAGS, 0x202);
  setv(VMCS_CTRL_EXC_BITMAP, 0);
  std::atomic<bool> stop{false};
  hv_vcpuid_t id = vcpu;
  std::thread kicker([&] {
    while (!stop) {
      hv_vcpu_interrupt(&id, 1);
      usleep(300);
    }
  });
  unsigned injected = 0, returned = 0;
  bool pending = false;
  for (int i = 0; i < 4000 && (injected < 200 || pending); ++i) {
    write_back_like_qemu(*this, vcpu);
    uint64_t idt = vmcs(VMCS_RO_IDT_VECTOR_INFO);
    if (idt & IRQ_INFO_VALID) {
      ASSERT_EQ(idt & 0x7ff, IRQ_INFO_EXT_IRQ | 8u);
      setv(VMCS_CTRL_VMENTRY_IRQ_INFO, idt & (IRQ_INFO_VALID | 0x7ff));
      ++returned;
    } else if (injected < 200 && !(vmcs(VMCS_CTRL_VMENTRY_IRQ_INFO) & IRQ_INFO_VALID) &&
               (reg(HV_X86_RFLAGS) & 0x200) && !(vmcs(VMCS_GUEST_INTERRUPTIBILITY) & 3)) {
      setv(VMCS_CTRL_VMENTRY_IRQ_INFO, IRQ_INFO_VALID | IRQ_INFO_EXT_IRQ | 8);
      ++injected;
    }
    uint64_t deadline = 0;
    {
      timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      deadline = static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + ts.tv_nsec + 15000 * (i % 7);
    }
    ASSERT_EQ(hv_vcpu_run_until(vcpu, deadline), HV_SUCCESS) << hvshim::last_error_cstr();
    uint64_t r = vmcs(VMCS_RO_EXIT_REASON);
    if (r == VMX_REASON_IO) {
      skip_insn();
    } else {
      ASSERT_TRUE(r == VMX_REASON_IRQ || r == VMX_REASON_VMX_TIMER_EXPIRED) << r;
    }
    pending = (vmcs(VMCS_RO_IDT_VECTOR_INFO) & IRQ_INFO_VALID) || (vmcs(VMCS_CTRL_VMENTRY_IRQ_INFO) & IRQ_INFO_VALID);
  }
  stop = true;
  kicker.join();
  // Let the last handler finish: back at the idle loop with nothing pending.
  for (int i = 0; i < 50 && (reg(HV_X86_RIP) != kCodeGpa || pending); ++i) {
    uint64_t idt = vmcs(VMCS_RO_IDT_VECTOR_INFO);
    if (idt & IRQ_INFO_VALID) setv(VMCS_CTRL_VMENTRY_IRQ_INFO, idt & (IRQ_INFO_VALID | 0x7ff));
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ASSERT_EQ(hv_vcpu_run_until(vcpu, static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + ts.tv_nsec + 1000000),
              HV_SUCCESS);
    if (vmcs(VMCS_RO_EXIT_REASON) == VMX_REASON_IO) skip_insn();
    pending = (vmcs(VMCS_RO_IDT_VECTOR_INFO) & IRQ_INFO_VALID) || (vmcs(VMCS_CTRL_VMENTRY_IRQ_INFO) & IRQ_INFO_VALID);
  }
  EXPECT_EQ(injected, 200u);
  EXPECT_EQ(counter(ram), injected) << returned << " events came back undelivered";
  EXPECT_EQ(reg(HV_X86_RSP), 0x8000u) << "no nested, unrequested deliveries";
}

}  // namespace
}  // namespace vcputest

namespace vcputest {
namespace {

// NMI through VMCS_CTRL_VMENTRY_IRQ_INFO (type 2): the guest's IVT[2]
// handler runs once, and NMIs are blocked until its IRET.
TEST_F(InjectionTest, InjectedNmiRunsTheGuestNmiHandlerOnce) {
  // IVT[2] -> 0:2000h: inc word [3000h]; iret
  uint16_t ivt2[2] = {0x2000, 0};
  memcpy(ram.data() + 2 * 4, ivt2, 4);
  const uint8_t handler[] = {0xff, 0x06, 0x00, 0x30, 0xcf};
  memcpy(ram.data() + 0x2000, handler, sizeof handler);
  // 1: out 80h,al; jmp 1b  (interrupts off: an NMI does not care)
  load({0xe6, 0x80, 0xeb, 0xfc});
  setv(VMCS_CTRL_EXC_BITMAP, 0);
  setv(VMCS_CTRL_VMENTRY_IRQ_INFO, IRQ_INFO_VALID | IRQ_INFO_NMI | 2);
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(run(), VMX_REASON_IO);
    skip_insn();
  }
  EXPECT_EQ(counter(ram), 1u);
  EXPECT_EQ(vmcs(VMCS_GUEST_INTERRUPTIBILITY) & 8, 0u) << "NMI blocking ends with the handler's IRET";
}

}  // namespace
}  // namespace vcputest

namespace vcputest {
namespace {

TEST_F(InjectionTest, NmiWindowExitingExitsWhenNmisAreUnblocked) {
  load({0xe6, 0x80, 0xeb, 0xfc});  // 1: out 80h,al; jmp 1b
  setv(VMCS_CTRL_EXC_BITMAP, 0);
  setv(VMCS_GUEST_INTERRUPTIBILITY, 8);  // NMIs blocked
  setv(VMCS_CTRL_CPU_BASED, vmcs(VMCS_CTRL_CPU_BASED) | CPU_BASED_VIRTUAL_NMI_WND);
  ASSERT_EQ(run(), VMX_REASON_IO);  // blocked: the guest runs
  skip_insn();
  setv(VMCS_GUEST_INTERRUPTIBILITY, 0);  // the VMM saw the guest's IRET
  uint64_t rip = reg(HV_X86_RIP);
  ASSERT_EQ(run(), VMX_REASON_VIRTUAL_NMI_WND);
  EXPECT_EQ(reg(HV_X86_RIP), rip) << "no instruction ran";
  // The VMM injects its NMI and turns the window off, as QEMU does.
  setv(VMCS_CTRL_CPU_BASED, vmcs(VMCS_CTRL_CPU_BASED) & ~static_cast<uint64_t>(CPU_BASED_VIRTUAL_NMI_WND));
  uint16_t ivt2[2] = {0x2000, 0};
  memcpy(ram.data() + 2 * 4, ivt2, 4);
  const uint8_t handler[] = {0xff, 0x06, 0x00, 0x30, 0xcf};
  memcpy(ram.data() + 0x2000, handler, sizeof handler);
  setv(VMCS_CTRL_VMENTRY_IRQ_INFO, IRQ_INFO_VALID | IRQ_INFO_NMI | 2);
  ASSERT_EQ(run(), VMX_REASON_IO);
  skip_insn();
  ASSERT_EQ(run(), VMX_REASON_IO);
  EXPECT_EQ(counter(ram), 1u);
}

}  // namespace
}  // namespace vcputest
