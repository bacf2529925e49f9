#include "hvapi/slot_table.h"

#include <iterator>

namespace hvshim::hv {

std::vector<SlotDesc> SlotTable::overlapping(uint64_t lo, uint64_t hi) const {
  std::vector<SlotDesc> out;
  auto it = slots_.upper_bound(lo);
  if (it != slots_.begin() && std::prev(it)->second.end() > lo) --it;
  for (; it != slots_.end() && it->first < hi; ++it) out.push_back(it->second);
  return out;
}

uint32_t SlotTable::take_id() {
  if (!free_ids_.empty()) {
    uint32_t id = *free_ids_.begin();
    free_ids_.erase(free_ids_.begin());
    return id;
  }
  return next_id_++;
}

void SlotTable::return_id(uint32_t id) { free_ids_.insert(id); }

}  // namespace hvshim::hv
