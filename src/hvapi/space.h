// One guest address space: its page map and the KVM VM that holds its
// memslots. Each space is its own KVM VM so vCPUs in different spaces can run
// at the same time (see README, "Address spaces").
#pragma once

#include <Hypervisor/hv_error.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>

#include "hvapi/page_map.h"
#include "hvapi/slot_plan.h"
#include "hvapi/slot_table.h"
#include "hvapi/wp/alias_table.h"
#include "kvm/host_alias.h"
#include "kvm/result.h"
#include "kvm/system.h"
#include "kvm/vm.h"

namespace hvshim::hv {

class Space {
 public:
  // `router`: fast write protection for shared host memory, or null.
  static kvm::Result<std::unique_ptr<Space>> create(const kvm::System& sys, uint32_t id, FaultRouter* router);

  uint32_t id() const { return id_; }
  kvm::Vm& kvm_vm() { return vm_; }
  const PageMap& pages() const { return pages_; }
  const SlotTable& slots() const { return slots_; }
  const AliasTable& aliases() const { return aliases_; }
  FaultRouter* router() const { return router_; }
  bool zap_all_disabled() const { return zap_all_disabled_; }

  // Arguments are already validated (alignment, width, flags).
  [[nodiscard]] hv_return_t map(uint64_t hva, uint64_t gpa, uint64_t size, uint8_t perms);
  [[nodiscard]] hv_return_t unmap(uint64_t gpa, uint64_t size);
  [[nodiscard]] hv_return_t protect(uint64_t gpa, uint64_t size, uint8_t perms);
  // Makes a page's write protection match the page map again (after a
  // failed unprotect, or a page made writable since its fault).
  void resync_write_protect(uint64_t gpa);

  // One KVM slot id the planner never uses: the vCPU layer's real-mode trap
  // page lives there.
  uint32_t reserved_slot_id() const { return slots_.max_slots(); }

  // Test seam: pretend KVM offers fewer memslots.
  void set_slot_limit_for_testing(uint32_t n) { slot_limit_ = n; }

  // vCPUs currently assigned to this space (destroying it then is HV_BUSY).
  std::atomic<int> vcpu_users{0};

 private:
  Space(kvm::Vm vm, uint32_t id, uint32_t max_slots, bool zap_off, FaultRouter* router)
      : router_(router),
        aliases_(router),
        vm_(std::move(vm)),
        id_(id),
        slots_(max_slots),
        slot_limit_(max_slots),
        zap_all_disabled_(zap_off) {}

  // Recompiles the slots of the span touched by a change of [lo, hi):
  // `change` maps the span's current extents to the ones it will have. KVM
  // is updated first; the page map only once KVM has taken the new slots.
  template <class Change>
  [[nodiscard]] hv_return_t update(uint64_t lo, uint64_t hi, Change change, bool may_leave_stricter = true);
  // True when a change of [lo, hi) to `after` only widens access of pages
  // that already have a slot (absent < read-only < read-write).
  bool only_loosens(uint64_t lo, uint64_t hi, const std::vector<Extent>& after) const;
  // Installs a plan; on any failure undoes what it did and reports it.
  [[nodiscard]] hv_return_t apply(const SlotPlan& plan);
  // An alias of [hva, hva+size) registered with the router, or none.
  std::optional<AliasPiece> make_alias(const kvm::SharedRange& in, uint64_t hva, uint64_t gpa, uint64_t size);
  // Moves the shared-memory pages of [gpa, gpa+size) onto write-protectable
  // aliases (done when a range first loses write access: mappings never
  // protected cost nothing extra).
  void promote(uint64_t gpa, uint64_t size);
  [[nodiscard]] bool promote_run(uint64_t at);
  // Write-protects (or releases) the alias pages of `pieces`.
  [[nodiscard]] bool set_write_protect(const std::vector<AliasPiece>& pieces, bool on);
  static bool covered_by_aliases(const std::vector<AliasPiece>& pieces, uint64_t size);
  // Every page of the range has some access now and will have after.
  bool stays_accessible(uint64_t gpa, uint64_t size, uint8_t perms) const;
  // Puts the write protection of [gpa, gpa+size) back as the page map has it.
  void restore_write_protect(uint64_t gpa, uint64_t size);

  FaultRouter* router_;
  // Declared before vm_ so the KVM VM, and with it every memslot that
  // points into an alias, is gone before the aliases are unmapped.
  AliasTable aliases_;
  kvm::Vm vm_;
  uint32_t id_;
  PageMap pages_;
  SlotTable slots_;
  uint32_t slot_limit_;
  bool zap_all_disabled_;
};

}  // namespace hvshim::hv
