#include "kvm/vm.h"

#include "common/forced_fallback.h"
#include "kvm/ioctl.h"
#include "kvm/vcpu.h"

namespace hvshim::kvm {

Result<Vm> Vm::create(const System& sys) {
  auto r = xioctl(sys.fd(), KVM_CREATE_VM, 0ul, "KVM_CREATE_VM");
  if (!r) return r.error();
  return Vm(UniqueFd(*r));
}

int Vm::check_extension(unsigned cap) const {
  auto r = xioctl(fd(), KVM_CHECK_EXTENSION, static_cast<unsigned long>(cap), "KVM_CHECK_EXTENSION");
  return r ? *r : 0;
}

Status Vm::enable_cap(unsigned cap, uint64_t arg0) {
  kvm_enable_cap c{};
  c.cap = cap;
  c.args[0] = arg0;
  auto r = xioctl(fd(), KVM_ENABLE_CAP, &c, "KVM_ENABLE_CAP");
  if (!r) return r.error();
  return {};
}

bool Vm::disable_slot_zap_all() {
  if (fallback_forced("zap_all_quirk")) return false;
  int mask = check_extension(kCapDisableQuirks2);
  if (mask <= 0 || !(static_cast<uint64_t>(mask) & kQuirkSlotZapAll)) return false;
  return enable_cap(kCapDisableQuirks2, kQuirkSlotZapAll).ok();
}

bool Vm::disable_hypercall_patching() {
  int mask = check_extension(kCapDisableQuirks2);
  if (mask <= 0 || !(static_cast<uint64_t>(mask) & kQuirkFixHypercallInsn)) return false;
  return enable_cap(kCapDisableQuirks2, kQuirkFixHypercallInsn).ok();
}

Status Vm::set_memslot(const MemslotSpec& s) {
  kvm_userspace_memory_region r{};
  r.slot = s.slot;
  r.flags = s.readonly ? KVM_MEM_READONLY : 0;
  r.guest_phys_addr = s.gpa;
  r.memory_size = s.size;
  r.userspace_addr = s.hva;
  auto res = xioctl(fd(), KVM_SET_USER_MEMORY_REGION, &r, "KVM_SET_USER_MEMORY_REGION");
  if (!res) return res.error();
  return {};
}

Status Vm::set_tss_addr(uint64_t gpa) {
  auto r = xioctl(fd(), KVM_SET_TSS_ADDR, static_cast<unsigned long>(gpa), "KVM_SET_TSS_ADDR");
  if (!r) return r.error();
  return {};
}

Status Vm::set_identity_map_addr(uint64_t gpa) {
  auto r = xioctl(fd(), KVM_SET_IDENTITY_MAP_ADDR, &gpa, "KVM_SET_IDENTITY_MAP_ADDR");
  if (!r) return r.error();
  return {};
}

Result<Vcpu> Vm::create_vcpu(const System& sys, unsigned id) { return Vcpu::create(sys, *this, id); }

}  // namespace hvshim::kvm
