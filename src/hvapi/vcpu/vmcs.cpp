// The VMCS view: Apple's field encodings mapped onto KVM's register classes,
// and everything KVM has no notion of (controls, masks, shadows, exit info)
// kept per vCPU.
#include <Hypervisor/hv_vmx.h>

#include "common/last_error.h"
#include "common/log.h"
#include "hvapi/fail.h"
#include "hvapi/vcpu/segments.h"
#include "hvapi/vcpu/vcpu.h"

namespace hvshim::hv::vcpu {
namespace {

struct CtlCap {
  uint32_t must1;
  uint32_t allowed1;
};
// What the shim accepts. Only HLT, IRQ_WND (CPU_BASED), the exception
// bitmap and VM-entry injection change guest behaviour; the rest are
// accepted so VMMs can use cap2ctrl() as on macOS (docs/vcpu.md).
constexpr CtlCap kPin{0x16, 0x16 | PIN_BASED_INTR | PIN_BASED_NMI | PIN_BASED_VIRTUAL_NMI | PIN_BASED_PREEMPTION_TIMER};
constexpr CtlCap kProc{0x0401e172, 0xfff9fffe};
constexpr CtlCap kProc2{CPU_BASED2_EPT | CPU_BASED2_UNRESTRICTED, 0x115fff};
constexpr CtlCap kEntry{0x11ff, 0xf3ff};
constexpr CtlCap kExit{0x36dff, 0x7fffff};
constexpr uint64_t cap_word(uint32_t must1, uint32_t allowed1) {
  return (static_cast<uint64_t>(allowed1 | must1) << 32) | must1;
}
constexpr uint64_t kCr0Fixed0 = 0x80000021;  // PG|NE|PE (PG/PE exempt: unrestricted guest)
constexpr uint64_t kCr0Fixed1 = 0x9fffffff;  // CD/NW must stay clear
constexpr uint64_t kCr4Fixed0 = 0x2000;      // VMXE
constexpr uint64_t kCr4Fixed1 = 0x3727ff;
constexpr uint64_t kCr4Vmxe = 0x2000;

const CtlCap* ctl_cap(uint32_t field) {
  switch (field) {
    case VMCS_CTRL_PIN_BASED: return &kPin;
    case VMCS_CTRL_CPU_BASED: return &kProc;
    case VMCS_CTRL_CPU_BASED2: return &kProc2;
    case VMCS_CTRL_VMENTRY_CONTROLS: return &kEntry;
    case VMCS_CTRL_VMEXIT_CONTROLS: return &kExit;
    default: return nullptr;
  }
}

// Guest segment index (ES, CS, SS, DS, FS, GS, LDTR, TR) for a field.
int seg_index(uint32_t field, uint32_t base) {
  if (field < base || field > base + 14 || (field - base) & 1) return -1;
  return static_cast<int>((field - base) / 2);
}

kvm_segment& seg_of(kvm_sregs& s, int i) {
  switch (i) {
    case 0: return s.es;
    case 1: return s.cs;
    case 2: return s.ss;
    case 3: return s.ds;
    case 4: return s.fs;
    case 5: return s.gs;
    case 6: return s.ldt;
    default: return s.tr;
  }
}

bool is_ro_exit_field(uint32_t f) {
  return (f >= VMCS_RO_INSTR_ERROR && f <= VMCS_RO_VMX_INSTR_INFO) ||
         (f >= VMCS_RO_EXIT_QUALIFIC && f <= VMCS_RO_GUEST_LIN_ADDR) || f == VMCS_GUEST_PHYSICAL_ADDRESS;
}

// Plain stored fields: accepted, kept, returned (no KVM counterpart).
bool is_stored_field(uint32_t f) {
  switch (f) {
    case VMCS_CTRL_EXC_BITMAP: case VMCS_CTRL_PF_ERROR_MASK: case VMCS_CTRL_PF_ERROR_MATCH:
    case VMCS_CTRL_CR3_COUNT: case VMCS_CTRL_VMENTRY_IRQ_INFO: case VMCS_CTRL_VMENTRY_EXC_ERROR:
    case VMCS_CTRL_VMENTRY_INSTR_LEN: case VMCS_CTRL_TPR_THRESHOLD: case VMCS_CTRL_PLE_GAP:
    case VMCS_CTRL_PLE_WINDOW: case VMCS_CTRL_CR0_MASK: case VMCS_CTRL_CR4_MASK: case VMCS_CTRL_CR0_SHADOW:
    case VMCS_CTRL_CR4_SHADOW: case VMCS_CTRL_CR3_VALUE0: case VMCS_CTRL_CR3_VALUE1: case VMCS_CTRL_CR3_VALUE2:
    case VMCS_CTRL_CR3_VALUE3: case VMCS_GUEST_PDPTE0: case VMCS_GUEST_PDPTE1: case VMCS_GUEST_PDPTE2:
    case VMCS_GUEST_PDPTE3: case VMCS_GUEST_LINK_POINTER: case VMCS_GUEST_DEBUG_EXC: case VMCS_GUEST_SMBASE:
    case VMCS_GUEST_VMX_TIMER_VALUE: case VMCS_CTRL_VMEXIT_MSR_STORE_COUNT: case VMCS_CTRL_VMEXIT_MSR_LOAD_COUNT:
    case VMCS_CTRL_VMENTRY_MSR_LOAD_COUNT: case VMCS_GUEST_INT_STATUS: case VMCS_GUEST_IA32_PERF_GLOBAL_CTRL:
    case VMCS_GUEST_IA32_BNDCFGS:
      return true;
    default:
      return false;
  }
}

// Read-only controls: readable, never writable by the VMM.
bool is_ro_ctl(uint32_t f) { return f == VMCS_CTRL_TSC_OFFSET || f == VMCS_CTRL_APIC_ACCESS; }

uint32_t msr_of(uint32_t f) {
  switch (f) {
    case VMCS_GUEST_IA32_SYSENTER_CS: return 0x174;
    case VMCS_GUEST_SYSENTER_ESP: return 0x175;
    case VMCS_GUEST_SYSENTER_EIP: return 0x176;
    case VMCS_GUEST_IA32_PAT: return 0x277;
    case VMCS_GUEST_IA32_DEBUGCTL: return 0x1d9;
    default: return 0;
  }
}

}  // namespace

uint64_t LogicalVcpu::ctl(uint32_t field) const {
  auto it = vmcs_.find(field);
  return it == vmcs_.end() ? 0 : it->second;
}

hv_return_t LogicalVcpu::read_vmcs(uint32_t f, uint64_t* v) {
  kvm_sregs& s = sregs();
  kvm_regs& r = regs();
  if (int i = seg_index(f, VMCS_GUEST_ES); i >= 0) { *v = seg_of(s, i).selector; return HV_SUCCESS; }
  if (int i = seg_index(f, VMCS_GUEST_ES_LIMIT); i >= 0) { *v = seg_of(s, i).limit; return HV_SUCCESS; }
  if (int i = seg_index(f, VMCS_GUEST_ES_AR); i >= 0) { *v = seg_to_ar(seg_of(s, i)); return HV_SUCCESS; }
  if (int i = seg_index(f, VMCS_GUEST_ES_BASE); i >= 0) { *v = seg_of(s, i).base; return HV_SUCCESS; }
  switch (f) {
    case VMCS_GUEST_GDTR_LIMIT: *v = s.gdt.limit; return HV_SUCCESS;
    case VMCS_GUEST_GDTR_BASE: *v = s.gdt.base; return HV_SUCCESS;
    case VMCS_GUEST_IDTR_LIMIT: *v = trap_active ? idtr_limit_shadow : s.idt.limit; return HV_SUCCESS;
    case VMCS_GUEST_IDTR_BASE: *v = trap_active ? idtr_base_shadow : s.idt.base; return HV_SUCCESS;
    case VMCS_GUEST_CR0: *v = s.cr0; return HV_SUCCESS;
    case VMCS_GUEST_CR3: *v = s.cr3; return HV_SUCCESS;
    case VMCS_GUEST_CR4: *v = s.cr4 | cr4_vmx_bits; return HV_SUCCESS;
    case VMCS_GUEST_DR7: *v = dr7(); return HV_SUCCESS;
    case VMCS_GUEST_RSP: *v = r.rsp; return HV_SUCCESS;
    case VMCS_GUEST_RIP: *v = r.rip; return HV_SUCCESS;
    case VMCS_GUEST_RFLAGS: *v = r.rflags; return HV_SUCCESS;
    case VMCS_GUEST_IA32_EFER: *v = s.efer; return HV_SUCCESS;
    case VMCS_GUEST_INTERRUPTIBILITY: {
      const kvm_vcpu_events& e = events();
      uint64_t x = 0;
      if (e.interrupt.shadow & KVM_X86_SHADOW_INT_STI) x |= 1;
      if (e.interrupt.shadow & KVM_X86_SHADOW_INT_MOV_SS) x |= 2;
      if (e.nmi.masked) x |= 8;
      *v = x;
      return HV_SUCCESS;
    }
    case VMCS_GUEST_ACTIVITY_STATE: *v = activity_state; return HV_SUCCESS;
    default: break;
  }
  if (uint32_t m = msr_of(f)) return read_msr(m, v);
  if (ctl_cap(f) || is_stored_field(f) || is_ro_exit_field(f) || is_ro_ctl(f)) {
    *v = ctl(f);
    return HV_SUCCESS;
  }
  return bad(fmt::format("VMCS field {:#x} is not available", f));
}

namespace {
// VMWRITE of a 16- or 32-bit field ignores the source bits beyond the
// field's width (Intel SDM, "VMWRITE"); VMMs rely on it, e.g. QEMU builds
// VMCS_CTRL_CPU_BASED with a sign-extended (1 << 31).
uint64_t truncate_to_field_width(uint32_t f, uint64_t v) {
  switch ((f >> 13) & 3) {
    case 0: return v & 0xffffull;
    case 2: return v & 0xffffffffull;
    default: return v;
  }
}
}  // namespace

hv_return_t LogicalVcpu::write_vmcs(uint32_t f, uint64_t v) {
  v = truncate_to_field_width(f, v);
  kvm_sregs& s = sregs();
  kvm_regs& r = regs();
  auto sdirty = [&] {
    dirty(KVM_SYNC_X86_SREGS);
    return HV_SUCCESS;
  };
  if (int i = seg_index(f, VMCS_GUEST_ES); i >= 0) { seg_of(s, i).selector = static_cast<uint16_t>(v); return sdirty(); }
  if (int i = seg_index(f, VMCS_GUEST_ES_LIMIT); i >= 0) { seg_of(s, i).limit = static_cast<uint32_t>(v); return sdirty(); }
  if (int i = seg_index(f, VMCS_GUEST_ES_AR); i >= 0) { ar_to_seg(static_cast<uint32_t>(v), seg_of(s, i)); return sdirty(); }
  if (int i = seg_index(f, VMCS_GUEST_ES_BASE); i >= 0) { seg_of(s, i).base = v; return sdirty(); }
  switch (f) {
    case VMCS_GUEST_GDTR_LIMIT: s.gdt.limit = static_cast<uint16_t>(v); return sdirty();
    case VMCS_GUEST_GDTR_BASE: s.gdt.base = v; return sdirty();
    case VMCS_GUEST_IDTR_LIMIT:
      if (trap_active) { idtr_limit_shadow = static_cast<uint16_t>(v); return HV_SUCCESS; }
      s.idt.limit = static_cast<uint16_t>(v);
      return sdirty();
    case VMCS_GUEST_IDTR_BASE:
      if (trap_active) { idtr_base_shadow = v; return HV_SUCCESS; }
      s.idt.base = v;
      return sdirty();
    case VMCS_GUEST_CR0:
      if (v >> 32) return bad("CR0 bits 63:32 must be 0");
      if (v & 0x60000000) return bad("CR0.CD/NW must be clear (as on Hypervisor.framework)");
      if ((v & 0x80000000) && !(v & 1)) return bad("CR0.PG requires CR0.PE");
      s.cr0 = v;
      return sdirty();
    case VMCS_GUEST_CR3: s.cr3 = v; return sdirty();
    case VMCS_GUEST_CR4:
      if (v & ~kCr4Fixed1) return bad(fmt::format("CR4 {:#x} sets bits outside CR4_FIXED1", v));
      cr4_vmx_bits = v & kCr4Vmxe;  // VMX-only: kept for the VMM, hidden from KVM
      s.cr4 = v & ~kCr4Vmxe;
      return sdirty();
    case VMCS_GUEST_DR7: set_dr7(v); return HV_SUCCESS;
    case VMCS_GUEST_RSP: r.rsp = v; dirty(KVM_SYNC_X86_REGS); return HV_SUCCESS;
    case VMCS_GUEST_RIP: r.rip = v; dirty(KVM_SYNC_X86_REGS); return HV_SUCCESS;
    case VMCS_GUEST_RFLAGS: r.rflags = v | 2; dirty(KVM_SYNC_X86_REGS); return HV_SUCCESS;
    case VMCS_GUEST_IA32_EFER: s.efer = v; return sdirty();
    case VMCS_GUEST_INTERRUPTIBILITY: {
      kvm_vcpu_events& e = events();
      e.interrupt.shadow = ((v & 1) ? KVM_X86_SHADOW_INT_STI : 0) | ((v & 2) ? KVM_X86_SHADOW_INT_MOV_SS : 0);
      e.nmi.masked = (v & 8) ? 1 : 0;
      e.flags |= KVM_VCPUEVENT_VALID_SHADOW;
      dirty(KVM_SYNC_X86_EVENTS);
      return HV_SUCCESS;
    }
    case VMCS_GUEST_ACTIVITY_STATE:
      if (v > 1) return bad("activity state must be ACTIVE (0) or HLT (1)");
      activity_state = static_cast<uint32_t>(v);
      return HV_SUCCESS;
    default: break;
  }
  if (uint32_t m = msr_of(f)) return write_msr(m, v);
  if (const CtlCap* c = ctl_cap(f)) {
    if ((v & c->must1) != c->must1 || (v & ~static_cast<uint64_t>(c->allowed1 | c->must1)))
      return bad(fmt::format("control {:#x} value {:#x} is outside hv_vmx_read_capability", f, v));
    vmcs_[f] = v;
    return HV_SUCCESS;
  }
  if (is_stored_field(f)) {
    if (f == VMCS_CTRL_EXC_BITMAP) v &= 0xffffffffull;
    vmcs_[f] = v;
    return HV_SUCCESS;
  }
  if (is_ro_exit_field(f) || is_ro_ctl(f)) return bad(fmt::format("VMCS field {:#x} is read-only", f));
  return bad(fmt::format("VMCS field {:#x} is not available", f));
}

hv_return_t read_capability(uint32_t cap, uint64_t* v) {
  switch (cap) {
    case HV_VMX_CAP_PINBASED: case HV_VMX_CAP_TRUE_PINBASED: *v = cap_word(kPin.must1, kPin.allowed1); return HV_SUCCESS;
    case HV_VMX_CAP_PROCBASED: *v = cap_word(kProc.must1, kProc.allowed1); return HV_SUCCESS;
    case HV_VMX_CAP_TRUE_PROCBASED: *v = cap_word(0x04006172, kProc.allowed1); return HV_SUCCESS;
    case HV_VMX_CAP_PROCBASED2: *v = cap_word(kProc2.must1, kProc2.allowed1); return HV_SUCCESS;
    case HV_VMX_CAP_ENTRY: *v = cap_word(kEntry.must1, kEntry.allowed1); return HV_SUCCESS;
    case HV_VMX_CAP_TRUE_ENTRY: *v = cap_word(0x11fb, kEntry.allowed1); return HV_SUCCESS;
    case HV_VMX_CAP_EXIT: *v = cap_word(kExit.must1, kExit.allowed1); return HV_SUCCESS;
    case HV_VMX_CAP_TRUE_EXIT: *v = cap_word(0x36dfb, kExit.allowed1); return HV_SUCCESS;
    case HV_VMX_CAP_BASIC:
      *v = 1 | (4096ull << 32) | (6ull << 50) | (1ull << 54) | (1ull << 55);
      return HV_SUCCESS;
    case HV_VMX_CAP_MISC: *v = 5 | (1u << 5) | (1u << 6) | (4u << 16); return HV_SUCCESS;
    case HV_VMX_CAP_CR0_FIXED0: *v = kCr0Fixed0; return HV_SUCCESS;
    case HV_VMX_CAP_CR0_FIXED1: *v = kCr0Fixed1; return HV_SUCCESS;
    case HV_VMX_CAP_CR4_FIXED0: *v = kCr4Fixed0; return HV_SUCCESS;
    case HV_VMX_CAP_CR4_FIXED1: *v = kCr4Fixed1; return HV_SUCCESS;
    case HV_VMX_CAP_VMCS_ENUM: *v = 0x2e; return HV_SUCCESS;
    case HV_VMX_CAP_EPT_VPID_CAP: *v = 0xf0106734140ull; return HV_SUCCESS;
    case HV_VMX_CAP_PREEMPTION_TIMER: *v = 5; return HV_SUCCESS;
    default: return bad(fmt::format("unknown hv_vmx_capability_t {}", cap));
  }
}

hv_return_t cap_write_vmcs(uint32_t f, uint64_t* a0, uint64_t* a1) {
  if (const CtlCap* c = ctl_cap(f)) {
    *a0 = c->must1;
    *a1 = c->allowed1 | c->must1;
    return HV_SUCCESS;
  }
  switch (f) {
    case VMCS_GUEST_CR0: *a0 = 0x20; *a1 = kCr0Fixed1; return HV_SUCCESS;
    case VMCS_GUEST_CR4: *a0 = kCr4Fixed0; *a1 = kCr4Fixed1; return HV_SUCCESS;
    case VMCS_GUEST_ACTIVITY_STATE: *a0 = 0; *a1 = 1; return HV_SUCCESS;
    default: break;
  }
  if (is_ro_exit_field(f) || is_ro_ctl(f)) {
    *a0 = 0;
    *a1 = 0;
    return HV_SUCCESS;
  }
  bool guest = (f >= VMCS_GUEST_ES && f <= VMCS_GUEST_TR) || (f >= VMCS_GUEST_ES_LIMIT && f <= VMCS_GUEST_TR_AR) ||
               (f >= VMCS_GUEST_ES_BASE && f <= VMCS_GUEST_IDTR_BASE) || f == VMCS_GUEST_CR3 || f == VMCS_GUEST_DR7 ||
               f == VMCS_GUEST_RSP || f == VMCS_GUEST_RIP || f == VMCS_GUEST_RFLAGS || f == VMCS_GUEST_IA32_EFER ||
               f == VMCS_GUEST_INTERRUPTIBILITY || f == VMCS_GUEST_GDTR_LIMIT || f == VMCS_GUEST_IDTR_LIMIT;
  if (guest || msr_of(f) || is_stored_field(f)) {
    *a0 = 0;
    *a1 = ~0ull;
    return HV_SUCCESS;
  }
  return bad(fmt::format("VMCS field {:#x} is not available", f));
}

}  // namespace hvshim::hv::vcpu
