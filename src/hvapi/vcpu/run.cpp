// hv_vcpu_run: KVM_RUN until something the VMM must see, translated into a
// VMX exit (reason + read-only exit fields), with guest state exactly as a
// VMX exit leaves it: RIP on the exiting instruction for I/O, EPT
// violations and intercepted exceptions, nothing KVM half-completed.
#include <Hypervisor/hv_vmx.h>
#include <signal.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <algorithm>
#include <mutex>
#include <optional>

#include "common/last_error.h"
#include "common/log.h"
#include "hvapi/allowed_access.h"
#include "hvapi/vcpu/exit_policy.h"
#include "hvapi/vcpu/vcpu.h"
#include "hvapi/vm_instance.h"

namespace hvshim::hv::vcpu {
namespace {

constexpr uint64_t kForever = ~0ull;

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// The library's IVT': vector n -> (0xFFFF - n):(0x10 + 16 n), i.e. always
// linear kTrapLinear, so the vector is recovered from CS.
const uint8_t* trap_ivt_page() {
  static uint8_t* page = [] {
    auto* p = static_cast<uint8_t*>(aligned_alloc(4096, 4096));
    memset(p, 0, 4096);
    for (unsigned n = 0; n < 256; ++n) {
      uint16_t ip = static_cast<uint16_t>(0x10 + 16 * n), cs = static_cast<uint16_t>(0xFFFF - n);
      memcpy(p + 4 * n, &ip, 2);
      memcpy(p + 4 * n + 2, &cs, 2);
    }
    return p;
  }();
  return page;
}

enum class Step { Exit, Continue, Error };

}  // namespace

struct RunCtx {
  LogicalVcpu& v;
  uint64_t deadline;
  int fetch_retries = 0;
  uint64_t last_fetch_rip = ~0ull;

  kvm_run* run() { return v.run(); }

  void set_exit(uint32_t reason) {
    v.set_ro(VMCS_RO_EXIT_REASON, reason);
    v.set_ro(VMCS_RO_EXIT_QUALIFIC, 0);
    v.set_ro(VMCS_RO_VMEXIT_INSTR_LEN, 0);
    v.set_ro(VMCS_RO_VMEXIT_IRQ_INFO, 0);
    v.set_ro(VMCS_RO_VMEXIT_IRQ_ERROR, 0);
    v.set_ro(VMCS_RO_IDT_VECTOR_INFO, 0);
    v.set_ro(VMCS_RO_IDT_VECTOR_ERROR, 0);
  }

  // Lets KVM finish an exit it expects to complete at the next KVM_RUN
  // (IN data, MMIO read, fast-path OUT skip) without entering the guest.
  hv_return_t complete_pending() {
    for (int i = 0; i < 16; ++i) {
      run()->immediate_exit = 1;
      auto st = v.k().run();
      run()->immediate_exit = 0;
      if (!st && st.error().err == EINTR) return HV_SUCCESS;
      if (!st) {
        set_last_error("completing a pending exit: " + st.error().describe());
        return HV_ERROR;
      }
      // A further fragment of the same access: give KVM zeros again.
      if (run()->exit_reason == KVM_EXIT_MMIO) memset(run()->mmio.data, 0, sizeof run()->mmio.data);
      if (run()->exit_reason == KVM_EXIT_IO && run()->io.direction == KVM_EXIT_IO_IN)
        memset(reinterpret_cast<uint8_t*>(run()) + run()->io.data_offset, 0, run()->io.size * run()->io.count);
    }
    set_last_error("KVM kept a pending exit after 16 completions");
    return HV_ERROR;
  }

  // Up to 15 code bytes at CS:rip (fewer at the end of mapped memory).
  size_t fetch(uint64_t rip, uint8_t* buf, size_t want = 15) {
    uint64_t la = v.sregs().cs.base + rip;
    size_t n = 0;
    while (n < want) {
      size_t chunk = std::min<size_t>(want - n, 4096 - ((la + n) & 4095));
      if (!v.read_linear(la + n, buf + n, chunk)) break;
      n += chunk;
    }
    return n;
  }

  // An injected event KVM has not delivered yet (the run was cut short
  // before the guest took it) is the VMM's again, as on VMX: it shows in the
  // IDT-vectoring information and leaves KVM, so only a re-injection by the
  // VMM delivers it and nothing is delivered twice.
  void return_undelivered_event() {
    kvm_vcpu_events& e = v.events();
    uint64_t info = 0;
    if (e.interrupt.injected) {
      info = IRQ_INFO_VALID | IRQ_INFO_EXT_IRQ | e.interrupt.nr;
      e.interrupt.injected = 0;
    } else if (e.nmi.injected) {
      info = IRQ_INFO_VALID | IRQ_INFO_NMI | 2;
      e.nmi.injected = 0;
    } else {
      return;
    }
    v.set_ro(VMCS_RO_IDT_VECTOR_INFO, info);
    v.set_ro(VMCS_RO_IDT_VECTOR_ERROR, 0);
    v.dirty(KVM_SYNC_X86_EVENTS);
  }

