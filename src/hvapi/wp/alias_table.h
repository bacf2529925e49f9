// Which guest pages of a space are reached through a write-protectable
// alias of their host memory (fault_router.h), and where that alias is.
// Pieces follow hv_vm_map calls and are trimmed by hv_vm_unmap, so a piece
// always agrees with the page map about its pages' host addresses.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "hvapi/page_map.h"

namespace hvshim::hv {

class FaultRouter;

struct AliasPiece {
  uint64_t gpa = 0;
  uint64_t size = 0;
  uint64_t hva = 0;    // the caller's address of gpa
  uint64_t alias = 0;  // our alias of the same page
  uint64_t end() const { return gpa + size; }
};

class AliasTable {
 public:
  explicit AliasTable(FaultRouter* router);
  ~AliasTable();
  AliasTable(const AliasTable&) = delete;
  AliasTable& operator=(const AliasTable&) = delete;

  void add(const AliasPiece& p);
  // Drops the alias pages of [gpa, gpa+size) (their memslots must be gone).
  void erase(uint64_t gpa, uint64_t size);
  // Pieces overlapping [lo, hi), clipped to it, in address order.
  std::vector<AliasPiece> in(uint64_t lo, uint64_t hi) const;
  std::optional<uint64_t> gpa_of_alias(uint64_t alias) const;
  bool empty() const { return by_gpa_.empty(); }

 private:
  FaultRouter* router_;
  pid_t owner_;
  std::map<uint64_t, AliasPiece> by_gpa_;
  std::map<uint64_t, uint64_t> by_alias_;  // alias start -> gpa start
};

// The page map as KVM should see it: aliased pages at their alias address
// and, when accessible at all, writable (their write protection is done by
// userfaultfd, not by the memslot).
std::vector<Extent> kvm_view(const std::vector<Extent>& extents, const AliasTable& aliases);

}  // namespace hvshim::hv
