#include "hvapi/wp/alias_table.h"

#include <unistd.h>

#include <algorithm>

#include "hvapi/wp/fault_router.h"
#include "kvm/host_alias.h"

namespace hvshim::hv {

AliasTable::AliasTable(FaultRouter* router) : router_(router), owner_(getpid()) {}

AliasTable::~AliasTable() {
  // Aliases are not inherited (MADV_DONTFORK): in a fork child the
  // addresses may belong to something else by now.
  if (owner_ != getpid()) return;
  for (const auto& [g, p] : by_gpa_) {
    if (router_) router_->forget(p.alias, p.size);
    kvm::drop_alias(p.alias, p.size);
  }
}

void AliasTable::add(const AliasPiece& p) {
  by_gpa_[p.gpa] = p;
  by_alias_[p.alias] = p.gpa;
}

void AliasTable::erase(uint64_t gpa, uint64_t size) {
  uint64_t lo = gpa, hi = gpa + size;
  std::vector<AliasPiece> hit;
  auto it = by_gpa_.upper_bound(lo);
  if (it != by_gpa_.begin()) --it;
  for (; it != by_gpa_.end() && it->first < hi; ++it)
    if (it->second.end() > lo) hit.push_back(it->second);
  for (const auto& whole : hit) {
    uint64_t a = std::max(lo, whole.gpa), b = std::min(hi, whole.end());
    by_gpa_.erase(whole.gpa);
    by_alias_.erase(whole.alias);
    uint64_t alias_a = whole.alias + (a - whole.gpa);
    if (router_) router_->forget(alias_a, b - a);
    kvm::drop_alias(alias_a, b - a);
    if (whole.gpa < a) add({whole.gpa, a - whole.gpa, whole.hva, whole.alias});
    if (b < whole.end()) add({b, whole.end() - b, whole.hva + (b - whole.gpa), whole.alias + (b - whole.gpa)});
  }
}

std::vector<AliasPiece> AliasTable::in(uint64_t lo, uint64_t hi) const {
  std::vector<AliasPiece> out;
  auto it = by_gpa_.upper_bound(lo);
  if (it != by_gpa_.begin()) --it;
  for (; it != by_gpa_.end() && it->first < hi; ++it) {
    const AliasPiece& p = it->second;
    uint64_t a = std::max(lo, p.gpa), b = std::min(hi, p.end());
    if (a >= b) continue;
    out.push_back({a, b - a, p.hva + (a - p.gpa), p.alias + (a - p.gpa)});
  }
  return out;
}

std::optional<uint64_t> AliasTable::gpa_of_alias(uint64_t alias) const {
  auto it = by_alias_.upper_bound(alias);
  if (it == by_alias_.begin()) return std::nullopt;
  --it;
  const AliasPiece& p = by_gpa_.at(it->second);
  if (alias >= p.alias + p.size) return std::nullopt;
  return p.gpa + (alias - p.alias);
}

std::vector<Extent> kvm_view(const std::vector<Extent>& extents, const AliasTable& aliases) {
  if (aliases.empty()) return extents;
  std::vector<Extent> out;
  for (const auto& e : extents) {
    uint64_t cur = e.gpa;
    auto emit_plain = [&](uint64_t to) {
      if (to > cur) out.push_back({cur, to - cur, e.hva + (cur - e.gpa), e.perms});
    };
    for (const auto& p : aliases.in(e.gpa, e.end())) {
      if (p.hva != e.hva + (p.gpa - e.gpa)) continue;  // not the same host pages
      emit_plain(p.gpa);
      uint8_t perms = e.perms ? static_cast<uint8_t>(e.perms | kPermWrite) : 0;
      out.push_back({p.gpa, p.size, p.alias, perms});
      cur = p.end();
    }
    emit_plain(e.end());
  }
  return out;
}

}  // namespace hvshim::hv