  void post_exit_fixups() {
    kvm_sregs& s = v.sregs();
    return_undelivered_event();
    if (v.trap_active && (s.idt.base != kTrapIvtGpa || s.idt.limit != 0x3ff)) {
      // The guest loaded its own IDT: that is now what the VMM sees.
      v.idtr_base_shadow = s.idt.base;
      v.idtr_limit_shadow = s.idt.limit;
      v.trap_active = false;
    }
    uint64_t entry = v.ctl(VMCS_CTRL_VMENTRY_CONTROLS);
    bool lma = s.efer & (1u << 10);
    uint64_t ne = lma ? (entry | VMENTRY_GUEST_IA32E) : (entry & ~static_cast<uint64_t>(VMENTRY_GUEST_IA32E));
    if (ne != entry) v.set_ro(VMCS_CTRL_VMENTRY_CONTROLS, ne);
  }

  // ---- entry ----

  bool install_trap_slot() {
    std::lock_guard lk(vm_mutex());
    Space* sp = v.space();
    if (sp->pages().lookup(kTrapIvtGpa) || sp->pages().lookup(kTrapLinear)) {
      log::debug("vcpu {}: real-mode trap unavailable (GPA {:#x} or {:#x} is mapped)", v.id(), kTrapIvtGpa, kTrapLinear);
      return false;
    }
    uint32_t slot = sp->reserved_slot_id();
    auto st = sp->kvm_vm().set_memslot(
        {slot, kTrapIvtGpa, 4096, reinterpret_cast<uint64_t>(trap_ivt_page()), /*readonly=*/true});
    if (!st && st.error().err != EEXIST) {
      log::debug("vcpu {}: real-mode trap slot: {}", v.id(), st.error().describe());
      return false;
    }
    return true;
  }

  void prepare_trap() {
    kvm_sregs& s = v.sregs();
    bool want = v.mode() == CpuMode::Real16 && (v.ctl(VMCS_CTRL_EXC_BITMAP) & 0xffffffffull) != 0;
    if (want && !trap_slot_ok_) trap_slot_ok_ = install_trap_slot();
    if (want && trap_slot_ok_) {
      if (v.trap_active) return;
      v.idtr_base_shadow = s.idt.base;
      v.idtr_limit_shadow = s.idt.limit;
      s.idt.base = kTrapIvtGpa;
      s.idt.limit = 0x3ff;
      v.trap_active = true;
      v.dirty(KVM_SYNC_X86_SREGS);
    } else if (v.trap_active) {
      s.idt.base = v.idtr_base_shadow;
      s.idt.limit = static_cast<uint16_t>(v.idtr_limit_shadow);
      v.trap_active = false;
      v.dirty(KVM_SYNC_X86_SREGS);
    }
  }
  bool trap_slot_ok_ = false;

  void inject() {
    uint64_t info = v.ctl(VMCS_CTRL_VMENTRY_IRQ_INFO);
    v.injected_valid = false;
    if (!(info & IRQ_INFO_VALID)) return;
    uint8_t vec = info & 0xff;
    unsigned type = (info >> 8) & 7;
    kvm_vcpu_events& e = v.events();
    kvm_regs& r = v.regs();
    if (type == 2) {
      e.nmi.injected = 1;
    } else if (type == 3) {
      e.exception.injected = 1;
      e.exception.nr = vec;
      e.exception.has_error_code = (info >> 11) & 1;
      e.exception.error_code = static_cast<uint32_t>(v.ctl(VMCS_CTRL_VMENTRY_EXC_ERROR));
    } else {
      // External interrupts, and software INT n / INT3 / INTO / INT1 delivered
      // as an interrupt whose return address is past the instruction.
      if (type >= 4) {
        r.rip += v.ctl(VMCS_CTRL_VMENTRY_INSTR_LEN);
        v.dirty(KVM_SYNC_X86_REGS);
      }
      e.interrupt.injected = 1;
      e.interrupt.nr = vec;
      e.interrupt.soft = 0;
    }
    v.dirty(KVM_SYNC_X86_EVENTS);
    v.injected_valid = true;
    v.injected_vector = vec;
    v.activity_state = 0;
    v.set_ro(VMCS_CTRL_VMENTRY_IRQ_INFO, info & ~static_cast<uint64_t>(IRQ_INFO_VALID));
  }

  void normalize_sregs() {
    if (!(run()->kvm_dirty_regs & KVM_SYNC_X86_SREGS)) return;
    kvm_sregs& s = v.sregs();
    bool lma = (s.efer & (1u << 8)) && (s.cr0 & 0x80000000ull);
    if (lma) s.efer |= 1u << 10;
    else s.efer &= ~(1ull << 10);
  }

  // ---- exits ----

  Step exit_irq() {
    set_exit(VMX_REASON_IRQ);
    return Step::Exit;
  }
  Step exit_timer() {
    set_exit(VMX_REASON_VMX_TIMER_EXPIRED);
    return Step::Exit;
  }

