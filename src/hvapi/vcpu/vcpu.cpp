#include "hvapi/vcpu/vcpu.h"

#include <Hypervisor/hv_vmx.h>
#include <Hypervisor/hv_arch_x86.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "common/last_error.h"
#include "common/log.h"
#include "hvapi/fail.h"
#include "hvapi/vcpu/cpuid_policy.h"
#include "hvapi/vcpu/segments.h"
#include "hvapi/vcpu/state_io.h"
#include "hvapi/vm_instance.h"
#include "hvapi/vcpu/msr_filter.h"

namespace hvshim::hv::vcpu {
namespace {

constexpr uint64_t kSyncAll = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS;

pid_t my_tid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

// If the kick lands outside KVM_RUN (a thread that unblocked the signal),
// make the next KVM_RUN return at once instead of losing it.
void kick_handler(int) {
  if (kvm_run* r = running_page()) r->immediate_exit = 1;
}

// All vCPUs by id (vm_mutex), and those owned by this thread (no lock).
// The table is never destroyed: a process may exit with vCPUs alive (as on
// macOS), and they must stay reachable rather than be reported as leaks by
// LeakSanitizer once static destructors have run.
std::vector<LogicalVcpu*>& g_vcpus = *new std::vector<LogicalVcpu*>;
thread_local std::vector<LogicalVcpu*> t_owned;

// Union of all vCPUs' native MSRs (vm_mutex).
std::set<uint32_t> native_union() {
  std::set<uint32_t> u;
  for (LogicalVcpu* v : g_vcpus)
    if (v) u.insert(v->native_msrs.begin(), v->native_msrs.end());
  return u;
}

}  // namespace

int kick_signal() { return SIGRTMAX - 3; }

namespace {
thread_local kvm_run* t_running = nullptr;
}
kvm_run*& running_page() { return t_running; }

void drain_kick_signal() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, kick_signal());
  timespec zero{0, 0};
  while (sigtimedwait(&s, nullptr, &zero) > 0) {
  }
}

namespace {
void install_kick_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_handler = kick_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(kick_signal(), &sa, nullptr);
  });
}
}  // namespace

kvm::Result<const std::vector<kvm_cpuid_entry2>*> guest_cpuid(const kvm::System& sys) {
  // Read from KVM once it has answered; a failure (say a transient ENOMEM)
  // is not kept, or every later vCPU of the process would run without CPUID.
  static std::mutex mu;
  static std::vector<kvm_cpuid_entry2> entries;
  static std::atomic<bool> have{false};
  if (have.load(std::memory_order_acquire)) return &entries;
  std::lock_guard lk(mu);
  if (!have.load(std::memory_order_relaxed)) {
    auto r = sys.supported_cpuid();
    if (!r) return r.error();
    entries = std::move(*r);
    // Hide KVM's paravirtual leaves: a Hypervisor.framework guest sees no
    // KVM interface (kvmclock & co. would be MSRs the VMM knows nothing of).
    std::erase_if(entries, [](const kvm_cpuid_entry2& e) { return (e.function & 0xffffff00u) == 0x40000000u; });
    have.store(true, std::memory_order_release);
  }
  return &entries;
}

hv_return_t LogicalVcpu::make_kcpu(Space* space, KCpu* out) {
  VmInstance* vm = current_vm();
  // KVM never frees a vCPU before its VM, so an id whose vCPU was destroyed
  // stays taken: use the logical id if KVM still has it, else the next one.
  auto v = space->kvm_vm().create_vcpu(vm->system(), id_);
  for (unsigned kid = 0; !v && v.error().err == EEXIST && kid < 4096; ++kid) {
    if (kid != id_) v = space->kvm_vm().create_vcpu(vm->system(), kid);
  }
  if (!v) return kvm_fail(v.error());
  auto kv = std::make_unique<kvm::Vcpu>(std::move(*v));
  if (cpuid_.empty()) {
    auto cpuid = guest_cpuid(vm->system());
    if (!cpuid) return kvm_fail(cpuid.error());
    cpuid_ = cpuid_for_vcpu(**cpuid, id_);
  }
  if (auto st = kv->set_cpuid(cpuid_); !st) return kvm_fail(st.error());
  // Signals as this thread has them, minus the kick, while inside KVM_RUN.
  sigset_t cur;
  pthread_sigmask(SIG_BLOCK, nullptr, &cur);
  sigdelset(&cur, kick_signal());
  if (auto st = kv->set_signal_mask(&cur, 8); !st) return kvm_fail(st.error());
  kvm_run* r = kv->run_page();
  r->kvm_valid_regs = kSyncAll;
  auto regs = kv->get_regs();
  auto sregs = kv->get_sregs();
  auto ev = kv->get_events();
  if (!regs) return kvm_fail(regs.error());
  if (!sregs) return kvm_fail(sregs.error());
  if (!ev) return kvm_fail(ev.error());
  r->s.regs.regs = *regs;
  r->s.regs.sregs = *sregs;
  r->s.regs.events = *ev;
  // Without a filter (KVM lacks it or refused it; apply_msr_filter logs why)
  // KVM handles every MSR itself, as it did before: the vCPU still works.
  (void)apply_msr_filter(space->kvm_vm(), native_union());
  out->vcpu = std::move(kv);
  out->space = space;
  out->vm_fd_dup = fcntl(space->kvm_vm().fd(), F_DUPFD_CLOEXEC, 0);
  return HV_SUCCESS;
}

