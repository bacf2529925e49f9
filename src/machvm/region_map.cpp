#include "machvm/region_map.h"

#include <atomic>

namespace hvshim::machvm {

uint64_t RegionMap::new_view_id() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1);
}

RegionMap::iterator RegionMap::find(uint64_t addr) {
  auto it = first_ending_after(addr);
  return it != m_.end() && it->second.start <= addr ? it : m_.end();
}

RegionMap::iterator RegionMap::first_ending_after(uint64_t addr) {
  // Entries are disjoint and sorted, so h is the answer exactly when it
  // ends above addr and the entry before it does not.
  if (hint_ok_) {
    auto h = hint_;
    if (h->second.end > addr) {
      if (h == m_.begin() || std::prev(h)->second.end <= addr) return h;
    } else {
      auto n = std::next(h);  // the entry before n is h, which ends at or below addr
      if (n == m_.end()) return n;
      if (n->second.end > addr) {
        hint_ = n;
        return n;
      }
    }
  }
  auto it = m_.upper_bound(addr);
  if (it != m_.begin()) {
    auto prev = std::prev(it);
    if (prev->second.end > addr) it = prev;
  }
  hint_ = it;
  hint_ok_ = it != m_.end();
  return it;
}

void RegionMap::ref(const Entry& e) {
  if (e.obj) e.obj->add_view_piece(e.view);
}

void RegionMap::unref(const Entry& e) {
  if (!e.obj) return;
  e.obj->drop_view_piece(e.view);
}

void RegionMap::split(uint64_t addr) {
  auto it = find(addr);
  if (it == m_.end() || it->second.start == addr) return;
  Entry hi = it->second;
  hi.obj_off = it->second.off_of(addr);
  hi.start = addr;
  it->second.end = addr;
  ref(hi);
  m_.emplace(addr, std::move(hi));
}

void RegionMap::clip(uint64_t start, uint64_t end) {
  split(start);
  split(end);
}

bool RegionMap::covered(uint64_t start, uint64_t end) {
  uint64_t at = start;
  for (auto it = first_ending_after(start); at < end; ++it) {
    if (it == m_.end() || it->second.start > at) return false;
    at = it->second.end;
  }
  return true;
}

void RegionMap::erase(uint64_t start, uint64_t end) {
  auto it = m_.lower_bound(start);
  while (it != m_.end() && it->second.start < end) {
    if (it->second.start < lowest_erased_) lowest_erased_ = it->second.start;
    unref(it->second);
    it = m_.erase(it);
    hint_ok_ = false;
  }
}

void RegionMap::erase(iterator it) {
  if (it->second.start < lowest_erased_) lowest_erased_ = it->second.start;
  unref(it->second);
  m_.erase(it);
  hint_ok_ = false;
}

void RegionMap::insert(Entry e) {
  ref(e);
  m_.emplace(e.start, std::move(e));
}

bool RegionMap::mergeable(const Entry& a, const Entry& b) {
  return a.end == b.start && a.obj == b.obj && a.view == b.view && a.off_of(a.end) == b.obj_off &&
         a.cur == b.cur && a.max == b.max && a.inherit == b.inherit && a.behavior == b.behavior &&
         a.tag == b.tag && a.wired == b.wired && a.permanent == b.permanent && a.zero_wired == b.zero_wired;
}

void RegionMap::simplify(uint64_t start, uint64_t end) {
  auto it = first_ending_after(start > 0 ? start - 1 : 0);
  while (it != m_.end() && it->second.start <= end) {
    auto next = std::next(it);
    if (next != m_.end() && mergeable(it->second, next->second)) {
      it->second.end = next->second.end;
      unref(next->second);
      m_.erase(next);
      hint_ok_ = false;
      continue;
    }
    it = next;
  }
}

}  // namespace hvshim::machvm
