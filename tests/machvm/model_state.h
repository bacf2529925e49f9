// A plain reference model of the calling task's Mach VM, page by page:
// mapped or not, current/maximum protection, inheritance, and which bytes of
// which backing object the page shows. Pages that share an object share
// bytes; copies (vm_read, vm_copy into new memory, copy remaps and entries,
// VM_PROT_COPY) get objects of their own. XNU's semantics written the plain
// way, with no knowledge of how hvshim implements them.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include <mach/mach.h>

namespace model {

uint64_t page_size();
inline uint64_t trunc(uint64_t a) { return a & ~(page_size() - 1); }
// False when rounding wraps.
bool round(uint64_t a, uint64_t& out);

struct Obj {
  std::vector<uint8_t> bytes;
};

// One page of an object.
struct PageRef {
  std::shared_ptr<Obj> obj;
  uint64_t index = 0;
  uint8_t* data() const { return obj->bytes.data() + index * page_size(); }
};

struct Page {
  vm_prot_t cur = VM_PROT_DEFAULT, max = VM_PROT_ALL;
  vm_inherit_t inherit = VM_INHERIT_DEFAULT;
  PageRef ref;
};

struct MemEntry {
  std::vector<PageRef> pages;
  vm_prot_t prot = 0;
  bool whole = false;  // VM_SHARE / VM_COPY: mach_vm_map maps all of it, whatever part is asked for
};

class Model {
 public:
  std::map<uint64_t, Page> pages;  // by page address; absent = not mapped by us
  std::map<mach_port_t, MemEntry> entries;
  std::set<mach_port_t> dead_names;
  uint64_t arena = 0, arena_pages = 0;  // where FIXED calls go; holes there are real holes

  uint64_t arena_end() const { return arena + arena_pages * page_size(); }
  const Page* find(uint64_t addr) const;
  Page* find(uint64_t addr);
  bool any_mapped(uint64_t start, uint64_t end) const;

  // First failure walking [start, end) page by page, as XNU walks entries:
  // a hole is KERN_INVALID_ADDRESS, a page lacking `need` in its current
  // protection KERN_PROTECTION_FAILURE.
  kern_return_t check(uint64_t start, uint64_t end, vm_prot_t need) const;
  // What read/write/copy answer for [addr, addr+size): like check, except
  // that copies shorter than two pages report any failure as a bad address.
  kern_return_t copy_check(uint64_t addr, uint64_t size, vm_prot_t need) const;

  std::vector<uint8_t> load(uint64_t addr, uint64_t n) const;  // every page mapped
  void store(uint64_t addr, const uint8_t* src, uint64_t n);

  static std::vector<PageRef> fresh(uint64_t npages);
  std::vector<PageRef> refs(uint64_t start, uint64_t end) const;
  static std::vector<PageRef> copy_of(const std::vector<PageRef>& pages);

  // Replaces whatever is at [at, at + pages*page) by these pages.
  void map(uint64_t at, const std::vector<PageRef>& refs, vm_prot_t cur, vm_prot_t max, vm_inherit_t inh);
  void map_pages(uint64_t at, const std::vector<Page>& pages);
  void unmap(uint64_t start, uint64_t end);
};

}  // namespace model
