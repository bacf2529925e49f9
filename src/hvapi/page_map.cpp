#include "hvapi/page_map.h"

#include <algorithm>
#include <iterator>

namespace hvshim::hv {

bool PageMap::is_free(uint64_t gpa, uint64_t size) const {
  uint64_t end = gpa + size;
  auto it = m_.upper_bound(gpa);
  if (it != m_.begin()) {
    auto p = std::prev(it);
    if (p->first + p->second.size > gpa) return false;
  }
  return it == m_.end() || it->first >= end;
}

bool PageMap::is_fully_mapped(uint64_t gpa, uint64_t size) const {
  uint64_t cur = gpa, end = gpa + size;
  auto it = m_.upper_bound(gpa);
  if (it == m_.begin()) return false;
  --it;
  while (cur < end) {
    if (it == m_.end() || it->first > cur || it->first + it->second.size <= cur) return false;
    cur = it->first + it->second.size;
    ++it;
  }
  return true;
}

void PageMap::split_at(uint64_t gpa) {
  auto it = m_.upper_bound(gpa);
  if (it == m_.begin()) return;
  --it;
  uint64_t start = it->first;
  Entry e = it->second;
  if (start == gpa || start + e.size <= gpa) return;
  uint64_t left = gpa - start;
  it->second.size = left;
  m_.emplace(gpa, Entry{e.size - left, e.hva + left, e.perms});
}

bool PageMap::joinable(Map::const_iterator a, Map::const_iterator b) {
  return a->first + a->second.size == b->first && a->second.hva + a->second.size == b->second.hva &&
         a->second.perms == b->second.perms;
}

void PageMap::coalesce_range(uint64_t lo, uint64_t hi) {
  // Only extents inside [lo, hi] or touching it can have become joinable.
  auto it = m_.lower_bound(lo);
  if (it != m_.begin()) --it;
  while (it != m_.end() && it->first <= hi) {
    auto n = std::next(it);
    if (n == m_.end()) break;
    if (joinable(it, n)) {
      it->second.size += n->second.size;
      m_.erase(n);
    } else {
      it = n;
    }
  }
}

void PageMap::insert(const Extent& e) {
  m_.emplace(e.gpa, Entry{e.size, e.hva, e.perms});
  coalesce_range(e.gpa, e.end());
}

void PageMap::erase(uint64_t gpa, uint64_t size) {
  split_at(gpa);
  split_at(gpa + size);
  m_.erase(m_.lower_bound(gpa), m_.lower_bound(gpa + size));
}

void PageMap::protect(uint64_t gpa, uint64_t size, uint8_t perms) {
  split_at(gpa);
  split_at(gpa + size);
  for (auto it = m_.lower_bound(gpa); it != m_.end() && it->first < gpa + size; ++it) it->second.perms = perms;
  coalesce_range(gpa, gpa + size);
}

std::vector<Extent> PageMap::extents_in(uint64_t lo, uint64_t hi) const {
  std::vector<Extent> out;
  auto it = m_.upper_bound(lo);
  if (it != m_.begin()) --it;
  for (; it != m_.end() && it->first < hi; ++it) {
    uint64_t s = std::max(lo, it->first), e = std::min(hi, it->first + it->second.size);
    if (s >= e) continue;
    out.push_back({s, e - s, it->second.hva + (s - it->first), it->second.perms});
  }
  return out;
}

std::optional<Extent> PageMap::lookup(uint64_t gpa) const {
  auto v = extents_in(gpa, gpa + kPageSize);
  if (v.empty()) return std::nullopt;
  return v.front();
}

std::optional<Extent> PageMap::extent_at(uint64_t gpa) const {
  auto it = m_.upper_bound(gpa);
  if (it == m_.begin()) return std::nullopt;
  --it;
  if (gpa >= it->first + it->second.size) return std::nullopt;
  return Extent{it->first, it->second.size, it->second.hva, it->second.perms};
}

namespace {
// Rebuilds a clipped list through a scratch PageMap: one set of rules for
// both the committed map and planned changes.
PageMap from(const std::vector<Extent>& in) {
  PageMap m;
  for (const auto& e : in) m.insert(e);
  return m;
}
}  // namespace

std::vector<Extent> apply_erase(const std::vector<Extent>& in, uint64_t gpa, uint64_t size) {
  PageMap m = from(in);
  m.erase(gpa, size);
  return m.all();
}

std::vector<Extent> apply_protect(const std::vector<Extent>& in, uint64_t gpa, uint64_t size, uint8_t perms) {
  PageMap m = from(in);
  m.protect(gpa, size, perms);
  return m.all();
}

std::vector<Extent> apply_insert(const std::vector<Extent>& in, const Extent& e) {
  PageMap m = from(in);
  m.insert(e);
  return m.all();
}

}  // namespace hvshim::hv
