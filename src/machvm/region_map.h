// Our table of map entries: one entry per run of pages with the same
// attributes and the same backing object, split and merged like XNU's
// vm_map_entry list. The kernel only knows current protection; everything
// else Mach exposes lives here.
#pragma once

#include <cstdint>
#include <map>
#include <memory>

#include <mach/vm_behavior.h>
#include <mach/vm_inherit.h>
#include <mach/vm_prot.h>

#include "machvm/memory_object.h"

namespace hvshim::machvm {

struct Entry {
  uint64_t start = 0, end = 0;
  vm_prot_t cur = VM_PROT_DEFAULT;
  vm_prot_t max = VM_PROT_ALL;
  vm_inherit_t inherit = VM_INHERIT_DEFAULT;
  vm_behavior_t behavior = VM_BEHAVIOR_DEFAULT;
  unsigned tag = 0;
  unsigned short wired = 0;
  bool permanent = false;
  bool zero_wired = false;
  std::shared_ptr<MemObject> obj;
  uint64_t obj_off = 0;  // object offset of `start`
  uint64_t view = 0;     // which mapping operation made it (pieces of one view merge)

  uint64_t size() const { return end - start; }
  uint64_t off_of(uint64_t addr) const { return obj_off + (addr - start); }
};

class RegionMap {
 public:
  using Map = std::map<uint64_t, Entry>;
  using iterator = Map::iterator;

  // Entry containing addr, or end().
  iterator find(uint64_t addr);
  // First entry whose end is above addr (containing or after), or end().
  iterator first_ending_after(uint64_t addr);
  iterator end() { return m_.end(); }
  iterator begin() { return m_.begin(); }
  size_t size() const { return m_.size(); }

  // Make entry boundaries fall exactly on start/end.
  void clip(uint64_t start, uint64_t end);
  // True if [start, end) is entirely covered by entries.
  bool covered(uint64_t start, uint64_t end);
  // Remove entries inside [start, end) (call clip first).
  void erase(uint64_t start, uint64_t end);
  void erase(iterator it);
  void insert(Entry e);
  // Merge neighbours around [start, end) that XNU would coalesce.
  void simplify(uint64_t start, uint64_t end);

  static uint64_t new_view_id();

  // Lowest start of an entry erased since the last call (UINT64_MAX if
  // none): where a first-fit search may find room again.
  uint64_t take_lowest_erased() {
    uint64_t v = lowest_erased_;
    lowest_erased_ = UINT64_MAX;
    return v;
  }

 private:
  void split(uint64_t addr);
  static void ref(const Entry& e);
  static void unref(const Entry& e);
  static bool mergeable(const Entry& a, const Entry& b);
  Map m_;
  // The last lookup's answer: walks ask for the entry after the previous
  // one, which this answers without descending the tree. Dropped whenever
  // an entry is erased (the only change that invalidates an iterator).
  iterator hint_;
  bool hint_ok_ = false;
  uint64_t lowest_erased_ = UINT64_MAX;
};

}  // namespace hvshim::machvm
