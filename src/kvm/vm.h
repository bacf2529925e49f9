// One KVM VM: memslots, VM-wide capabilities, vCPU creation.
#pragma once

#include <linux/kvm.h>

#include <cstdint>

#include "kvm/result.h"
#include "kvm/system.h"
#include "kvm/unique_fd.h"

namespace hvshim::kvm {

struct MemslotSpec {
  uint32_t slot = 0;
  uint64_t gpa = 0;
  uint64_t size = 0;  // 0 deletes the slot
  uint64_t hva = 0;
  bool readonly = false;
};

class Vcpu;

class Vm {
 public:
  static Result<Vm> create(const System& sys);

  int fd() const { return fd_.get(); }
  int check_extension(unsigned cap) const;
  Status enable_cap(unsigned cap, uint64_t arg0);
  // Turns off KVM's zap-all-on-delete so deleting one slot drops only that
  // slot's mappings. Returns false where the kernel does not offer it.
  bool disable_slot_zap_all();
  // Turns off KVM's rewriting of a foreign-vendor hypercall instruction in
  // guest memory (the guest takes #UD instead). False where not offered.
  bool disable_hypercall_patching();

  Status set_memslot(const MemslotSpec& s);
  Status delete_memslot(uint32_t slot) { return set_memslot({slot, 0, 0, 0, false}); }
  Status set_tss_addr(uint64_t gpa);
  Status set_identity_map_addr(uint64_t gpa);

  Result<Vcpu> create_vcpu(const System& sys, unsigned id);

 private:
  explicit Vm(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace hvshim::kvm
