// Compiles a span of the page map into KVM memslots and diffs the result
// against the slots that span had, so an update touches only what changes.
//
// KVM can express per slot only "absent" (guest accesses exit), read-only
// (writes exit) and read-write; execute permission cannot be withheld.
// Slots rebuilt by a change are cut at chunk (2 MiB) boundaries: with
// KVM's zap-all quirk off, a later change then deletes, and makes the guest
// re-fault, only its own chunk instead of a whole large mapping.
#pragma once

#include <cstdint>
#include <vector>

#include "hvapi/page_map.h"
#include "hvapi/slot_table.h"

namespace hvshim::hv {

inline constexpr uint64_t kSlotChunk = 2ull << 20;

enum class SlotKind { absent, readonly, readwrite };
SlotKind slot_kind(uint8_t perms);

struct SlotPlan {
  std::vector<SlotDesc> remove;  // installed slots to delete
  std::vector<SlotDesc> add;     // slots to create (ids assigned when applied)
  bool empty() const { return remove.empty() && add.empty(); }
};

// Maximal slots for `extents` (address-ordered, non-overlapping).
std::vector<SlotDesc> compile_slots(const std::vector<Extent>& extents);
std::vector<SlotDesc> cut_at_chunks(const std::vector<SlotDesc>& slots, uint64_t chunk);

// `affected`: the installed slots overlapping the span; `extents`: the page
// map over the span after the change. Chunking applies only when existing
// slots are rebuilt (a plain map of free space keeps one slot per extent).
SlotPlan plan_slots(const std::vector<SlotDesc>& affected, const std::vector<Extent>& extents, bool chunk);

}  // namespace hvshim::hv