LogicalVcpu::KCpu& LogicalVcpu::KCpu::operator=(KCpu&& o) noexcept {
  if (this != &o) {
    if (vm_fd_dup >= 0) close(vm_fd_dup);
    vcpu = std::move(o.vcpu);
    space = o.space;
    vm_fd_dup = std::exchange(o.vm_fd_dup, -1);
  }
  return *this;
}

LogicalVcpu::KCpu::~KCpu() {
  if (vm_fd_dup >= 0) close(vm_fd_dup);
}

namespace {
bool same_file(int a, int b) {
  if (a < 0 || b < 0) return false;
  long r = syscall(SYS_kcmp, getpid(), getpid(), 0 /*KCMP_FILE*/, a, b);
  if (r < 0) return true;  // kcmp unavailable: trust the Space pointer check
  return r == 0;
}
}  // namespace

hv_return_t LogicalVcpu::init(Space* space, uint32_t space_id) {
  KCpu kc;
  if (hv_return_t r = make_kcpu(space, &kc); r) return r;
  cur_ = kc.vcpu.get();
  kcpus_[space_id] = std::move(kc);
  space_ = space;
  space_id_ = space_id;
  if (auto d = cur_->get_debugregs(); d) dregs_ = *d;
  set_defaults();
  return HV_SUCCESS;
}

hv_return_t LogicalVcpu::set_cpuid(std::vector<kvm_cpuid_entry2> table) {
  if (has_run)
    return fail(HV_BUSY, "the CPUID table must be set before the vCPU first runs (KVM freezes it at KVM_RUN)");
  if (table.empty() || table.size() > 256) return fail(HV_BAD_ARGUMENT, "a CPUID table has 1 to 256 entries");
  if (uint32_t n = xsave_bytes(table); n > kFpstateBytes)
    return fail(HV_BAD_ARGUMENT, fmt::format("CPUID leaf 0xD enables {} bytes of XSAVE state; fpstate holds {}", n,
                                             kFpstateBytes));
  // All KVM vCPUs of this logical vCPU (one per visited space), or none.
  std::vector<kvm::Vcpu*> done;
  for (auto& [sid, kc] : kcpus_) {
    if (auto st = kc.vcpu->set_cpuid(table); !st) {
      for (kvm::Vcpu* d : done) (void)d->set_cpuid(cpuid_);
      return kvm_fail(st.error());
    }
    done.push_back(kc.vcpu.get());
  }
  cpuid_ = std::move(table);
  return HV_SUCCESS;
}

void LogicalVcpu::set_defaults() {
  // Real mode, flat 64 KiB segments at 0, as a VMM expects to find a fresh
  // VMCS-backed vCPU: programs that only touch CPU_BASED run real-mode code.
  kvm_regs& r = regs();
  memset(&r, 0, sizeof r);
  r.rflags = 2;
  kvm_sregs& s = sregs();
  auto seg = [](kvm_segment& g, uint32_t ar) {
    g.selector = 0;
    g.base = 0;
    g.limit = 0xffff;
    ar_to_seg(ar, g);
  };
  seg(s.cs, 0x9b);
  seg(s.ds, 0x93);
  seg(s.es, 0x93);
  seg(s.fs, 0x93);
  seg(s.gs, 0x93);
  seg(s.ss, 0x93);
  seg(s.ldt, 0x82);
  seg(s.tr, 0x8b);
  s.gdt.base = 0;
  s.gdt.limit = 0xffff;
  s.idt.base = 0;
  s.idt.limit = 0xffff;
  s.cr0 = 0x20;  // NE (VMX fixed bit); PE/PG may be 0 with unrestricted guest
  s.cr2 = 0;
  s.cr3 = 0;
  s.cr4 = 0;
  s.cr8 = 0;
  s.efer = 0;
  memset(s.interrupt_bitmap, 0, sizeof s.interrupt_bitmap);
  cr4_vmx_bits = 0x2000;  // CR4.VMXE as the VMM sees it; never given to KVM
  dregs_.dr6 = 0xffff0ff0;
  dregs_.dr7 = 0x400;
  for (auto& d : dregs_.db) d = 0;
  dregs_dirty_ = true;
  dirty(kSyncAll);

  vmcs_.clear();
  auto canon = [](uint32_t cap) {
    uint64_t c = 0;
    (void)read_capability(cap, &c);  // read_capability knows every cap below
    return (c & 0xffffffffull) & (c >> 32);
  };
  vmcs_[VMCS_CTRL_PIN_BASED] = canon(HV_VMX_CAP_PINBASED);
  vmcs_[VMCS_CTRL_CPU_BASED] = canon(HV_VMX_CAP_PROCBASED);
  vmcs_[VMCS_CTRL_CPU_BASED2] = canon(HV_VMX_CAP_PROCBASED2);
  vmcs_[VMCS_CTRL_VMENTRY_CONTROLS] = canon(HV_VMX_CAP_ENTRY);
  vmcs_[VMCS_CTRL_VMEXIT_CONTROLS] = canon(HV_VMX_CAP_EXIT);
  vmcs_[VMCS_GUEST_LINK_POINTER] = ~0ull;
  vmcs_[VMCS_CTRL_CR4_SHADOW] = 0;
}

