// The process's one VM (Hypervisor.framework allows one per task): the
// /dev/kvm handle, the address spaces, and the lock that serialises changes
// to them. The vCPU layer registers its vCPUs here.
#pragma once

#include <Hypervisor/hv_error.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

#include "hvapi/space.h"
#include "hvapi/wp/fault_router.h"
#include "kvm/system.h"

namespace hvshim::hv {

// Kept small on purpose: every host mm invalidation fans out to every KVM
// VM, i.e. to every space (README, "Address spaces").
inline constexpr uint32_t kMaxSpaces = 16;

class VmInstance {
 public:
  static kvm::Result<std::unique_ptr<VmInstance>> create(uint64_t options);

  const kvm::System& system() const { return sys_; }
  uint64_t options() const { return options_; }
  // Guest-physical addresses must stay below this (guest MAXPHYADDR).
  uint64_t gpa_limit() const { return gpa_limit_; }

  // Fast write protection (null: every protection change uses memslots).
  FaultRouter* router() const { return router_.get(); }

  Space* space(uint32_t id);
  [[nodiscard]] hv_return_t create_space(uint32_t* id);
  [[nodiscard]] hv_return_t destroy_space(uint32_t id);
  size_t space_count() const { return spaces_.size(); }

  // Maintained by the vCPU layer; hv_vm_destroy refuses while non-zero.
  int live_vcpus = 0;

 private:
  VmInstance(kvm::System sys, uint64_t options, uint64_t gpa_limit)
      : sys_(std::move(sys)), options_(options), gpa_limit_(gpa_limit) {}
  kvm::System sys_;
  uint64_t options_;
  uint64_t gpa_limit_;
  // Outlives the spaces: their aliases are registered with it.
  std::unique_ptr<FaultRouter> router_;
  std::map<uint32_t, std::unique_ptr<Space>> spaces_;
};

// The process-wide instance, guarded by vm_mutex(). Every hv_* call that
// reads or changes VM state holds the lock; vCPUs do not hold it while they
// run guest code.
std::mutex& vm_mutex();
VmInstance* current_vm();  // null when no VM exists (call with the lock held)
[[nodiscard]] hv_return_t vm_create_locked(uint64_t options);
[[nodiscard]] hv_return_t vm_destroy_locked();
// HV_NO_DEVICE with the reason and this host's fix as the last error; `e` is
// kvm::System::open's error.
[[nodiscard]] hv_return_t no_device(const kvm::Error& e);

}  // namespace hvshim::hv
