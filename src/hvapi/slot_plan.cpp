#include "hvapi/slot_plan.h"

#include <algorithm>

namespace hvshim::hv {

SlotKind slot_kind(uint8_t perms) {
  if (perms & kPermWrite) return SlotKind::readwrite;  // write implies read on KVM
  if (perms & (kPermRead | kPermExec)) return SlotKind::readonly;  // exec implies read
  return SlotKind::absent;
}

std::vector<SlotDesc> compile_slots(const std::vector<Extent>& extents) {
  std::vector<SlotDesc> out;
  for (const auto& e : extents) {
    SlotKind k = slot_kind(e.perms);
    if (k == SlotKind::absent) continue;
    bool ro = k == SlotKind::readonly;
    if (!out.empty()) {
      SlotDesc& b = out.back();
      if (b.end() == e.gpa && b.hva + b.size == e.hva && b.readonly == ro) {
        b.size += e.size;
        continue;
      }
    }
    out.push_back({e.gpa, e.size, e.hva, ro, 0});
  }
  return out;
}

std::vector<SlotDesc> cut_at_chunks(const std::vector<SlotDesc>& slots, uint64_t chunk) {
  std::vector<SlotDesc> out;
  for (const auto& s : slots) {
    uint64_t cur = s.gpa;
    while (cur < s.end()) {
      uint64_t next = std::min(s.end(), (cur / chunk + 1) * chunk);
      out.push_back({cur, next - cur, s.hva + (cur - s.gpa), s.readonly, 0});
      cur = next;
    }
  }
  return out;
}

SlotPlan plan_slots(const std::vector<SlotDesc>& affected, const std::vector<Extent>& extents, bool chunk) {
  std::vector<SlotDesc> target = compile_slots(extents);
  auto same_set = [](const std::vector<SlotDesc>& a, const std::vector<SlotDesc>& b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [](const SlotDesc& x, const SlotDesc& y) { return x.same_mapping(y); });
  };
  // A change KVM cannot see (e.g. adding or removing exec) costs nothing.
  if (same_set(affected, target)) return {};
  if (chunk && !affected.empty()) target = cut_at_chunks(target, kSlotChunk);

  SlotPlan plan;
  // Both lists are address-ordered and non-overlapping: walk them together;
  // slots present before and after stay installed untouched.
  size_t i = 0, j = 0;
  while (i < affected.size() || j < target.size()) {
    if (j == target.size() || (i < affected.size() && affected[i].gpa < target[j].gpa)) {
      plan.remove.push_back(affected[i++]);
    } else if (i == affected.size() || target[j].gpa < affected[i].gpa) {
      plan.add.push_back(target[j++]);
    } else if (affected[i].same_mapping(target[j])) {
      ++i, ++j;
    } else {
      plan.remove.push_back(affected[i++]);
      plan.add.push_back(target[j++]);
    }
  }
  return plan;
}

}  // namespace hvshim::hv