hv_return_t LogicalVcpu::push_state() {
  if (tsc_pending.exchange(false)) {
    if (auto st = cur_->set_msr(0x10, tsc_value.load()); !st) log::debug("vcpu {}: TSC write: {}", id_, st.error().describe());
  }
  if (dregs_dirty_) {
    kvm_debugregs d = dregs_;
    d.flags = 0;
    if (auto st = cur_->set_debugregs(d); !st) return kvm_fail(st.error());
    dregs_dirty_ = false;
  }
  if (xcr0_dirty_) {
    kvm_xcrs x{};
    x.nr_xcrs = 1;
    x.xcrs[0].xcr = 0;
    x.xcrs[0].value = xcr0_;
    if (auto st = cur_->set_xcrs(x); !st) return kvm_fail(st.error());
    xcr0_dirty_ = false;
  }
  return HV_SUCCESS;
}

bool LogicalVcpu::wp_runs_native() {
  // On PVM only 64-bit code at CPL 3 runs natively; KVM emulates the rest.
  CpuMode m = mode();
  return (m == CpuMode::Long64 && sregs().cs.dpl == 3) || wp_native_mode[static_cast<int>(m)];
}

CpuMode LogicalVcpu::mode() {
  const kvm_sregs& s = sregs();
  if (!(s.cr0 & 1)) return CpuMode::Real16;
  if ((s.efer & (1u << 10)) && s.cs.l) return CpuMode::Long64;
  return s.cs.db ? CpuMode::Prot32 : CpuMode::Prot16;
}

bool LogicalVcpu::read_gpa(uint64_t gpa, void* buf, size_t len) {
  std::lock_guard lk(vm_mutex());
  auto* out = static_cast<uint8_t*>(buf);
  while (len) {
    uint64_t page = gpa & ~(kPageSize - 1);
    auto e = space_->pages().lookup(page);
    if (!e || !(e->perms & kPermRead)) return false;
    size_t off = gpa - page;
    size_t n = std::min<size_t>(len, kPageSize - off);
    memcpy(out, reinterpret_cast<const void*>(e->hva + off), n);
    out += n;
    gpa += n;
    len -= n;
  }
  return true;
}

