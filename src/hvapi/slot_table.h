// The memslots installed in one KVM VM: our mirror of KVM's state, keyed by
// guest-physical start, plus the slot-id allocator (lowest free id first).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <vector>

namespace hvshim::hv {

struct SlotDesc {
  uint64_t gpa = 0;
  uint64_t size = 0;
  uint64_t hva = 0;
  bool readonly = false;
  uint32_t id = 0;
  uint64_t end() const { return gpa + size; }
  // Two slots are the same mapping whatever id KVM knows them by.
  bool same_mapping(const SlotDesc& o) const {
    return gpa == o.gpa && size == o.size && hva == o.hva && readonly == o.readonly;
  }
};

class SlotTable {
 public:
  explicit SlotTable(uint32_t max_slots = 32764) : max_slots_(max_slots) {}

  std::vector<SlotDesc> overlapping(uint64_t lo, uint64_t hi) const;
  std::vector<SlotDesc> all() const { return overlapping(0, UINT64_MAX); }
  size_t count() const { return slots_.size(); }
  uint32_t max_slots() const { return max_slots_; }

  uint32_t take_id();
  void return_id(uint32_t id);
  void claim_id(uint32_t id) { free_ids_.erase(id); }  // take back a returned id
  void insert(const SlotDesc& s) { slots_[s.gpa] = s; }
  void erase(uint64_t gpa) { slots_.erase(gpa); }

 private:
  std::map<uint64_t, SlotDesc> slots_;
  std::set<uint32_t> free_ids_;
  uint32_t next_id_ = 0;
  uint32_t max_slots_;
};

}  // namespace hvshim::hv
