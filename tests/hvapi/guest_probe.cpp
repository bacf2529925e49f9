#include "guest_probe.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "hvapi/allowed_access.h"
#include "hvapi/vm_instance.h"

namespace hvtest {
namespace {

// Stubs at fixed offsets of the code page (32-bit operand size).
constexpr uint64_t kRead = 0x00;   // mov eax,[ebx]; out 0x10,eax; hlt
constexpr uint64_t kWrite = 0x10;  // mov [ebx],ecx; out 0x11,eax; hlt
constexpr uint64_t kJump = 0x20;   // jmp ebx
constexpr uint16_t kPortRead = 0x10, kPortWrite = 0x11, kPortExec = 0x12;
// KVM never frees a vCPU id within a VM, so a fresh vCPU needs a new id;
// these stay clear of the ids hv_vcpu_create hands out.
unsigned g_next_probe_vcpu_id = 100;

void fill_code(uint8_t* c) {
  const uint8_t rd[] = {0x8b, 0x03, 0xe7, kPortRead, 0xf4};
  const uint8_t wr[] = {0x89, 0x0b, 0xe7, kPortWrite, 0xf4};
  const uint8_t jmp[] = {0xff, 0xe3};
  memset(c, 0xf4, 4096);
  memcpy(c + kRead, rd, sizeof rd);
  memcpy(c + kWrite, wr, sizeof wr);
  memcpy(c + kJump, jmp, sizeof jmp);
}

kvm_segment flat(uint16_t sel, uint8_t type) {
  kvm_segment s{};
  s.base = 0;
  s.limit = 0xffffffff;
  s.selector = sel;
  s.type = type;
  s.present = 1;
  s.dpl = 0;
  s.db = 1;
  s.s = 1;
  s.g = 1;
  return s;
}

}  // namespace

std::string to_string(const Probe& p) {
  switch (p.kind) {
    case Probe::Value: return "value " + std::to_string(p.value);
    case Probe::ReadFault: return "read fault at " + std::to_string(p.gpa);
    case Probe::WriteFault: return "write fault at " + std::to_string(p.gpa);
    case Probe::FetchFault: return "fetch fault";
    default: return "exit " + std::to_string(p.exit_reason);
  }
}

std::unique_ptr<GuestProbe> GuestProbe::create(hv_vm_space_t space) {
  std::unique_ptr<GuestProbe> g(new GuestProbe());
  g->space_ = space;
  g->code_ = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (g->code_ == MAP_FAILED) return nullptr;
  fill_code(static_cast<uint8_t*>(g->code_));
  if (hv_vm_map_space(space, g->code_, kProbeCodeGpa, 4096, HV_MEMORY_READ | HV_MEMORY_EXEC) != HV_SUCCESS)
    return nullptr;
  if (!g->make_vcpu()) return nullptr;
  return g;
}

GuestProbe::~GuestProbe() {
  vcpu_.reset();
  {
    std::lock_guard lk(hvshim::hv::vm_mutex());
    if (auto* vm = hvshim::hv::current_vm())
      if (auto* s = vm->space(space_); s && s->pages().lookup(kProbeCodeGpa))
        (void)s->unmap(kProbeCodeGpa, 4096);  // teardown: a failure leaves a page the VM's end frees
  }
  if (code_ && code_ != MAP_FAILED) munmap(code_, 4096);
}

bool GuestProbe::make_vcpu() {
  vcpu_.reset();
  std::lock_guard lk(hvshim::hv::vm_mutex());
  auto* vm = hvshim::hv::current_vm();
  if (!vm) return false;
  auto* s = vm->space(space_);
  if (!s) return false;
  auto v = s->kvm_vm().create_vcpu(vm->system(), g_next_probe_vcpu_id++);
  if (!v) return false;
  vcpu_ = std::make_unique<hvshim::kvm::Vcpu>(std::move(*v));
  auto sr = vcpu_->get_sregs();
  if (!sr) return false;
  kvm_sregs& s2 = *sr;
  s2.cs = flat(0x08, 0xb);
  s2.ds = s2.es = s2.ss = s2.fs = s2.gs = flat(0x10, 0x3);
  s2.cr0 = 0x11;  // PE|ET, no paging: guest-physical == linear
  s2.cr4 = 0;
  s2.efer = 0;
  return vcpu_->set_sregs(s2).ok();
}

Probe GuestProbe::run_stub(uint64_t rip, uint64_t rbx, uint64_t rcx) {
  Probe p;
  if (!vcpu_) return p;
  kvm_regs r{};
  r.rflags = 2;
  r.rip = rip;
  r.rbx = rbx;
  r.rcx = rcx;
  if (!vcpu_->set_regs(r)) return p;
  kvm_run* run = vcpu_->run_page();
  auto st = vcpu_->run();
  // An MMIO exit for an access the page map allows is completed from host
  // memory, exactly as the vCPU layer does; only real faults are reported.
  while (st && run->exit_reason == KVM_EXIT_MMIO) {
    std::lock_guard lk(hvshim::hv::vm_mutex());
    auto* vm = hvshim::hv::current_vm();
    auto* s = vm ? vm->space(space_) : nullptr;
    if (!s || !hvshim::hv::complete_allowed_access(*s, run->mmio.phys_addr, run->mmio.len, run->mmio.is_write,
                                                   run->mmio.data))
      break;
    ++completed_;
    st = vcpu_->run();
  }
  if (!st) {
    p.exit_reason = 0xffff;
    return p;
  }
  p.exit_reason = run->exit_reason;
  switch (run->exit_reason) {
    case KVM_EXIT_IO: {
      uint32_t v;
      memcpy(&v, reinterpret_cast<uint8_t*>(run) + run->io.data_offset, 4);
      if (run->io.port == kPortRead || run->io.port == kPortWrite || run->io.port == kPortExec) {
        p.kind = Probe::Value;
        p.value = v;
      }
      break;
    }
    case KVM_EXIT_MMIO:
      p.kind = run->mmio.is_write ? Probe::WriteFault : Probe::ReadFault;
      p.gpa = run->mmio.phys_addr;
      break;
    case KVM_EXIT_INTERNAL_ERROR:
      p.kind = Probe::FetchFault;
      break;
    default:
      break;
  }
  // Let KVM finish (or drop) whatever the exit left pending before the next
  // probe sets fresh registers; after an emulation failure start afresh.
  if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR || run->exit_reason == KVM_EXIT_SHUTDOWN) {
    make_vcpu();
  } else {
    run->immediate_exit = 1;
    (void)vcpu_->run();
    run->immediate_exit = 0;
  }
  return p;
}

Probe GuestProbe::read32(uint64_t gpa) { return run_stub(kProbeCodeGpa + kRead, gpa, 0); }
Probe GuestProbe::write32(uint64_t gpa, uint32_t value) { return run_stub(kProbeCodeGpa + kWrite, gpa, value); }
Probe GuestProbe::exec(uint64_t gpa) { return run_stub(kProbeCodeGpa + kJump, gpa, 0); }

std::string GuestProbe::access(uint64_t gpa, bool try_exec) {
  std::string s = "---";
  Probe r = read32(gpa);
  if (r.ok()) s[0] = 'r';
  Probe w = write32(gpa, r.ok() ? r.value : 0);
  if (w.ok()) s[1] = 'w';
  if (try_exec && exec(gpa).ok()) s[2] = 'x';
  return s;
}

void GuestProbe::place_exec_stub(void* p, uint32_t tag) {
  uint8_t stub[] = {0xb8, 0, 0, 0, 0, 0xe7, kPortExec, 0xf4};
  memcpy(stub + 1, &tag, 4);
  memcpy(p, stub, sizeof stub);
}

}  // namespace hvtest
