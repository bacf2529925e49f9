#include "machvm/placement.h"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <vector>

#include "machvm/fail.h"
#include "machvm/page.h"
#include "machvm/stash.h"
#include "machvm/sys.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

namespace hvshim::machvm {

namespace {
void* map_piece(uint64_t at, const Piece& p, vm_prot_t cur) {
  if (p.cur >= 0) cur = p.cur;
  return sys::mmap(reinterpret_cast<void*>(at), p.len, to_posix_prot(cur), MAP_SHARED | MAP_FIXED, p.obj->fd(),
                   static_cast<off_t>(p.obj->base() + p.off));
}

uint64_t total_len(const PlaceRequest& r) {
  uint64_t n = 0;
  for (auto& p : r.pieces) n += p.len;
  return n;
}

// Smallest power of two above mask: any multiple of it has no mask bits set.
bool alignment_for(uint64_t mask, uint64_t& align) {
  align = page_size();
  if (mask == 0) return true;
  if (mask >= (1ULL << 63)) return false;
  uint64_t a = std::bit_ceil(mask + 1);
  if (a > align) align = a;
  return true;
}

// PROT_NONE placeholder over [at, at+len) that we own until the pieces go in.
kern_return_t reserve_fixed(uint64_t at, uint64_t len) {
  void* p = sys::mmap(reinterpret_cast<void*>(at), len, PROT_NONE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
  if (p == MAP_FAILED) {
    if (errno == EEXIST) return fail(KERN_NO_SPACE, "[{:#x}, {:#x}) is already mapped", at, at + len);
    if (errno == EPERM || errno == EINVAL)
      return fail(KERN_INVALID_ADDRESS, "[{:#x}, {:#x}) is outside the user address space", at, at + len);
    int e = errno;
    return fail(sys::resource_code(e), "mmap reserve: {}", errno_text(e));
  }
  if (reinterpret_cast<uint64_t>(p) != at) {  // kernels before 4.17 treat the flag as a hint
    ::munmap(p, len);
    return fail(KERN_NO_SPACE, "[{:#x}, {:#x}) is already mapped", at, at + len);
  }
  return KERN_SUCCESS;
}

kern_return_t reserve_kernel_choice(uint64_t len, uint64_t align, uint64_t& out) {
  uint64_t extra = align > page_size() ? align - page_size() : 0;
  if (len + extra < len) return fail(KERN_NO_SPACE, "size {:#x} with alignment {:#x}", len, align);
  void* p = sys::mmap(nullptr, len + extra, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    int e = errno;
    return fail(sys::resource_code(e, true), "no room for {:#x} bytes: {}", len, errno_text(e));
  }
  uint64_t s = reinterpret_cast<uint64_t>(p);
  uint64_t a = (s + align - 1) & ~(align - 1);
  // Trimming splits the reservation, which the kernel may refuse.
  if ((a > s && sys::munmap(p, a - s) != 0) ||
      (s + len + extra > a + len &&
       sys::munmap(reinterpret_cast<void*>(a + len), s + len + extra - (a + len)) != 0)) {
    int e = errno;
    ::munmap(p, len + extra);
    return fail(sys::resource_code(e), "trimming an aligned reservation: {}", errno_text(e));
  }
  out = a;
  return KERN_SUCCESS;
}

// Where ANYWHERE searches begin, as XNU's map search begins at the map's
// low end: on macOS everything below 4 GiB is __PAGEZERO, so a 64-bit
// process's first allocations land just above it. Linux puts its own
// mappings (libraries, malloc arenas, stacks) near the top and the
// executable at 0x55..., so the space above 4 GiB is normally ours.
//
// One PROT_NONE page at 4 GiB (never touched, so it costs no memory)
// marks the end of that page zero: with nothing else mapped in its 2 MiB
// block, every allocate/deallocate cycle there would make the kernel
// allocate and free page-table pages (1.5x the cost of the cycle).
uint64_t anywhere_base() {
  static const uint64_t base = [] {
    const uint64_t low = std::max<uint64_t>(1ULL << 32, user_va_start());
    void* m = ::mmap(reinterpret_cast<void*>(low), page_size(), PROT_NONE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (m == reinterpret_cast<void*>(low)) return low + page_size();
    if (m != MAP_FAILED) ::munmap(m, page_size());
    return low;  // something is there already, which serves as well
  }();
  return base;
}

uint64_t align_up(uint64_t a, uint64_t align) { return a + ((align - (a & (align - 1))) & (align - 1)); }

// XNU's search for ANYWHERE: the lowest address at or above `from` whose
// [addr, addr+len) is free, never wrapping. `map_at` claims a candidate
// with MAP_FIXED_NOREPLACE (so a mapping another thread made meanwhile is
// never replaced) and returns 0, EEXIST when something is there, or another
// errno. With `track`, the search began at t.first_free and moves it past
// the occupied run it walked over.
template <class MapAt>
kern_return_t first_fit(Task& t, uint64_t from, uint64_t len, uint64_t align, bool track, MapAt&& map_at,
                        uint64_t& out) {
  const uint64_t top = user_va_end();
  uint64_t cand = align_up(from, align);
  uint64_t occupied_to = from;  // [from, occupied_to) seen occupied without a gap
  auto skip_to = [&](uint64_t start, uint64_t end) {
    if (start <= occupied_to && end > occupied_to) occupied_to = end;
    cand = align_up(end, align);
  };
  for (int tries = 0; tries < 100000; ++tries) {
    if (cand < from || cand + len < cand || cand + len > top)
      return fail(KERN_NO_SPACE, "no {:#x}-byte gap at or above {:#x}", len, from);
    auto it = t.map.first_ending_after(cand);
    if (it != t.map.end() && it->second.start < cand + len) {
      skip_to(it->second.start, it->second.end);
      continue;
    }
    int e = map_at(cand);
    if (e == 0) {
      if (track) t.first_free = cand == occupied_to ? cand + len : occupied_to;
      out = cand;
      return KERN_SUCCESS;
    }
    if (e != EEXIST) return fail(sys::resource_code(e), "mmap at {:#x}: {}", cand, errno_text(e));
    auto vma = kernel_vma_at_or_after(0, cand);
    if (vma && vma->start < cand + len)
      skip_to(vma->start, vma->end);
    else
      cand += page_size();  // it went away meanwhile: look again
  }
  return fail(KERN_NO_SPACE, "no {:#x}-byte gap at or above {:#x}", len, from);
}

// 0 if the fresh mapping `m` is exactly at `at`; kernels before 4.17 treat
// MAP_FIXED_NOREPLACE as a hint and may put it elsewhere.
int claimed(void* m, uint64_t at, uint64_t len) {
  if (m == MAP_FAILED) return errno;
  if (reinterpret_cast<uint64_t>(m) == at) return 0;
  ::munmap(m, len);
  return EEXIST;
}

// Start of an ANYWHERE search: the hint (mach_vm_map, mach_vm_remap) or the
// lowest address not known to be occupied.
uint64_t search_start(Task& t, bool use_hint, uint64_t hint, bool& track) {
  uint64_t lowest = t.map.take_lowest_erased();
  if (lowest < t.first_free) t.first_free = lowest;
  const uint64_t base = anywhere_base();
  if (use_hint && hint) {
    track = false;
    return std::max(hint, user_va_start());
  }
  track = true;
  return std::max(t.first_free, base);
}

// A PROT_NONE placeholder for [at, at+len) found by first fit.
kern_return_t reserve_first_fit(Task& t, uint64_t from, bool track, uint64_t len, uint64_t align, uint64_t& out) {
  return first_fit(t, from, len, align, track, [&](uint64_t at) {
    void* m = sys::mmap(reinterpret_cast<void*>(at), len, PROT_NONE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    return claimed(m, at, len);
  }, out);
}

// Maps the pieces into our reservation [at, at+len) with the kernel-side
// state of the request (DONTFORK). On failure the reservation is gone.
kern_return_t fill(uint64_t at, uint64_t len, const PlaceRequest& r) {
  uint64_t p = at;
  for (const Piece& pc : r.pieces) {
    if (map_piece(p, pc, r.cur) == MAP_FAILED) {
      int e = errno;
      ::munmap(reinterpret_cast<void*>(at), len);
      return fail(sys::resource_code(e), "mmap of object {} at {:#x}: {}", pc.obj->id(), p, errno_text(e));
    }
    p += pc.len;
  }
  if (r.inherit == VM_INHERIT_NONE && sys::madvise(reinterpret_cast<void*>(at), len, MADV_DONTFORK) != 0) {
    int e = errno;
    ::munmap(reinterpret_cast<void*>(at), len);
    return fail(sys::resource_code(e), "madvise(DONTFORK) [{:#x}, {:#x}): {}", at, at + len, errno_text(e));
  }
  return KERN_SUCCESS;
}

// Build the new mapping off to the side, then move it over the target. The
// old mappings of the target are moved aside first, so a failure at any
// step puts them back exactly (foreign ones included). Holes in the target
// get placeholders first so the side range cannot land there.
kern_return_t overwrite(Task& t, uint64_t at, uint64_t len, const PlaceRequest& r) {
  std::vector<std::pair<uint64_t, uint64_t>> placeholders;
  auto drop_placeholders = [&] {
    for (auto [s, e] : placeholders) ::munmap(reinterpret_cast<void*>(s), e - s);
  };
  for (const Segment& s : segments(t, at, at + len)) {
    if (s.kind != Segment::hole) continue;
    kern_return_t kr = reserve_fixed(s.start, s.end - s.start);
    if (kr == KERN_NO_SPACE) continue;  // someone else mapped it meanwhile: it is replaced like the rest
    if (kr != KERN_SUCCESS) {
      drop_placeholders();
      return kr;
    }
    placeholders.emplace_back(s.start, s.end);
  }
  uint64_t scratch = 0;
  if (kern_return_t kr = reserve_kernel_choice(len, page_size(), scratch); kr != KERN_SUCCESS) {
    drop_placeholders();
    return kr;
  }
  if (kern_return_t kr = fill(scratch, len, r); kr != KERN_SUCCESS) {
    drop_placeholders();
    return kr;
  }
  // Even a single mremap is not atomic: the kernel unmaps the target before
  // it moves the source, and does not restore it if the move fails.
  Stash old;
  if (kern_return_t kr = old.take(at, at + len); kr != KERN_SUCCESS) {
    ::munmap(reinterpret_cast<void*>(scratch), len);
    drop_placeholders();
    return kr;
  }
  uint64_t off = 0;
  for (const Piece& pc : r.pieces) {
    void* m = sys::mremap(reinterpret_cast<void*>(scratch + off), pc.len, pc.len, MREMAP_MAYMOVE | MREMAP_FIXED,
                          reinterpret_cast<void*>(at + off));
    if (m == MAP_FAILED) {
      int e = errno;
      ::munmap(reinterpret_cast<void*>(scratch + off), len - off);
      old.put_back();
      drop_placeholders();
      return fail(sys::resource_code(e), "mremap into place at {:#x}: {}", at + off, errno_text(e));
    }
    off += pc.len;
  }
  old.release();  // the placeholders went with it
  return KERN_SUCCESS;
}

// Pieces of one request that show the same pages twice.
void mark_self_aliases(const std::vector<Piece>& pieces) {
  if (pieces.size() < 2) return;
  std::vector<const Piece*> v;
  for (const Piece& p : pieces) v.push_back(&p);
  std::sort(v.begin(), v.end(), [](const Piece* a, const Piece* b) {
    return a->obj != b->obj ? a->obj.get() < b->obj.get() : a->off < b->off;
  });
  for (size_t i = 1; i < v.size(); ++i)
    if (v[i]->obj == v[i - 1]->obj && v[i]->off < v[i - 1]->off + v[i - 1]->len)
      v[i]->obj->mapped_twice_in_a_view = true;
}
}  // namespace

kern_return_t place_anywhere(Task& t, Piece pc, vm_prot_t cur, vm_prot_t max, vm_inherit_t inherit, unsigned tag,
                             bool permanent, uint64_t& out) {
  bool track = false;
  const uint64_t from = search_start(t, false, 0, track);
  const uint64_t first_free = t.first_free;
  uint64_t found = 0;
  // The piece itself goes straight into the gap: one mmap, no placeholder.
  kern_return_t kr = first_fit(t, from, pc.len, page_size(), track, [&](uint64_t at) {
    void* m = sys::mmap(reinterpret_cast<void*>(at), pc.len, to_posix_prot(cur), MAP_SHARED | MAP_FIXED_NOREPLACE,
                        pc.obj->fd(), static_cast<off_t>(pc.obj->base() + pc.off));
    return claimed(m, at, pc.len);
  }, found);
  if (kr != KERN_SUCCESS) return kr;
  void* m = reinterpret_cast<void*>(found);
  const uint64_t at = reinterpret_cast<uint64_t>(m);
  if (inherit == VM_INHERIT_NONE && sys::madvise(m, pc.len, MADV_DONTFORK) != 0) {
    int e = errno;
    ::munmap(m, pc.len);
    t.first_free = first_free;
    return fail(sys::resource_code(e), "madvise(DONTFORK) [{:#x}, {:#x}): {}", at, at + pc.len, errno_text(e));
  }
  Entry e;
  e.start = at;
  e.end = at + pc.len;
  e.cur = cur;
  e.max = max;
  e.inherit = inherit;
  e.tag = tag;
  e.permanent = permanent;
  e.obj = std::move(pc.obj);
  e.obj_off = pc.off;
  e.view = RegionMap::new_view_id();  // a fresh view: no neighbour can merge with it
  t.map.insert(std::move(e));
  out = at;
  return KERN_SUCCESS;
}

kern_return_t place(Task& t, const PlaceRequest& r, uint64_t& out) {
  const uint64_t len = total_len(r);
  uint64_t align = 0;
  if (!alignment_for(r.mask, align)) return fail(KERN_NO_SPACE, "mask {:#x} leaves no usable address", r.mask);
  if (len == 0 || len > user_va_end()) return fail(KERN_NO_SPACE, "size {:#x} does not fit the address space", len);

  uint64_t at = 0;
  if (r.anywhere && !(r.use_hint && r.addr) && align == page_size() && r.pieces.size() == 1 && !r.view) {
    const Piece& pc = r.pieces[0];
    return place_anywhere(t, pc, pc.cur >= 0 ? pc.cur : r.cur, pc.max >= 0 ? pc.max : r.max, r.inherit, r.tag,
                          r.permanent, out);
  }
  if (r.anywhere) {
    bool track = false;
    const uint64_t from = search_start(t, r.use_hint, r.addr, track);
    const uint64_t first_free = t.first_free;
    kern_return_t kr = reserve_first_fit(t, from, track, len, align, at);
    if (kr != KERN_SUCCESS) return kr;
    if (kr = fill(at, len, r); kr != KERN_SUCCESS) {
      t.first_free = first_free;
      return kr;
    }
  } else {
    at = r.addr;
    if (at & r.mask) return fail(KERN_NO_SPACE, "address {:#x} does not satisfy mask {:#x}", at, r.mask);
    if (at < user_va_start() || at + len < at || at + len > user_va_end())
      return fail(KERN_INVALID_ADDRESS, "[{:#x}, +{:#x}) is outside the user address space", at, len);
    if (!r.overwrite) {
      auto it = t.map.first_ending_after(at);
      if (it != t.map.end() && it->second.start < at + len)
        return fail(KERN_NO_SPACE, "[{:#x}, {:#x}) overlaps an existing region at {:#x}", at, at + len,
                    it->second.start);
      if (kern_return_t kr = reserve_fixed(at, len); kr != KERN_SUCCESS) return kr;
      if (kern_return_t kr = fill(at, len, r); kr != KERN_SUCCESS) return kr;
    } else {
      for (auto it = t.map.first_ending_after(at); it != t.map.end() && it->second.start < at + len; ++it)
        if (it->second.permanent)
          return fail(KERN_NO_SPACE, "[{:#x}, {:#x}) is permanent and cannot be overwritten", it->second.start,
                      it->second.end);
      if (kern_return_t kr = overwrite(t, at, len, r); kr != KERN_SUCCESS) return kr;
      t.map.clip(at, at + len);
      t.map.erase(at, at + len);
    }
  }

  mark_self_aliases(r.pieces);
  uint64_t view = r.view ? r.view : RegionMap::new_view_id();
  uint64_t p = at;
  for (const Piece& pc : r.pieces) {
    Entry e;
    e.start = p;
    e.end = p + pc.len;
    e.cur = pc.cur >= 0 ? pc.cur : r.cur;
    e.max = pc.max >= 0 ? pc.max : r.max;
    e.inherit = r.inherit;
    e.tag = r.tag;
    e.permanent = r.permanent;
    e.obj = pc.obj;
    e.obj_off = pc.off;
    e.view = view;
    t.map.insert(std::move(e));
    p += pc.len;
  }
  // Entries only merge within one view: a fresh view has no neighbour to
  // merge with, only its own pieces.
  if (r.view || r.pieces.size() > 1) t.map.simplify(at, at + len);
  out = at;
  return KERN_SUCCESS;
}

}  // namespace hvshim::machvm