  // Waits (HLT without HLT exiting) until a kick or the deadline.
  Step wait_halted() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, kick_signal());
    for (;;) {
      if (v.kick.exchange(false)) return exit_irq();
      uint64_t now = now_ns();
      if (deadline != kForever && now >= deadline) return exit_timer();
      uint64_t wait = deadline == kForever ? 100000000ull : std::min<uint64_t>(deadline - now, 100000000ull);
      timespec ts{static_cast<time_t>(wait / 1000000000ull), static_cast<long>(wait % 1000000000ull)};
      sigtimedwait(&set, nullptr, &ts);
    }
  }

  Step on_hlt() {
    if (v.ctl(VMCS_CTRL_CPU_BASED) & CPU_BASED_HLT) {
      v.regs().rip -= 1;  // KVM has stepped over HLT; VMX exits on it
      v.dirty(KVM_SYNC_X86_REGS);
      set_exit(VMX_REASON_HLT);
      v.set_ro(VMCS_RO_VMEXIT_INSTR_LEN, 1);
      return Step::Exit;
    }
    v.activity_state = 1;
    return wait_halted();
  }

  Step on_io() {
    kvm_run* rr = run();
    const auto io = rr->io;
    bool out = io.direction == KVM_EXIT_IO_OUT;
    kvm_regs snap = v.regs();
    CpuMode m = v.mode();
    unsigned key = static_cast<unsigned>(m) + ((v.sregs().cs.selector & 3) == 3 ? 4 : 0);
    uint8_t& conv = v.out_convention[key];
    bool rip_past = false;
    if (!out || conv != 2) {
      if (!out) memset(reinterpret_cast<uint8_t*>(rr) + io.data_offset, 0, io.size * io.count);
      if (complete_pending()) return Step::Error;
      if (out && conv == 0) {
        // Learn once: the fast path moves RIP over the OUT when completing.
        conv = v.regs().rip != snap.rip ? 1 : 2;
      }
      rip_past = out && conv == 2;
    } else {
      rip_past = true;
    }
    // Code bytes around RIP, fetched once: [rip-3, rip+15).
    uint8_t win[18] = {};
    size_t back = 3;
    size_t n = 0;
    while (true) {
      n = fetch(snap.rip - back, win, back + 15);
      if (n > back || back == 0) break;
      --back;
    }
    auto matches = [&](size_t off, IoInsn* ii) {
      if (off > n) return false;
      *ii = decode_io(win + off, n - off, m);
      if (!ii->valid || ii->in == out || ii->size != io.size) return false;
      if (ii->imm) return ii->port_imm == io.port;
      return ii->string || static_cast<uint16_t>(snap.rdx) == io.port;
    };
    uint64_t rip_at = snap.rip;
    IoInsn ii;
    bool ok = matches(back, &ii);
    if (rip_past && !(ok && ii.string)) {
      // KVM already moved RIP past a (non-string) OUT: find it behind RIP.
      ok = false;
      for (unsigned k = 1; k <= back && !ok; ++k) {
        if (matches(back - k, &ii) && ii.len == k && !ii.string) {
          ok = true;
          rip_at = snap.rip - k;
          if (m != CpuMode::Long64) rip_at &= 0xffffffffull;
        }
      }
    }
    if (!ok) {
      ii = IoInsn{};
      ii.in = !out;
      ii.size = io.size;
      ii.len = 1;
    }
    v.regs() = snap;
    v.regs().rip = rip_at;
    if (out && ii.string && conv == 2) {
      // KVM's emulator exits once per OUTS element with RSI (and RCX for
      // REP) already stepped; VMX exits before the instruction starts.
      uint64_t mask = m == CpuMode::Long64 ? ~0ull : (m == CpuMode::Prot32 ? 0xffffffffull : 0xffffull);
      auto adj = [&](unsigned long long& r, int64_t d) { r = (r & ~mask) | ((r + static_cast<uint64_t>(d)) & mask); };
      bool df = snap.rflags & 0x400;
      adj(v.regs().rsi, df ? static_cast<int64_t>(io.size) : -static_cast<int64_t>(io.size));
      if (ii.rep) adj(v.regs().rcx, 1);
    }
    v.dirty(KVM_SYNC_X86_REGS);
    set_exit(VMX_REASON_IO);
    uint64_t q = (io.size - 1) | (out ? 0 : 8) | (ii.string ? 16 : 0) | (ii.rep ? 32 : 0) | (ii.imm ? 64 : 0) |
                 (static_cast<uint64_t>(io.port) << 16);
    v.set_ro(VMCS_RO_EXIT_QUALIFIC, q);
    v.set_ro(VMCS_RO_VMEXIT_INSTR_LEN, ii.len);
    v.set_ro(VMCS_RO_IO_RCX, v.regs().rcx);
    v.set_ro(VMCS_RO_IO_RSI, v.regs().rsi);
    v.set_ro(VMCS_RO_IO_RDI, v.regs().rdi);
    v.set_ro(VMCS_RO_IO_RIP, rip_at);
    return Step::Exit;
  }

  // The guest-linear address of the access, from the instruction's memory
  // operand, accepted only if it translates to the faulting page.
  // `pa_out`, when given, receives the guest-physical address of the access
  // itself (gpa may be just its page).
  std::optional<uint64_t> data_gla(const Insn& d, uint64_t rip_at, bool write, uint64_t gpa,
                                   uint64_t* pa_out = nullptr) {
    const kvm_regs& r = v.regs();
    const kvm_sregs& s = v.sregs();
    const uint64_t gpr[16] = {r.rax, r.rcx, r.rdx, r.rbx, r.rsp, r.rbp, r.rsi, r.rdi,
                              r.r8,  r.r9,  r.r10, r.r11, r.r12, r.r13, r.r14, r.r15};
    const uint64_t bases[6] = {s.es.base, s.cs.base, s.ss.base, s.ds.base, s.fs.base, s.gs.base};
    uint64_t la, pa;
    if (!d.len || !effective_address(d, gpr, bases, rip_at + d.len, v.mode(), write, &la)) return std::nullopt;
    // The access may start on the previous page and cross into this one.
    for (uint64_t cand : {la, (la + 16) & ~(kPageSize - 1)}) {
      if (v.linear_to_gpa(cand, &pa) && (pa & ~(kPageSize - 1)) == (gpa & ~(kPageSize - 1))) {
        if (pa_out) *pa_out = pa;
        return cand + (gpa - pa);
      }
    }
    if (!(s.cr0 & 0x80000000ull)) return gpa;  // paging off: linear == physical
    return std::nullopt;
  }

  void ept_exit(uint64_t gpa, uint64_t access, uint8_t perms, std::optional<uint64_t> gla) {
    set_exit(VMX_REASON_EPT_VIOLATION);
    uint64_t q = access | (static_cast<uint64_t>(perms & 7) << 3);
    // Every access reported here is an instruction's own data access or
    // fetch through a linear address, never a page-walk access (KVM walks
    // guest page tables in RAM itself): VMX sets bits 7 (linear address
    // valid) and 8 (access to the translated address) for those, and VMMs
    // (QEMU's hvf) only emulate MMIO when both are set. The linear address
    // is reported when the library could work it out, else 0.
    q |= (1u << 7) | (1u << 8);
    v.set_ro(VMCS_RO_GUEST_LIN_ADDR, gla ? *gla : 0);
    v.set_ro(VMCS_RO_EXIT_QUALIFIC, q);
    v.set_ro(VMCS_GUEST_PHYSICAL_ADDRESS, gpa);
  }

  // A write to a write-protected page of shared memory (hvapi/wp): the
  // router kicked the vCPU out of KVM_RUN before the write, RIP is on the
  // instruction; or KVM itself had written already (post hoc).
  Step on_write_fault(const WriteFault& f, uint64_t cr2_before) {
    if (f.kernel_write_refused) {
      // KVM's shadow page walker could not set an accessed/dirty bit in the
      // protected page and queued a #PF for the guest; on VMX the walk's
      // write is an EPT violation instead, so the #PF goes.
      kvm_vcpu_events& e = v.events();
      if (e.exception.injected && e.exception.nr == 14) {
        e.exception.injected = 0;
        e.exception.pending = 0;
        v.dirty(KVM_SYNC_X86_EVENTS);
        v.sregs().cr2 = cr2_before;
        v.dirty(KVM_SYNC_X86_SREGS);
      }
    }
    uint64_t gpa = 0;
    uint8_t perms = 0;
    {
      std::lock_guard lk(vm_mutex());
      Space* sp = v.space();
      auto g = sp->aliases().gpa_of_alias(f.alias_addr);
      if (!g) return Step::Continue;  // unmapped meanwhile: the retry tells what happens now
      auto e = sp->pages().lookup(*g & ~(kPageSize - 1));
      if (!e) return Step::Continue;
      if (e->perms & kPermWrite) {
        // Made writable since the fault: make sure the page is released, retry.
        sp->resync_write_protect(*g);
        return Step::Continue;
      }
      gpa = *g;
      perms = e->perms;
    }
    uint8_t b[16] = {};
    size_t n = fetch(v.regs().rip, b);
    Insn d = decode(b, n, v.mode());
    uint64_t pa = gpa;
    std::optional<uint64_t> gla = data_gla(d, v.regs().rip, true, gpa, &pa);
    if (gla) *gla += pa - gpa;  // the access, not its page
    ept_exit(pa, 2, perms, gla);
    v.set_ro(VMCS_RO_VMEXIT_INSTR_LEN, d.len);
    return Step::Exit;
  }

  Step on_mmio() {
    kvm_run* rr = run();
    uint64_t gpa = rr->mmio.phys_addr;
    unsigned len = rr->mmio.len;
    bool write = rr->mmio.is_write;
    uint8_t perms = 0;
    {
      std::lock_guard lk(vm_mutex());
      // A memslot update in flight, or a layout left stricter than the page
      // map: the page map allows the access, so do it and go on.
      if (complete_allowed_access(*v.space(), gpa, len, write, rr->mmio.data)) return Step::Continue;
      if (auto e = v.space()->pages().lookup(gpa & ~(kPageSize - 1))) perms = e->perms;
    }
    CpuMode m = v.mode();
    uint8_t b[16] = {};
    if (!write) {
      kvm_regs snap = v.regs();
      memset(rr->mmio.data, 0, sizeof rr->mmio.data);
      if (complete_pending()) return Step::Error;
      v.regs() = snap;
      v.dirty(KVM_SYNC_X86_REGS);
      size_t n = fetch(snap.rip, b);
      Insn d = decode(b, n, m);
      ept_exit(gpa, 1, perms, data_gla(d, snap.rip, false, gpa));
      v.set_ro(VMCS_RO_VMEXIT_INSTR_LEN, d.len);
      return Step::Exit;
    }
    if (is_hypercall_patch(gpa, len, rr->mmio.data)) {
      // Drop the patch and whatever KVM would do after it; RIP stays put.
      kvm_regs snap = v.regs();
      if (complete_pending()) return Step::Error;
      v.regs() = snap;
      v.dirty(KVM_SYNC_X86_REGS);
      return vmcall_exit();
    }
    // Writes: KVM's emulator has already retired the instruction (RIP past
    // it). Find the instruction that ends at RIP and put RIP back on it.
    uint64_t rip = v.regs().rip;
    uint8_t code[32] = {};
    size_t have = 0;
    unsigned back = 15;
    while (back > 0) {
      have = fetch(rip - back, code);
      if (have >= back) break;
      --back;
    }
    // A store straddling two pages reaches us as its first MMIO fragment
    // only (one page's share), so a shorter fragment is fine at a page edge.
    bool page_edge = (gpa & (kPageSize - 1)) == 0 || ((gpa + len) & (kPageSize - 1)) == 0;
    unsigned found = 0;
    Insn fd;
    for (unsigned k = back; k >= 1; --k) {
      Insn d = decode(code + (back - k), k, m);
      if (d.len != k || !d.mem_operand) continue;
      if (d.byte_op != (len == 1)) continue;
      bool string = d.opcode >= 0xa4 && d.opcode <= 0xaf;
      if (d.map == 0 && !d.byte_op && d.opcode != 0xff && d.opcode != 0x8f && len <= 8 && !string &&
          (len > d.opsize || (len < d.opsize && !page_edge)))
        continue;
      // A suffix of the real store can decode as a shorter store: only an
      // instruction whose operand is where the fragment is can be it.
      if (!string && !operand_touches(d, rip, gpa)) continue;
      found = k;
      fd = d;
      break;
    }
    if (found) {
      if (fd.map == 0 && !fd.byte_op && len < fd.opsize) {
        // The store's other fragment would come back as an exit of the next
        // run: VMX reports the store once, and the VMM emulates all of it.
        kvm_regs snap = v.regs();
        if (complete_pending()) return Step::Error;
        v.regs() = snap;
      }
      v.regs().rip = rip - found;
      v.dirty(KVM_SYNC_X86_REGS);
    } else {
      log::warn("vcpu {}: MMIO write at {:#x}: could not find the instruction before RIP {:#x}", v.id(), gpa, rip);
    }
    ept_exit(gpa, 2, perms, found ? data_gla(fd, rip - found, true, gpa) : std::nullopt);
    v.set_ro(VMCS_RO_VMEXIT_INSTR_LEN, found);
    return Step::Exit;
  }

  // Whether the memory operand of `d`, a store that ended at `next_rip`,
  // covers the page of `gpa` (registers as after the store, which a
  // non-string store leaves as they were).
  bool operand_touches(const Insn& d, uint64_t next_rip, uint64_t gpa) {
    const kvm_regs& r = v.regs();
    const kvm_sregs& s = v.sregs();
    const uint64_t gpr[16] = {r.rax, r.rcx, r.rdx, r.rbx, r.rsp, r.rbp, r.rsi, r.rdi,
                              r.r8,  r.r9,  r.r10, r.r11, r.r12, r.r13, r.r14, r.r15};
    const uint64_t bases[6] = {s.es.base, s.cs.base, s.ss.base, s.ds.base, s.fs.base, s.gs.base};
    uint64_t la = 0;
    if (!effective_address(d, gpr, bases, next_rip, v.mode(), true, &la)) return false;
    unsigned size = d.byte_op ? 1 : std::max(d.opsize, 16u);
    for (uint64_t at : {la, la + size - 1}) {
      uint64_t pa = 0;
      if (v.linear_to_gpa(at, &pa) && (pa & ~(kPageSize - 1)) == (gpa & ~(kPageSize - 1))) return true;
    }
    return false;
  }

  static bool is_vmcall(const uint8_t* b) { return b[0] == 0x0f && b[1] == 0x01 && b[2] == 0xc1; }

  // VMX_REASON_VMCALL: RIP on the instruction, the VMM advances it.
  Step vmcall_exit() {
    set_exit(VMX_REASON_VMCALL);
    v.set_ro(VMCS_RO_VMEXIT_INSTR_LEN, 3);
    return Step::Exit;
  }

  // Where KVM still patches hypercalls (no KVM_X86_QUIRK_FIX_HYPERCALL_INSN
  // to turn off), a VMCALL on a read-only page shows as KVM's 3-byte patch
  // write at the instruction itself, before it retires.
  bool is_hypercall_patch(uint64_t gpa, unsigned len, const uint8_t* data) {
    if (len != 3 || data[0] != 0x0f || data[1] != 0x01 || (data[2] != 0xd9 && data[2] != 0xc1)) return false;
    uint64_t at = 0;
    uint8_t b[3] = {};
    return v.linear_to_gpa(v.sregs().cs.base + v.regs().rip, &at) && at == gpa && fetch(v.regs().rip, b, 3) == 3 &&
           is_vmcall(b);
  }

  // Non-native MSR: the VMM emulates RDMSR/WRMSR and advances RIP itself.
  Step on_msr(bool write) {
    kvm_regs snap = v.regs();
    run()->msr.error = 0;
    run()->msr.data = 0;
    if (complete_pending()) return Step::Error;
    v.regs() = snap;
    v.dirty(KVM_SYNC_X86_REGS);
    set_exit(write ? VMX_REASON_WRMSR : VMX_REASON_RDMSR);
    v.set_ro(VMCS_RO_VMEXIT_INSTR_LEN, 2);
    return Step::Exit;
  }

  // Real-mode trap through IVT': rebuild the VMX view of the event.
  Step on_trap(unsigned n) {
    kvm_regs& r = v.regs();
    kvm_sregs& s = v.sregs();
    uint16_t sp = static_cast<uint16_t>(r.rsp);
    uint16_t frame[3];
    for (int i = 0; i < 3; ++i) {
      uint64_t la = s.ss.base + static_cast<uint16_t>(sp + 2 * i);
      if (!v.read_gpa(la, &frame[i], 2)) {
        set_last_error("real-mode trap: interrupt frame not readable");
        return Step::Error;
      }
    }
    uint16_t ip_after = frame[0], cs = frame[1], flags = frame[2];
    uint8_t prev[2] = {0, 0};
    // Unreadable bytes before the return address cannot be an INT the guest
    // just fetched: prev stays zero and the trap is classed as external.
    (void)v.read_gpa((static_cast<uint64_t>(cs) << 4) + static_cast<uint16_t>(ip_after - 2), prev, 2);
    unsigned type = 3, ilen = 0;
    if (prev[0] == 0xcd && prev[1] == n) type = 4, ilen = 2;
    else if (n == 3 && prev[1] == 0xcc) type = 6, ilen = 1;
    else if (n == 4 && prev[1] == 0xce) type = 6, ilen = 1;
    else if (n == 1 && prev[1] == 0xf1) type = 5, ilen = 1;
    else if (v.injected_valid && n == v.injected_vector) type = 0;
    v.injected_valid = false;
    // KVM, told not to patch hypercalls, raises #UD for VMCALL on hosts
    // whose hypercall instruction is another (AMD); VMX always exits on it.
    uint8_t at[3] = {};
    bool vmcall = n == 6 && type == 3 &&
                  v.read_gpa((static_cast<uint64_t>(cs) << 4) + ip_after, at, 3) && is_vmcall(at);
    uint64_t bitmap = v.ctl(VMCS_CTRL_EXC_BITMAP);
    bool in_limit = 4 * n + 3 <= v.idtr_limit_shadow;
    bool intercept_exc = (type == 3 || type == 5 || type == 6) && ((bitmap >> n) & 1);
    if (!vmcall && !intercept_exc && in_limit) {
      // Deliver through the VMM's IVT; KVM's frame is already right.
      uint16_t vec[2];
      if (!v.read_gpa(v.idtr_base_shadow + 4 * n, vec, 4)) {
        set_last_error("real-mode trap: guest IVT not readable");
        return Step::Error;
      }
      s.cs.selector = vec[1];
      s.cs.base = static_cast<uint64_t>(vec[1]) << 4;
      r.rip = vec[0];
      v.dirty(KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS);
      return Step::Continue;
    }
    // Undo the delivery: back to the state before the event.
    r.rsp = (r.rsp & ~0xffffull) | static_cast<uint16_t>(sp + 6);
    r.rflags = (r.rflags & 0x200000ull) | flags | 2;
    s.cs.selector = cs;
    s.cs.base = static_cast<uint64_t>(cs) << 4;
    r.rip = static_cast<uint16_t>(ip_after - ilen);
    v.dirty(KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS);
    if (vmcall) return vmcall_exit();
    if (intercept_exc) {
      set_exit(VMX_REASON_EXC_NMI);
      v.set_ro(VMCS_RO_VMEXIT_IRQ_INFO, IRQ_INFO_VALID | (type << 8) | n);
      v.set_ro(VMCS_RO_VMEXIT_INSTR_LEN, ilen);
      return Step::Exit;
    }
    if (bitmap & (1u << 13)) {
      set_exit(VMX_REASON_EXC_NMI);
      v.set_ro(VMCS_RO_VMEXIT_IRQ_INFO, IRQ_INFO_VALID | IRQ_INFO_HARD_EXC | 13);
      v.set_ro(VMCS_RO_IDT_VECTOR_INFO, IRQ_INFO_VALID | (type << 8) | n);
      v.set_ro(VMCS_RO_VMEXIT_INSTR_LEN, ilen);
      return Step::Exit;
    }
    set_exit(VMX_REASON_TRIPLE_FAULT);
    return Step::Exit;
  }

  Step untranslated() {
    UntranslatedVerdict j = judge_untranslated_exit(*run());
    switch (j.action) {
      case UntranslatedExit::Reenter: return Step::Continue;
      case UntranslatedExit::TripleFault: set_exit(VMX_REASON_TRIPLE_FAULT); return Step::Exit;
      case UntranslatedExit::Error: break;
    }
    set_last_error(std::move(j.why));
    return Step::Error;
  }

  // Stores that only write their memory operand (MOV and the SSE/AVX
  // store forms); everything else reads it first.
  static bool store_only(const Insn& d) {
    if (d.map == 0) return d.opcode == 0x88 || d.opcode == 0x89 || d.opcode == 0xc6 || d.opcode == 0xc7;
    if (d.map == 1)
      return d.opcode == 0x11 || d.opcode == 0x13 || d.opcode == 0x17 || d.opcode == 0x29 || d.opcode == 0x2b ||
             d.opcode == 0x7f || d.opcode == 0xe7 || d.opcode == 0xd6;
    return false;
  }

  // KVM's emulator failed on an instruction whose memory operand is not
  // RAM the access may use (an x87 or other instruction KVM does not
  // emulate, touching MMIO): the EPT violation VMX would have reported.
  bool operand_violation() {
    const kvm_regs& r = v.regs();
    const kvm_sregs& s = v.sregs();
    uint8_t b[16] = {};
    size_t n = fetch(r.rip, b);
    Insn d = decode(b, n, v.mode());
    if (!d.len || !d.mem_operand) return false;
    bool write = store_only(d);
    const uint64_t gpr[16] = {r.rax, r.rcx, r.rdx, r.rbx, r.rsp, r.rbp, r.rsi, r.rdi,
                              r.r8,  r.r9,  r.r10, r.r11, r.r12, r.r13, r.r14, r.r15};
    const uint64_t bases[6] = {s.es.base, s.cs.base, s.ss.base, s.ds.base, s.fs.base, s.gs.base};
    uint64_t la = 0, gpa = 0;
    if (!effective_address(d, gpr, bases, r.rip + d.len, v.mode(), write, &la) || !v.linear_to_gpa(la, &gpa))
      return false;
    uint8_t perms = 0;
    {
      std::lock_guard lk(vm_mutex());
      if (auto e = v.space()->pages().lookup(gpa & ~(kPageSize - 1))) perms = e->perms;
    }
    if (perms & (write ? kPermWrite : kPermRead)) return false;
    ept_exit(gpa, write ? 2 : 1, perms, la);
    v.set_ro(VMCS_RO_VMEXIT_INSTR_LEN, d.len);
    return true;
  }

  Step on_internal_error() {
    kvm_run* rr = run();
    if (rr->internal.suberror != KVM_INTERNAL_ERROR_EMULATION) return untranslated();
    kvm_regs& r = v.regs();
    kvm_sregs& s = v.sregs();
    if (v.trap_active && v.mode() == CpuMode::Real16 && s.cs.selector >= 0xff00) {
      unsigned n = 0xffff - s.cs.selector;
      if (r.rip == 0x10 + 16 * n) return on_trap(n);
    }
    // Instruction fetch from a page without a memslot.
    uint64_t gpa = 0;
    uint64_t la = s.cs.base + r.rip;
    if (!v.linear_to_gpa(la, &gpa)) {
      set_last_error(fmt::format("emulation failure at {:#x}; linear address not translatable", la));
      return Step::Error;
    }
    uint8_t perms = 0;
    {
      std::lock_guard lk(vm_mutex());
      if (auto e = v.space()->pages().lookup(gpa & ~(kPageSize - 1))) perms = e->perms;
    }
    if ((perms & kPermExec) && (perms & kPermRead)) {
      // The fetch is fine; if the instruction's memory operand is MMIO, VMX
      // would have given the VMM that data access to emulate.
      if (operand_violation()) return Step::Exit;
      // Mapped and executable: a transient memslot update, or KVM cannot
      // emulate this instruction. Retry a few times, then give up.
      if (r.rip == last_fetch_rip && ++fetch_retries > 3) {
        set_last_error(fmt::format("KVM cannot emulate the instruction at {:#x} (gpa {:#x})", la, gpa));
        return Step::Error;
      }
      last_fetch_rip = r.rip;
      return Step::Continue;
    }
    ept_exit(gpa, 4, perms, la);
    return Step::Exit;
  }

  Step dispatch() {
    kvm_run* rr = run();
    switch (rr->exit_reason) {
      case KVM_EXIT_HLT: return on_hlt();
      case KVM_EXIT_IO: return on_io();
      case KVM_EXIT_MMIO: return on_mmio();
      case KVM_EXIT_INTERNAL_ERROR: return on_internal_error();
      case KVM_EXIT_SHUTDOWN: set_exit(VMX_REASON_TRIPLE_FAULT); return Step::Exit;
      case KVM_EXIT_IRQ_WINDOW_OPEN:
        if (v.ctl(VMCS_CTRL_CPU_BASED) & CPU_BASED_IRQ_WND) {
          set_exit(VMX_REASON_IRQ_WND);
          return Step::Exit;
        }
        return Step::Continue;
      case KVM_EXIT_INTR: return Step::Continue;
      case KVM_EXIT_X86_RDMSR:
      case KVM_EXIT_X86_WRMSR: return on_msr(rr->exit_reason == KVM_EXIT_X86_WRMSR);
      case KVM_EXIT_FAIL_ENTRY:
        set_exit(VMX_REASON_VMENTRY_GUEST | 0x80000000u);
        return Step::Exit;
      default: return untranslated();
    }
  }
};