bool LogicalVcpu::walk(uint64_t la, uint64_t* gpa) {
  // Software walk of the guest's page tables (no ioctl): 4-level long mode,
  // PAE and 2-level 32-bit paging. Accessed/dirty bits are not touched.
  const kvm_sregs& s = sregs();
  auto rd = [&](uint64_t a, uint64_t* v, size_t n) {
    *v = 0;
    return read_gpa(a, v, n);
  };
  constexpr uint64_t kAddr = 0x000ffffffffff000ull;
  uint64_t e;
  if (s.efer & (1u << 10)) {
    uint64_t table = s.cr3 & kAddr;
    for (int level = 3; level >= 0; --level) {
      unsigned idx = (la >> (12 + 9 * level)) & 511;
      if (!rd(table + 8 * idx, &e, 8) || !(e & 1)) return false;
      if (level > 0 && level < 3 && (e & 0x80)) {
        uint64_t size = 1ull << (12 + 9 * level);
        *gpa = (e & kAddr & ~(size - 1)) | (la & (size - 1));
        return true;
      }
      table = e & kAddr;
    }
    *gpa = table | (la & 0xfff);
    return true;
  }
  la &= 0xffffffffull;
  if (s.cr4 & 0x20) {  // PAE
    if (!rd((s.cr3 & 0xffffffe0u) + 8 * (la >> 30), &e, 8) || !(e & 1)) return false;
    uint64_t pd = e & kAddr;
    if (!rd(pd + 8 * ((la >> 21) & 511), &e, 8) || !(e & 1)) return false;
    if (e & 0x80) {
      *gpa = (e & kAddr & ~0x1fffffull) | (la & 0x1fffff);
      return true;
    }
    if (!rd((e & kAddr) + 8 * ((la >> 12) & 511), &e, 8) || !(e & 1)) return false;
    *gpa = (e & kAddr) | (la & 0xfff);
    return true;
  }
  if (!rd((s.cr3 & 0xfffff000u) + 4 * (la >> 22), &e, 4) || !(e & 1)) return false;
  if ((e & 0x80) && (s.cr4 & 0x10)) {
    *gpa = (e & 0xffc00000u) | (la & 0x3fffff);
    return true;
  }
  if (!rd((e & 0xfffff000u) + 4 * ((la >> 12) & 1023), &e, 4) || !(e & 1)) return false;
  *gpa = (e & 0xfffff000u) | (la & 0xfff);
  return true;
}

bool LogicalVcpu::linear_to_gpa(uint64_t la, uint64_t* gpa) {
  if (!(sregs().cr0 & 0x80000000ull)) {
    *gpa = mode() == CpuMode::Long64 ? la : (la & 0xffffffffull);
    return true;
  }
  if (walk(la, gpa)) return true;
  auto t = cur_->translate(la);
  if (!t || !t->valid) return false;
  *gpa = t->physical_address;
  return true;
}

bool LogicalVcpu::read_linear(uint64_t la, void* buf, size_t len) {
  auto* out = static_cast<uint8_t*>(buf);
  while (len) {
    size_t n = std::min<size_t>(len, kPageSize - (la & (kPageSize - 1)));
    uint64_t gpa;
    if (!linear_to_gpa(la, &gpa) || !read_gpa(gpa, out, n)) return false;
    out += n;
    la += n;
    len -= n;
  }
  return true;
}

// ---- registers ----------------------------------------------------------

hv_return_t LogicalVcpu::read_register(uint32_t reg, uint64_t* v) {
  kvm_regs& r = regs();
  kvm_sregs& s = sregs();
  switch (reg) {
    case HV_X86_RIP: *v = r.rip; return HV_SUCCESS;
    case HV_X86_RFLAGS: *v = r.rflags; return HV_SUCCESS;
    case HV_X86_RAX: *v = r.rax; return HV_SUCCESS;
    case HV_X86_RCX: *v = r.rcx; return HV_SUCCESS;
    case HV_X86_RDX: *v = r.rdx; return HV_SUCCESS;
    case HV_X86_RBX: *v = r.rbx; return HV_SUCCESS;
    case HV_X86_RSI: *v = r.rsi; return HV_SUCCESS;
    case HV_X86_RDI: *v = r.rdi; return HV_SUCCESS;
    case HV_X86_RSP: *v = r.rsp; return HV_SUCCESS;
    case HV_X86_RBP: *v = r.rbp; return HV_SUCCESS;
    case HV_X86_R8: *v = r.r8; return HV_SUCCESS;
    case HV_X86_R9: *v = r.r9; return HV_SUCCESS;
    case HV_X86_R10: *v = r.r10; return HV_SUCCESS;
    case HV_X86_R11: *v = r.r11; return HV_SUCCESS;
    case HV_X86_R12: *v = r.r12; return HV_SUCCESS;
    case HV_X86_R13: *v = r.r13; return HV_SUCCESS;
    case HV_X86_R14: *v = r.r14; return HV_SUCCESS;
    case HV_X86_R15: *v = r.r15; return HV_SUCCESS;
    case HV_X86_CS: *v = s.cs.selector; return HV_SUCCESS;
    case HV_X86_SS: *v = s.ss.selector; return HV_SUCCESS;
    case HV_X86_DS: *v = s.ds.selector; return HV_SUCCESS;
    case HV_X86_ES: *v = s.es.selector; return HV_SUCCESS;
    case HV_X86_FS: *v = s.fs.selector; return HV_SUCCESS;
    case HV_X86_GS: *v = s.gs.selector; return HV_SUCCESS;
    case HV_X86_IDT_BASE: return read_vmcs(VMCS_GUEST_IDTR_BASE, v);
    case HV_X86_IDT_LIMIT: return read_vmcs(VMCS_GUEST_IDTR_LIMIT, v);
    case HV_X86_GDT_BASE: *v = s.gdt.base; return HV_SUCCESS;
    case HV_X86_GDT_LIMIT: *v = s.gdt.limit; return HV_SUCCESS;
    case HV_X86_LDTR: *v = s.ldt.selector; return HV_SUCCESS;
    case HV_X86_LDT_BASE: *v = s.ldt.base; return HV_SUCCESS;
    case HV_X86_LDT_LIMIT: *v = s.ldt.limit; return HV_SUCCESS;
    case HV_X86_LDT_AR: *v = seg_to_ar(s.ldt); return HV_SUCCESS;
    case HV_X86_TR: *v = s.tr.selector; return HV_SUCCESS;
    case HV_X86_TSS_BASE: *v = s.tr.base; return HV_SUCCESS;
    case HV_X86_TSS_LIMIT: *v = s.tr.limit; return HV_SUCCESS;
    case HV_X86_TSS_AR: *v = seg_to_ar(s.tr); return HV_SUCCESS;
    case HV_X86_CR0: return read_vmcs(VMCS_GUEST_CR0, v);
    case HV_X86_CR1: *v = 0; return HV_SUCCESS;
    case HV_X86_CR2: *v = s.cr2; return HV_SUCCESS;
    case HV_X86_CR3: *v = s.cr3; return HV_SUCCESS;
    case HV_X86_CR4: return read_vmcs(VMCS_GUEST_CR4, v);
    case HV_X86_DR0: case HV_X86_DR1: case HV_X86_DR2: case HV_X86_DR3:
      *v = dregs_.db[reg - HV_X86_DR0];
      return HV_SUCCESS;
    case HV_X86_DR4: case HV_X86_DR5: *v = dr45_[reg - HV_X86_DR4]; return HV_SUCCESS;
    case HV_X86_DR6: *v = dregs_.dr6; return HV_SUCCESS;
    case HV_X86_DR7: *v = dregs_.dr7; return HV_SUCCESS;
    case HV_X86_TPR: *v = s.cr8 << 4; return HV_SUCCESS;
    case HV_X86_XCR0: *v = xcr0_; return HV_SUCCESS;
    default:
      return fail(HV_BAD_ARGUMENT, fmt::format("register {} is not an hv_x86_reg_t", reg));
  }
}

