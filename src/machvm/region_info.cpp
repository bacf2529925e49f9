// mach_vm_region, mach_vm_region_recurse, mach_vm_page_query/page_info:
// our entries as they are, other ranges from the kernel's view.
#include <sys/mman.h>

#include <cstddef>
#include <cstring>
#include <vector>

#include <mach/vm_statistics.h>

#include "machvm/fail.h"
#include "machvm/page.h"
#include "machvm/resident.h"
#include "machvm/task.h"
#include "machvm/vm_ops.h"

namespace hvshim::machvm {

namespace {

unsigned tag_of(const KernelVma& v) {
  if (v.name == "[stack]") return VM_MEMORY_STACK;
  if (v.name == "[heap]") return VM_MEMORY_MALLOC;
  return 0;
}

// Everything region info reports, whichever side it came from. No default
// member values: the fill functions set every field, and a zeroing pass
// first costs a measurable part of a region walk step.
struct Info {
  uint64_t start, end;
  vm_prot_t cur, max;
  vm_inherit_t inherit;
  bool shared;
  uint64_t offset;
  vm_behavior_t behavior;
  unsigned short wired;
  unsigned tag;
  unsigned ref_count;
  bool external;
  bool cow;
  uint64_t obj_id;
  const MemObject* obj;  // ours: valid while the lock is held
  uint64_t obj_off;
  uint64_t vma_start, vma_end;  // foreign
  uint64_t resident_pages() const {
    return obj ? resident_ours(*obj, obj_off, start, end) : resident_foreign(vma_start, vma_end, start, end);
  }
  unsigned char share_mode(uint64_t res) const {
    if (shared) return SM_SHARED;
    if (cow) return SM_COW;
    return res ? SM_PRIVATE : SM_EMPTY;
  }
};

// Filled member by member in place: a whole Info built elsewhere and copied
// in is reloaded through wide moves that stall on the narrow stores just
// made (most of a walk step's time).
void fill_from_entry(Info& i, const Entry& e) {
  const int views = e.obj->views();
  i.start = e.start;
  i.end = e.end;
  i.cur = e.cur;
  i.max = e.max;
  i.inherit = e.inherit;
  i.shared = views > 1 || e.obj->shared_with_other_process;
  i.offset = e.obj_off;
  i.behavior = e.behavior;
  i.wired = e.wired;
  i.tag = e.tag;
  i.ref_count = static_cast<unsigned>(std::max(1, views));
  i.external = !e.obj->anonymous();
  i.cow = false;
  i.obj_id = e.obj->id();
  i.obj = e.obj.get();
  i.obj_off = e.obj_off;
  i.vma_start = i.vma_end = 0;
}

void fill_from_vma(Info& i, const KernelVma& v, uint64_t s, uint64_t e) {
  i.start = s;
  i.end = e;
  i.cur = v.prot;
  i.max = VM_PROT_ALL;
  i.inherit = v.shared ? VM_INHERIT_SHARE : VM_INHERIT_COPY;
  i.shared = v.shared;
  i.offset = v.file_offset + (s - v.start);
  i.behavior = VM_BEHAVIOR_DEFAULT;
  i.wired = 0;
  i.tag = tag_of(v);
  i.ref_count = 1;
  i.external = v.inode != 0;
  i.cow = !v.shared && v.inode != 0;
  i.obj_id = v.inode;
  i.obj = nullptr;
  i.obj_off = 0;
  i.vma_start = v.start;
  i.vma_end = v.end;
}

// The region containing addr, else the next one above it.
bool find_region(Task& t, uint64_t addr, Info& out) {
  auto it = t.map.first_ending_after(addr);
  const Entry* ours = it == t.map.end() ? nullptr : &it->second;
  if (ours && ours->start <= addr) {  // a walk's usual step
    fill_from_entry(out, *ours);
    return true;
  }
  uint64_t prev_end = 0;
  if (it != t.map.begin()) prev_end = std::prev(it)->second.end;
  // No gap before our entry: nothing of the kernel's can come first.
  if (ours && ours->start <= std::max(addr, prev_end)) {
    fill_from_entry(out, *ours);
    return true;
  }
  auto v = kernel_vma_at_or_after(0, std::max(addr, prev_end), true);
  // Skip kernel VMAs that are just our own mappings.
  while (v && ours && v->start >= ours->start) {
    if (v->start >= ours->end || v->end <= ours->start) break;
    v.reset();
  }
  if (v && v->end > user_va_end()) v.reset();
  if (v) {
    const KernelVma vma = *v;
    uint64_t s = vma.start > prev_end ? vma.start : prev_end;
    uint64_t e = ours && ours->start < vma.end ? ours->start : vma.end;
    if (s < e && (!ours || s < ours->start)) {
      fill_from_vma(out, vma, s, e);
      return true;
    }
  }
  if (!ours) return false;
  fill_from_entry(out, *ours);
  return true;
}

// Stores one field of a Darwin info structure straight into the caller's
// buffer (building the packed struct on the stack and copying it costs a
// store-forwarding stall per field).
template <class T>
void put(int* info, size_t offset, T value) {
  std::memcpy(reinterpret_cast<char*>(info) + offset, &value, sizeof value);
}

}  // namespace

namespace {
void put_basic64(int* info, vm_prot_t cur, vm_prot_t max, vm_inherit_t inh, bool shared, uint64_t offset,
                 vm_behavior_t behavior, unsigned short wired) {
  using B = vm_region_basic_info_64;
  put(info, offsetof(B, protection), cur);
  put(info, offsetof(B, max_protection), max);
  put(info, offsetof(B, inheritance), inh);
  put(info, offsetof(B, shared), boolean_t{shared});
  put(info, offsetof(B, reserved), boolean_t{0});
  put(info, offsetof(B, offset), memory_object_offset_t{offset});
  put(info, offsetof(B, behavior), behavior);
  put(info, offsetof(B, user_wired_count), wired);
  put(info, offsetof(B, user_wired_count) + 2, static_cast<unsigned short>(0));  // padding, as a zeroed struct
}
}  // namespace

bool region_basic64_in_ours(uint64_t& addr, uint64_t& size, int* info) {
  Task& t = self_task();
  std::lock_guard lk(t.mu);
  auto it = t.map.first_ending_after(addr);
  if (it == t.map.end() || it->second.start > addr) return false;
  const Entry& e = it->second;
  const int views = e.obj->views();
  put_basic64(info, e.cur, e.max, e.inherit, views > 1 || e.obj->shared_with_other_process, e.obj_off, e.behavior,
              e.wired);
  addr = e.start;
  size = e.end - e.start;
  return true;
}

kern_return_t vm_region(uint64_t& addr, uint64_t& size, int flavor, int* info, unsigned& count) {
  unsigned need = 0;
  switch (flavor) {
    case VM_REGION_BASIC_INFO_64: need = VM_REGION_BASIC_INFO_COUNT_64; break;
    case VM_REGION_BASIC_INFO: need = VM_REGION_BASIC_INFO_COUNT; break;
    case VM_REGION_EXTENDED_INFO: need = VM_REGION_EXTENDED_INFO_COUNT - 1; break;  // legacy size accepted
    case VM_REGION_TOP_INFO: need = VM_REGION_TOP_INFO_COUNT; break;
    default: return fail(KERN_INVALID_ARGUMENT, "region flavor {} is not supported", flavor);
  }
  if (count < need) return fail(KERN_INVALID_ARGUMENT, "info count {} is below {} for flavor {}", count, need, flavor);
  if (!info) return fail(KERN_INVALID_ARGUMENT, "info is NULL");
  Task& t = self_task();
  std::lock_guard lk(t.mu);
  Info i;
  if (!find_region(t, addr, i)) return fail(KERN_INVALID_ADDRESS, "no region at or above {:#x}", addr);
  switch (flavor) {
    case VM_REGION_BASIC_INFO_64:
      put_basic64(info, i.cur, i.max, i.inherit, i.shared, i.offset, i.behavior, i.wired);
      count = VM_REGION_BASIC_INFO_COUNT_64;
      break;
    case VM_REGION_BASIC_INFO: {
      vm_region_basic_info b{};
      b.protection = i.cur;
      b.max_protection = i.max;
      b.inheritance = i.inherit;
      b.shared = i.shared;
      b.reserved = 0;
      b.offset = static_cast<uint32_t>(i.offset);
      b.behavior = i.behavior;
      b.user_wired_count = i.wired;
      std::memcpy(info, &b, sizeof b);
      count = VM_REGION_BASIC_INFO_COUNT;
      break;
    }
    case VM_REGION_EXTENDED_INFO: {
      vm_region_extended_info x{};
      uint64_t res = i.resident_pages();
      x.protection = i.cur;
      x.user_tag = i.tag;
      x.pages_resident = static_cast<unsigned>(res);
      x.pages_dirtied = i.external ? 0 : static_cast<unsigned>(res);
      x.ref_count = i.ref_count;
      x.external_pager = i.external;
      x.share_mode = i.share_mode(res);
      unsigned n = std::min<unsigned>(count, VM_REGION_EXTENDED_INFO_COUNT);
      std::memcpy(info, &x, n * sizeof(int));
      count = n;
      break;
    }
    case VM_REGION_TOP_INFO: {
      vm_region_top_info x{};
      uint64_t res = i.resident_pages();
      x.obj_id = static_cast<unsigned>(i.obj_id);
      x.ref_count = i.ref_count;
      x.share_mode = i.share_mode(res);
      if (x.share_mode == SM_SHARED)
        x.shared_pages_resident = static_cast<unsigned>(res);
      else
        x.private_pages_resident = static_cast<unsigned>(res);
      std::memcpy(info, &x, sizeof x);
      count = VM_REGION_TOP_INFO_COUNT;
      break;
    }
  }
  addr = i.start;
  size = i.end - i.start;
  return KERN_SUCCESS;
}

kern_return_t vm_region_recurse(uint64_t& addr, uint64_t& size, unsigned& depth, int* info, unsigned& count,
                                bool legacy32) {
  if (!info) return fail(KERN_INVALID_ARGUMENT, "info is NULL");
  if (legacy32 ? count < VM_REGION_SUBMAP_INFO_COUNT : count < VM_REGION_SUBMAP_SHORT_INFO_COUNT_64)
    return fail(KERN_INVALID_ARGUMENT, "info count {} is too small", count);
  Task& t = self_task();
  std::lock_guard lk(t.mu);
  Info i;
  if (!find_region(t, addr, i)) return fail(KERN_INVALID_ADDRESS, "no region at or above {:#x}", addr);
  depth = 0;  // we never nest submaps
  if (legacy32) {
    vm_region_submap_info s{};
    uint64_t res = i.resident_pages();
    s.protection = i.cur;
    s.max_protection = i.max;
    s.inheritance = i.inherit;
    s.offset = static_cast<uint32_t>(i.offset);
    s.user_tag = i.tag;
    s.pages_resident = static_cast<unsigned>(res);
    s.pages_dirtied = i.external ? 0 : static_cast<unsigned>(res);
    s.ref_count = i.ref_count;
    s.external_pager = i.external;
    s.share_mode = i.share_mode(res);
    s.behavior = i.behavior;
    s.object_id = static_cast<uint32_t>(i.obj_id);
    s.user_wired_count = i.wired;
    std::memcpy(info, &s, sizeof s);
    count = VM_REGION_SUBMAP_INFO_COUNT;
  } else if (count < VM_REGION_SUBMAP_INFO_V0_COUNT_64) {
    vm_region_submap_short_info_64 s{};
    s.protection = i.cur;
    s.max_protection = i.max;
    s.inheritance = i.inherit;
    s.offset = i.offset;
    s.user_tag = i.tag;
    s.ref_count = i.ref_count;
    s.external_pager = i.external;
    s.share_mode = i.share_mode(i.resident_pages());
    s.behavior = i.behavior;
    s.object_id = static_cast<uint32_t>(i.obj_id);
    s.user_wired_count = i.wired;
    std::memcpy(info, &s, sizeof s);
    count = VM_REGION_SUBMAP_SHORT_INFO_COUNT_64;
  } else {
    vm_region_submap_info_64 s{};
    uint64_t res = i.resident_pages();
    s.protection = i.cur;
    s.max_protection = i.max;
    s.inheritance = i.inherit;
    s.offset = i.offset;
    s.user_tag = i.tag;
    s.pages_resident = static_cast<unsigned>(res);
    s.pages_dirtied = i.external ? 0 : static_cast<unsigned>(res);
    s.ref_count = i.ref_count;
    s.external_pager = i.external;
    s.share_mode = i.share_mode(res);
    s.behavior = i.behavior;
    s.object_id = static_cast<uint32_t>(i.obj_id);
    s.user_wired_count = i.wired;
    s.object_id_full = i.obj_id;
    unsigned n = count >= VM_REGION_SUBMAP_INFO_V2_COUNT_64   ? VM_REGION_SUBMAP_INFO_V2_COUNT_64
                 : count >= VM_REGION_SUBMAP_INFO_V1_COUNT_64 ? VM_REGION_SUBMAP_INFO_V1_COUNT_64
                                                              : VM_REGION_SUBMAP_INFO_V0_COUNT_64;
    std::memcpy(info, &s, n * sizeof(int));
    count = n;
  }
  addr = i.start;
  size = i.end - i.start;
  return KERN_SUCCESS;
}

namespace {
void page_disposition(Task& t, uint64_t addr, int& disp, int& refs, uint64_t* obj_id, uint64_t* off) {
  disp = 0;
  refs = 0;
  uint64_t page = page_trunc(addr);
  if (page >= user_va_end()) return;
  auto segs = segments(t, page, page + page_size());
  if (segs.empty()) return;
  const Segment& s = segs.front();
  if (s.kind == Segment::hole) return;
  unsigned char v = 0;
  bool present = mincore(reinterpret_cast<void*>(page), page_size(), &v) == 0 && (v & 1);
  bool external = s.kind == Segment::ours ? !s.entry->obj->anonymous() : s.vma.inode != 0;
  if (present) {
    disp = VM_PAGE_QUERY_PAGE_PRESENT | VM_PAGE_QUERY_PAGE_REF;
    if (!external) disp |= VM_PAGE_QUERY_PAGE_DIRTY;
  }
  if (external) disp |= VM_PAGE_QUERY_PAGE_EXTERNAL;
  refs = s.kind == Segment::ours ? std::max(1, s.entry->obj->views()) : 1;
  if (obj_id) *obj_id = s.kind == Segment::ours ? s.entry->obj->id() : s.vma.inode;
  if (off)
    *off = s.kind == Segment::ours ? s.entry->off_of(page) : s.vma.file_offset + (page - s.vma.start);
}
}  // namespace

kern_return_t vm_page_query(uint64_t addr, int& disposition, int& ref_count) {
  Task& t = self_task();
  std::lock_guard lk(t.mu);
  page_disposition(t, addr, disposition, ref_count, nullptr, nullptr);
  return KERN_SUCCESS;
}

kern_return_t vm_page_info(uint64_t addr, int flavor, int* info, unsigned& count) {
  if (flavor != VM_PAGE_INFO_BASIC) return fail(KERN_INVALID_ARGUMENT, "page info flavor {} unknown", flavor);
  if (count < VM_PAGE_INFO_BASIC_COUNT) return fail(KERN_INVALID_ARGUMENT, "info count {} too small", count);
  if (!info) return fail(KERN_INVALID_ARGUMENT, "info is NULL");
  Task& t = self_task();
  std::lock_guard lk(t.mu);
  vm_page_info_basic b{};
  uint64_t id = 0, off = 0;
  page_disposition(t, addr, b.disposition, b.ref_count, &id, &off);
  b.object_id = id;
  b.offset = off;
  std::memcpy(info, &b, sizeof b);
  count = VM_PAGE_INFO_BASIC_COUNT;
  return KERN_SUCCESS;
}

}  // namespace hvshim::machvm