hv_return_t LogicalVcpu::run_until(uint64_t deadline) {
  RunCtx c{*this, deadline};
  if (kick.exchange(false)) {
    c.exit_irq();
    return HV_SUCCESS;
  }
  if (deadline != kForever && now_ns() >= deadline) {
    c.exit_timer();
    return HV_SUCCESS;
  }
  if (hv_return_t r = push_state(); r) return r;
  has_run = true;
  // NMI-window exiting: KVM has no such exit, but an entry that finds NMIs
  // unblocked and nothing to inject exits at once, as VMX would before the
  // first instruction. (NMIs unblocked by a guest IRET during a run are
  // seen at the next entry.)
  if ((ctl(VMCS_CTRL_CPU_BASED) & CPU_BASED_VIRTUAL_NMI_WND) && !events().nmi.masked &&
      !(ctl(VMCS_CTRL_VMENTRY_IRQ_INFO) & IRQ_INFO_VALID)) {
    c.set_exit(VMX_REASON_VIRTUAL_NMI_WND);
    return HV_SUCCESS;
  }
  c.inject();
  if (activity_state == 1) {
    c.wait_halted();
    c.post_exit_fixups();
    return HV_SUCCESS;
  }
  c.normalize_sregs();
  c.trap_slot_ok_ = trap_slot_ok;
  c.prepare_trap();
  trap_slot_ok = c.trap_slot_ok_;
  run()->request_interrupt_window = (ctl(VMCS_CTRL_CPU_BASED) & CPU_BASED_IRQ_WND) ? 1 : 0;

  timer_t timer{};
  bool armed = false;
  if (deadline != kForever) {
    sigevent sev{};
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = kick_signal();
    sev._sigev_un._tid = tid();
    if (timer_create(CLOCK_MONOTONIC, &sev, &timer) == 0) {
      itimerspec its{};
      its.it_value.tv_sec = static_cast<time_t>(deadline / 1000000000ull);
      its.it_value.tv_nsec = static_cast<long>(deadline % 1000000000ull);
      timer_settime(timer, TIMER_ABSTIME, &its, nullptr);
      armed = true;
    }
  }
  hv_return_t result = HV_SUCCESS;
  kvm_sync_regs backup;
  for (;;) {
    bool had_dirty = run()->kvm_dirty_regs != 0;
    uint64_t dirty_bits = run()->kvm_dirty_regs;
    if (had_dirty) backup = run()->s.regs;
    // KVM ORs a pending injected vector into the sync area's interrupt
    // bitmap at an exit and never clears it, and KVM_SET_SREGS re-queues
    // whatever is set there: with SREGS dirty (a TPR or segment write) the
    // event would be delivered again. Events travel only in the events class.
    memset(sregs().interrupt_bitmap, 0, sizeof sregs().interrupt_bitmap);
    if (kick.load()) run()->immediate_exit = 1;  // kicked while outside the guest
    if (wp_slot) wp_slot->emulated.store(!wp_runs_native());
    uint64_t cr2_before = sregs().cr2;
    uint64_t t0 = now_ns();
    running_page() = run();
    auto st = k().run();
    running_page() = nullptr;
    run()->immediate_exit = 0;
    exec_ns += now_ns() - t0;
    bool restored = wp_router && wp_router->restore_demoted();
    Step step;
    if (!st) {
      int e = st.error().err;
      std::optional<WriteFault> wf;
      if (e == EINTR) {
        drain_kick_signal();
        if (wp_slot) wf = wp_router->take_fault(*wp_slot);
      }
      if (wf) {
        step = c.on_write_fault(*wf, cr2_before);
      } else if (e == EFAULT && restored) {
        // A demoted page stopped a write KVM makes through its page-fault
        // path (no emulator): this mode is native here; kick it next time.
        wp_native_mode[static_cast<int>(mode())] = true;
        continue;
      } else if (e == EINTR) {
        if (kick.exchange(false)) {
          step = c.exit_irq();
        } else if (deadline != kForever && now_ns() >= deadline) {
          step = c.exit_timer();
        } else {
          continue;
        }
      } else if (e == EINVAL && had_dirty) {
        // KVM refused the state the VMM set: a VM-entry failure on VMX.
        run()->s.regs = backup;
        run()->kvm_dirty_regs = dirty_bits;
        c.set_exit(VMX_REASON_VMENTRY_GUEST | 0x80000000u);
        set_last_error("KVM rejected the guest state: " + st.error().describe());
        break;
      } else {
        set_last_error("KVM_RUN: " + st.error().describe());
        result = HV_ERROR;
        break;
      }
    } else {
      if (wp_slot && run()->exit_reason == KVM_EXIT_MMIO) wp_router->end_access(*wp_slot);
      step = c.dispatch();
    }
    if (step == Step::Continue) {
      continue;
    }
    if (step == Step::Error) result = HV_ERROR;
    break;
  }
  if (armed) timer_delete(timer);
  c.post_exit_fixups();
  return result;
}

}  // namespace hvshim::hv::vcpu