hv_return_t LogicalVcpu::write_register(uint32_t reg, uint64_t v) {
  kvm_regs& r = regs();
  kvm_sregs& s = sregs();
  auto gpr = [&](unsigned long long& dst) {
    dst = v;
    dirty(KVM_SYNC_X86_REGS);
    return HV_SUCCESS;
  };
  auto sel = [&](kvm_segment& g) {
    g.selector = static_cast<uint16_t>(v);
    dirty(KVM_SYNC_X86_SREGS);
    return HV_SUCCESS;
  };
  switch (reg) {
    case HV_X86_RIP: return gpr(r.rip);
    case HV_X86_RFLAGS: return write_vmcs(VMCS_GUEST_RFLAGS, v);
    case HV_X86_RAX: return gpr(r.rax);
    case HV_X86_RCX: return gpr(r.rcx);
    case HV_X86_RDX: return gpr(r.rdx);
    case HV_X86_RBX: return gpr(r.rbx);
    case HV_X86_RSI: return gpr(r.rsi);
    case HV_X86_RDI: return gpr(r.rdi);
    case HV_X86_RSP: return gpr(r.rsp);
    case HV_X86_RBP: return gpr(r.rbp);
    case HV_X86_R8: return gpr(r.r8);
    case HV_X86_R9: return gpr(r.r9);
    case HV_X86_R10: return gpr(r.r10);
    case HV_X86_R11: return gpr(r.r11);
    case HV_X86_R12: return gpr(r.r12);
    case HV_X86_R13: return gpr(r.r13);
    case HV_X86_R14: return gpr(r.r14);
    case HV_X86_R15: return gpr(r.r15);
    case HV_X86_CS: return sel(s.cs);
    case HV_X86_SS: return sel(s.ss);
    case HV_X86_DS: return sel(s.ds);
    case HV_X86_ES: return sel(s.es);
    case HV_X86_FS: return sel(s.fs);
    case HV_X86_GS: return sel(s.gs);
    case HV_X86_IDT_BASE: return write_vmcs(VMCS_GUEST_IDTR_BASE, v);
    case HV_X86_IDT_LIMIT: return write_vmcs(VMCS_GUEST_IDTR_LIMIT, v);
    case HV_X86_GDT_BASE: return write_vmcs(VMCS_GUEST_GDTR_BASE, v);
    case HV_X86_GDT_LIMIT: return write_vmcs(VMCS_GUEST_GDTR_LIMIT, v);
    case HV_X86_LDTR: return sel(s.ldt);
    case HV_X86_LDT_BASE: return write_vmcs(VMCS_GUEST_LDTR_BASE, v);
    case HV_X86_LDT_LIMIT: return write_vmcs(VMCS_GUEST_LDTR_LIMIT, v);
    case HV_X86_LDT_AR: return write_vmcs(VMCS_GUEST_LDTR_AR, v);
    case HV_X86_TR: return sel(s.tr);
    case HV_X86_TSS_BASE: return write_vmcs(VMCS_GUEST_TR_BASE, v);
    case HV_X86_TSS_LIMIT: return write_vmcs(VMCS_GUEST_TR_LIMIT, v);
    case HV_X86_TSS_AR: return write_vmcs(VMCS_GUEST_TR_AR, v);
    case HV_X86_CR0: return write_vmcs(VMCS_GUEST_CR0, v);
    case HV_X86_CR1: return HV_SUCCESS;  // no such register; ignored
    case HV_X86_CR2:
      s.cr2 = v;
      dirty(KVM_SYNC_X86_SREGS);
      return HV_SUCCESS;
    case HV_X86_CR3: return write_vmcs(VMCS_GUEST_CR3, v);
    case HV_X86_CR4: return write_vmcs(VMCS_GUEST_CR4, v);
    case HV_X86_DR0: case HV_X86_DR1: case HV_X86_DR2: case HV_X86_DR3:
      dregs_.db[reg - HV_X86_DR0] = v;
      dregs_dirty_ = true;
      return HV_SUCCESS;
    case HV_X86_DR4: case HV_X86_DR5: dr45_[reg - HV_X86_DR4] = v; return HV_SUCCESS;
    case HV_X86_DR6:
      dregs_.dr6 = v;
      dregs_dirty_ = true;
      return HV_SUCCESS;
    case HV_X86_DR7: return write_vmcs(VMCS_GUEST_DR7, v);
    case HV_X86_TPR:
      s.cr8 = (v >> 4) & 0xf;
      dirty(KVM_SYNC_X86_SREGS);
      return HV_SUCCESS;
    case HV_X86_XCR0:
      if (!(v & 1)) return fail(HV_BAD_ARGUMENT, "XCR0 bit 0 (x87) must be set");
      xcr0_ = v;
      xcr0_dirty_ = true;
      return HV_SUCCESS;
    default:
      return fail(HV_BAD_ARGUMENT, fmt::format("register {} is not an hv_x86_reg_t", reg));
  }
}

void LogicalVcpu::set_dr7(uint64_t v) {
  dregs_.dr7 = v;
  dregs_dirty_ = true;
}
uint64_t LogicalVcpu::dr7() const { return dregs_.dr7; }

// ---- FPU / MSRs -----------------------------------------------------------

hv_return_t LogicalVcpu::read_fpstate(void* buf, size_t size) {
  if (!buf) return fail(HV_BAD_ARGUMENT, "buffer is null");
  if (size < 512) return fail(HV_BAD_ARGUMENT, "fpstate buffer smaller than the 512-byte legacy XSAVE region");
  auto x = cur_->get_xsave();
  if (!x) return kvm_fail(x.error());
  size_t n = std::min(size, sizeof(kvm::XsaveArea));
  memcpy(buf, x->region, n);
  if (size > n) memset(static_cast<uint8_t*>(buf) + n, 0, size - n);
  return HV_SUCCESS;
}

hv_return_t LogicalVcpu::write_fpstate(const void* buf, size_t size) {
  if (!buf) return fail(HV_BAD_ARGUMENT, "buffer is null");
  if (size < 512) return fail(HV_BAD_ARGUMENT, "fpstate buffer smaller than the 512-byte legacy XSAVE region");
  auto x = cur_->get_xsave();
  if (!x) return kvm_fail(x.error());
  memcpy(x->region, buf, std::min(size, sizeof(kvm::XsaveArea)));
  if (size < 576) {
    // Legacy FXSAVE image only: say x87+SSE are in the image.
    uint64_t bv;
    memcpy(&bv, reinterpret_cast<uint8_t*>(x->region) + 512, 8);
    bv |= 3;
    memcpy(reinterpret_cast<uint8_t*>(x->region) + 512, &bv, 8);
  }
  if (auto st = cur_->set_xsave(*x); !st) {
    set_last_error("XSAVE image rejected by KVM: " + st.error().describe());
    return HV_BAD_ARGUMENT;
  }
  return HV_SUCCESS;
}

hv_return_t LogicalVcpu::read_msr(uint32_t msr, uint64_t* v) {
  kvm_sregs& s = sregs();
  switch (msr) {
    case 0xc0000080: *v = s.efer; return HV_SUCCESS;
    case 0xc0000100: *v = s.fs.base; return HV_SUCCESS;
    case 0xc0000101: *v = s.gs.base; return HV_SUCCESS;
    case 0x1b: *v = s.apic_base; return HV_SUCCESS;
    default: break;
  }
  auto r = cur_->get_msr(msr);
  if (!r) return fail(HV_BAD_ARGUMENT, fmt::format("MSR {:#x}: {}", msr, r.error().describe()));
  *v = *r;
  return HV_SUCCESS;
}

hv_return_t LogicalVcpu::write_msr(uint32_t msr, uint64_t v) {
  kvm_sregs& s = sregs();
  switch (msr) {
    case 0xc0000080: return write_vmcs(VMCS_GUEST_IA32_EFER, v);
    case 0xc0000100: s.fs.base = v; dirty(KVM_SYNC_X86_SREGS); return HV_SUCCESS;
    case 0xc0000101: s.gs.base = v; dirty(KVM_SYNC_X86_SREGS); return HV_SUCCESS;
    case 0x1b: s.apic_base = v; dirty(KVM_SYNC_X86_SREGS); return HV_SUCCESS;
    default: break;
  }
  if (auto st = cur_->set_msr(msr, v); !st)
    return fail(HV_BAD_ARGUMENT, fmt::format("MSR {:#x}: {}", msr, st.error().describe()));
  written_msrs_[msr] = v;
  return HV_SUCCESS;
}

// ---- spaces -------------------------------------------------------------

hv_return_t LogicalVcpu::set_space(Space* space, uint32_t space_id) {
  if (space_id == space_id_) return HV_SUCCESS;
  // Let go of KVM vCPUs in spaces that were destroyed meanwhile (they keep
  // that KVM VM, its memslots and its mmu notifier alive). vm_mutex is held.
  if (VmInstance* vm = current_vm()) {
    for (auto k = kcpus_.begin(); k != kcpus_.end();) {
      Space* now = vm->space(k->first);
      bool stale = k->first != space_id_ &&
                   (now != k->second.space || !now || !same_file(k->second.vm_fd_dup, now->kvm_vm().fd()));
      k = stale ? kcpus_.erase(k) : std::next(k);
    }
  }
  auto it = kcpus_.find(space_id);
  if (it != kcpus_.end() && (it->second.space != space || !same_file(it->second.vm_fd_dup, space->kvm_vm().fd()))) {
    kcpus_.erase(it);  // that space was destroyed; the id now names a new one
    it = kcpus_.end();
  }
  if (it == kcpus_.end()) {
    KCpu kc;
    if (hv_return_t r = make_kcpu(space, &kc); r) return r;
    it = kcpus_.emplace(space_id, std::move(kc)).first;
  }
  kvm::Vcpu* to = it->second.vcpu.get();
  kvm::Vcpu* from = cur_;
  // Exits are completed before hv_vcpu_run returns, so nothing is pending.
  auto x = from->get_xsave();
  if (!x) return kvm_fail(x.error());
  if (auto st = to->set_xsave(*x); !st) return kvm_fail(st.error());
  std::vector<std::pair<uint32_t, uint64_t>> msrs;
  if (auto st = get_all_msrs(current_vm()->system(), *from, &msrs); !st) return kvm_fail(st.error());
  // KVM lists some MSRs it then refuses to restore (set_msrs skips those):
  // the rest, which is what the guest can observe, moves.
  if (int moved = set_msrs(*to, msrs); static_cast<size_t>(moved) != msrs.size())
    log::debug("space switch: KVM took {} of {} MSRs", moved, msrs.size());
  to->run_page()->s.regs = from->run_page()->s.regs;
  to->run_page()->kvm_dirty_regs = kSyncAll;
  from->run_page()->kvm_dirty_regs = 0;
  cur_ = to;
  trap_slot_ok = false;
  dregs_dirty_ = true;
  xcr0_dirty_ = xcr0_ != 1;
  space_->vcpu_users--;
  space->vcpu_users++;
  space_ = space;
  space_id_ = space_id;
  return HV_SUCCESS;
}

// ---- registry -----------------------------------------------------------

LogicalVcpu* owned_vcpu(uint32_t id, hv_return_t* err) {
  if (id < t_owned.size() && t_owned[id]) return t_owned[id];
  std::lock_guard lk(vm_mutex());
  if (id < g_vcpus.size() && g_vcpus[id]) {
    set_last_error(fmt::format("vCPU {} belongs to another thread (tid {})", id, g_vcpus[id]->tid()));
    *err = HV_DENIED;
  } else {
    set_last_error(fmt::format("no vCPU {}", id));
    *err = HV_BAD_ARGUMENT;
  }
  return nullptr;
}

hv_return_t create_vcpu(uint32_t* id) {
  install_kick_handler();
  static std::once_flag fork_once;
  std::call_once(fork_once, [] {
    // A forked child has no VM (vm_instance.cpp) and so no vCPUs. Free the
    // parent's, which closes the child's copies of their KVM vCPU and VM fds
    // and unmaps their kvm_run pages: the child cannot use them, and they
    // would keep the parent's KVM VM alive for as long as the child lives.
    pthread_atfork(nullptr, nullptr, [] {
      for (LogicalVcpu* v : g_vcpus) delete v;
      g_vcpus.clear();
      t_owned.clear();
    });
  });
  // The kick is only ever taken inside KVM_RUN (see run.cpp).
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, kick_signal());
  pthread_sigmask(SIG_BLOCK, &s, nullptr);

  std::lock_guard lk(vm_mutex());
  VmInstance* vm = current_vm();
  if (!vm) return fail(HV_DENIED, "no VM: call hv_vm_create first");
  uint32_t n = 0;
  while (n < g_vcpus.size() && g_vcpus[n]) ++n;
  int maxv = vm->system().check_extension(kvm::kCapMaxVcpus);
  if (maxv > 0 && n >= static_cast<uint32_t>(maxv))
    return fail(HV_NO_RESOURCES, fmt::format("all {} vCPUs are in use", maxv));
  auto v = std::make_unique<LogicalVcpu>(n, my_tid());
  Space* sp = vm->space(0);
  if (hv_return_t r = v->init(sp, 0); r) return r;
  if (FaultRouter* r = vm->router()) {
    v->wp_router = r;
    v->wp_slot = r->attach(v->tid(), kick_signal());
  }
  sp->vcpu_users++;
  vm->live_vcpus++;
  if (g_vcpus.size() <= n) g_vcpus.resize(n + 1, nullptr);
  g_vcpus[n] = v.get();
  if (t_owned.size() <= n) t_owned.resize(n + 1, nullptr);
  t_owned[n] = v.release();
  *id = n;
  return HV_SUCCESS;
}

hv_return_t destroy_vcpu(uint32_t id) {
  hv_return_t err = HV_SUCCESS;
  LogicalVcpu* v = owned_vcpu(id, &err);
  if (!v) return err;
  std::lock_guard lk(vm_mutex());
  VmInstance* vm = current_vm();
  if (vm) {
    if (Space* sp = vm->space(v->space_id())) sp->vcpu_users--;
    if (v->wp_router) v->wp_router->detach(v->tid());
    vm->live_vcpus--;
  }
  g_vcpus[id] = nullptr;
  t_owned[id] = nullptr;
  delete v;
  return HV_SUCCESS;
}

hv_return_t interrupt_vcpus(const uint32_t* ids, unsigned count) {
  if (!ids && count) return fail(HV_BAD_ARGUMENT, "vcpus is null");
  std::lock_guard lk(vm_mutex());
  for (unsigned i = 0; i < count; ++i)
    if (ids[i] >= g_vcpus.size() || !g_vcpus[ids[i]]) return fail(HV_BAD_ARGUMENT, fmt::format("no vCPU {}", ids[i]));
  for (unsigned i = 0; i < count; ++i) {
    LogicalVcpu* v = g_vcpus[ids[i]];
    v->kick.store(true);
    syscall(SYS_tgkill, getpid(), v->tid(), kick_signal());
  }
  return HV_SUCCESS;
}

hv_return_t set_native_msr(LogicalVcpu& v, uint32_t msr, bool enable) {
  std::lock_guard lk(vm_mutex());
  VmInstance* vm = current_vm();
  if (!vm) return fail(HV_DENIED, "no VM");
  if (enable) v.native_msrs.insert(msr);
  else v.native_msrs.erase(msr);
  auto u = native_union();
  for (uint32_t id = 0; id < kMaxSpaces; ++id)
    if (Space* sp = vm->space(id)) (void)apply_msr_filter(sp->kvm_vm(), u);  // as in make_kcpu
  return HV_SUCCESS;
}

hv_return_t sync_tsc_all(uint64_t tsc) {
  std::lock_guard lk(vm_mutex());
  if (!current_vm()) return fail(HV_DENIED, "no VM: call hv_vm_create first");
  for (LogicalVcpu* v : g_vcpus) {
    if (!v) continue;
    v->tsc_value.store(tsc);
    v->tsc_pending.store(true);
  }
  return HV_SUCCESS;
}

}  // namespace hvshim::hv::vcpu
