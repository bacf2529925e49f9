#include "hvapi/space.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/last_error.h"
#include "common/log.h"
#include "hvapi/fail.h"
#include "hvapi/wp/fault_router.h"
#include "kvm/host_alias.h"

namespace hvshim::hv {

namespace {
// Test-only: HVSHIM_SLOT_POLICY=maximal makes every change use the planner's
// fallback (no 2 MiB cutting), so the suite can run once per policy and the
// fallback is never the untested path.
bool chunking_enabled() {
  static const bool on = [] {
    const char* e = getenv("HVSHIM_SLOT_POLICY");
    return !(e && strcmp(e, "maximal") == 0);
  }();
  return on;
}
}  // namespace

kvm::Result<std::unique_ptr<Space>> Space::create(const kvm::System& sys, uint32_t id, FaultRouter* router) {
  auto vm = kvm::Vm::create(sys);
  if (!vm) return vm.error();
  // Without this, every slot delete makes the guest re-fault all its memory.
  bool zap_off = vm->disable_slot_zap_all();
  // Guest code bytes are the VMM's: KVM must not patch VMCALL into VMMCALL.
  if (!vm->disable_hypercall_patching()) log::debug("space {}: KVM may rewrite hypercall instructions", id);
  int n = vm->check_extension(kvm::kCapNrMemslots);
  if (n <= 0) n = sys.check_extension(kvm::kCapNrMemslots);
  if (n <= 0) n = 32;
  log::debug("space {}: kvm vm fd={} memslots={} zap_all_disabled={}", id, vm->fd(), n, zap_off);
  // The highest id is kept back for the vCPU layer (reserved_slot_id()).
  return std::unique_ptr<Space>(new Space(std::move(*vm), id, static_cast<uint32_t>(n - 1), zap_off, router));
}

hv_return_t Space::apply(const SlotPlan& plan) {
  std::vector<SlotDesc> removed, added;
  kvm::Error failure{};
  bool failed = false;
  for (const auto& r : plan.remove) {
    if (auto st = vm_.delete_memslot(r.id); !st) {
      failure = st.error();
      failed = true;
      break;
    }
    removed.push_back(r);
    // Deleted in KVM, so its id may serve a new slot at once: a change
    // that keeps the slot count must work even when every id is in use.
    slots_.return_id(r.id);
  }
  if (!failed) {
    for (auto a : plan.add) {
      a.id = slots_.take_id();
      if (auto st = vm_.set_memslot({a.id, a.gpa, a.size, a.hva, a.readonly}); !st) {
        slots_.return_id(a.id);
        failure = st.error();
        failed = true;
        break;
      }
      added.push_back(a);
    }
  }
  if (failed) {
    // Put back exactly what was there: the new slots out, the old ones in
    // under their old ids.
    for (auto it = added.rbegin(); it != added.rend(); ++it) {
      if (!vm_.delete_memslot(it->id)) log::error("space {}: rollback could not delete slot {}", id_, it->id);
      slots_.return_id(it->id);
    }
    for (const auto& r : removed) {
      slots_.claim_id(r.id);
      if (!vm_.set_memslot({r.id, r.gpa, r.size, r.hva, r.readonly}))
        log::error("space {}: rollback could not restore slot {} at {:#x}", id_, r.id, r.gpa);
    }
    set_last_error(failure.describe());
    log::debug("space {}: slot update failed: {}", id_, failure.describe());
    return code_for_errno(failure.err);
  }
  for (const auto& r : plan.remove) slots_.erase(r.gpa);
  for (const auto& a : added) slots_.insert(a);
  log::trace("space {}: -{} +{} slots, {} installed", id_, plan.remove.size(), added.size(), slots_.count());
  return HV_SUCCESS;
}

template <class Change>
hv_return_t Space::update(uint64_t lo, uint64_t hi, Change change, bool may_leave_stricter) {
  const bool chunk = chunking_enabled();
  auto affected = slots_.overlapping(lo, hi);
  uint64_t span_lo = lo, span_hi = hi;
  if (!affected.empty()) {
    span_lo = std::min(span_lo, affected.front().gpa);
    span_hi = std::max(span_hi, affected.back().end());
  }
  // The slots just outside the span may merge with what it becomes (a page
  // regaining its neighbours' permissions); without this, page-by-page
  // changes would leave one slot per page. Merging stays inside a chunk.
  auto same_chunk = [&](uint64_t a, uint64_t b) { return !chunk || a / kSlotChunk == b / kSlotChunk; };
  if (span_lo > 0) {
    auto left = slots_.overlapping(span_lo - 1, span_lo);
    if (!left.empty() && left.back().end() == span_lo && same_chunk(span_lo - 1, span_lo)) {
      affected.insert(affected.begin(), left.back());
      span_lo = left.back().gpa;
    }
  }
  auto right = slots_.overlapping(span_hi, span_hi + 1);
  if (!right.empty() && right.front().gpa == span_hi && same_chunk(span_hi - 1, span_hi)) {
    affected.push_back(right.front());
    span_hi = right.front().end();
  }
  std::vector<Extent> after = kvm_view(change(pages_.extents_in(span_lo, span_hi)), aliases_);
  size_t limit = std::min<size_t>(slot_limit_, slots_.max_slots());
  auto fits = [&](const SlotPlan& p) { return slots_.count() - p.remove.size() + p.add.size() <= limit; };
  SlotPlan plan = plan_slots(affected, after, chunk);
  if (!fits(plan)) plan = plan_slots(affected, after, /*chunk=*/false);
  if (!fits(plan) && may_leave_stricter && only_loosens(lo, hi, after)) {
    // Out of memslots, but every page keeps a slot and only gains access:
    // leave KVM's layout stricter than the page map. Accesses the map allows
    // then exit and are completed from host memory (allowed_access.h), so
    // the guest sees the new permissions, at the price of an exit per access.
    log::debug("space {}: memslots exhausted, [{:#x}, {:#x}) stays stricter in KVM", id_, lo, hi);
    return HV_SUCCESS;
  }
  if (!fits(plan)) {
    set_last_error(fmt::format("memslot limit reached: {} installed, change needs {} more, limit {}", slots_.count(),
                               plan.add.size() - plan.remove.size(), limit));
    return HV_NO_RESOURCES;
  }
  return apply(plan);
}

bool Space::only_loosens(uint64_t lo, uint64_t hi, const std::vector<Extent>& after) const {
  auto rank = [](uint8_t perms) { return static_cast<int>(slot_kind(perms)); };
  auto before = kvm_view(pages_.extents_in(lo, hi), aliases_);
  size_t j = 0;
  for (const auto& b : before) {
    // Pages without a slot cannot be left behind: an instruction fetch from
    // them could not be completed.
    if (slot_kind(b.perms) == SlotKind::absent) return false;
    for (uint64_t pg = b.gpa; pg < b.end(); pg += kPageSize) {
      while (j < after.size() && after[j].end() <= pg) ++j;
      if (j == after.size() || after[j].gpa > pg) return false;  // unmapped by the change
      if (after[j].hva + (pg - after[j].gpa) != b.hva + (pg - b.gpa)) return false;
      if (rank(after[j].perms) < rank(b.perms)) return false;
    }
  }
  return !before.empty();
}

std::optional<AliasPiece> Space::make_alias(const kvm::SharedRange& in, uint64_t hva, uint64_t gpa, uint64_t size) {
  auto alias = kvm::make_shared_alias(in, hva, size);
  if (!alias) return std::nullopt;
  AliasPiece p{gpa, size, hva, *alias};
  auto reg = router_->uffd().register_wp(*alias, size);
  if (!reg) {
    // e.g. a file that is not shmem: userfaultfd cannot protect its pages.
    log::debug("space {}: no write protection for [{:#x}, {:#x}): {}", id_, hva, hva + size, reg.error().describe());
    kvm::drop_alias(*alias, size);
    return std::nullopt;
  }
  return p;
}

bool Space::set_write_protect(const std::vector<AliasPiece>& pieces, bool on) {
  for (const auto& p : pieces) {
    if (auto st = router_->uffd().write_protect(p.alias, p.size, on); !st) {
      set_last_error(st.error().describe());
      return false;
    }
  }
  return true;
}

void Space::restore_write_protect(uint64_t gpa, uint64_t size) {
  for (const auto& e : pages_.extents_in(gpa, gpa + size)) {
    if (!set_write_protect(aliases_.in(e.gpa, e.end()), !(e.perms & kPermWrite)))
      log::error("space {}: cannot restore write protection of [{:#x}, {:#x})", id_, e.gpa, e.end());
  }
}

void Space::resync_write_protect(uint64_t gpa) {
  uint64_t page = gpa & ~(kPageSize - 1);
  auto e = pages_.lookup(page);
  if (!e) return;
  if (auto pieces = aliases_.in(page, page + kPageSize); !pieces.empty() &&
      !set_write_protect(pieces, !(e->perms & kPermWrite)))
    log::error("space {}: cannot resync write protection of page {:#x}", id_, page);
}

bool Space::covered_by_aliases(const std::vector<AliasPiece>& pieces, uint64_t size) {
  uint64_t n = 0;
  for (const auto& p : pieces) n += p.size;
  return n == size;
}

bool Space::stays_accessible(uint64_t gpa, uint64_t size, uint8_t perms) const {
  if (perms == 0) return false;
  for (const auto& e : pages_.extents_in(gpa, gpa + size))
    if (e.perms == 0) return false;
  return true;
}

bool Space::promote_run(uint64_t at) {
  auto e = pages_.extent_at(at);
  if (!e) return false;
  uint64_t hva_at = e->hva + (at - e->gpa);
  auto vma = kvm::shared_range_at(hva_at);
  if (!vma) return false;  // private memory: the memslot path
  // The run around `at`: contiguous in guest and host addresses, inside
  // that one host mapping, not aliased yet.
  uint64_t lo_limit = at - (hva_at - vma->start), hi_limit = at + (vma->end - hva_at);
  uint64_t lo = e->gpa, hi = e->end();
  while (lo > lo_limit) {
    auto l = pages_.extent_at(lo - 1);
    if (!l || l->hva + l->size != hva_at - (at - lo) || !aliases_.in(lo - 1, lo).empty()) break;
    lo = l->gpa;
  }
  while (hi < hi_limit) {
    auto r = pages_.extent_at(hi);
    if (!r || r->hva != hva_at + (hi - at) || !aliases_.in(hi, hi + 1).empty()) break;
    hi = r->end();
  }
  lo = std::max(lo, lo_limit);
  hi = std::min(hi, hi_limit);
  uint64_t hva_lo = hva_at - (at - lo);
  auto piece = make_alias(*vma, hva_lo, lo, hi - lo);
  if (!piece) return false;
  // Pages that may not be written are protected before KVM can reach them.
  for (const auto& x : pages_.extents_in(lo, hi)) {
    if (x.perms & kPermWrite) continue;
    if (!router_->uffd().write_protect(piece->alias + (x.gpa - lo), x.size, true)) {
      kvm::drop_alias(piece->alias, piece->size);
      return false;
    }
  }
  aliases_.add(*piece);
  // Move the run's memslots onto the alias (one rebuild, one refault).
  hv_return_t r = update(lo, hi, [](const std::vector<Extent>& cur) { return cur; }, /*may_leave_stricter=*/false);
  if (r != HV_SUCCESS) {
    aliases_.erase(lo, hi - lo);
    return false;
  }
  log::debug("space {}: [{:#x}, {:#x}) now write-protected through userfaultfd", id_, lo, hi);
  return true;
}

void Space::promote(uint64_t gpa, uint64_t size) {
  uint64_t cur = gpa, end = gpa + size;
  while (cur < end) {
    auto pieces = aliases_.in(cur, end);
    if (!pieces.empty() && pieces.front().gpa == cur) {
      cur = pieces.front().end();
      continue;
    }
    uint64_t stop = pieces.empty() ? end : pieces.front().gpa;
    if (!promote_run(cur)) {
      // Not aliasable (private memory): leave this extent to the memslots.
      auto e = pages_.extent_at(cur);
      cur = e ? std::min(stop, e->end()) : stop;
    }
  }
}

hv_return_t Space::map(uint64_t hva, uint64_t gpa, uint64_t size, uint8_t perms) {
  if (!pages_.is_free(gpa, size)) {
    set_last_error(fmt::format("hv_vm_map: [{:#x}, {:#x}) overlaps an existing mapping", gpa, gpa + size));
    return HV_ERROR;
  }
  Extent e{gpa, size, hva, perms};
  hv_return_t r = update(gpa, gpa + size, [&](const std::vector<Extent>& cur) { return apply_insert(cur, e); });
  if (r == HV_SUCCESS) pages_.insert(e);
  return r;
}

hv_return_t Space::unmap(uint64_t gpa, uint64_t size) {
  // Pages never mapped are already unmapped: success, as on macOS (QEMU's
  // hvf memory listener unmaps sections it never mapped and asserts it).
  if (pages_.is_free(gpa, size)) return HV_SUCCESS;
  hv_return_t r =
      update(gpa, gpa + size, [&](const std::vector<Extent>& cur) { return apply_erase(cur, gpa, size); });
  if (r == HV_SUCCESS) {
    pages_.erase(gpa, size);
    aliases_.erase(gpa, size);  // after the memslots that used them
  }
  return r;
}

hv_return_t Space::protect(uint64_t gpa, uint64_t size, uint8_t perms) {
  if (!pages_.is_fully_mapped(gpa, size)) {
    set_last_error(fmt::format("hv_vm_protect: [{:#x}, {:#x}) is not entirely mapped", gpa, gpa + size));
    return HV_ERROR;
  }
  // Shared memory losing write access moves, once, to the userfaultfd path.
  bool wp_on = !(perms & kPermWrite);
  if (wp_on && router_) promote(gpa, size);
  // Aliased pages change their write protection first: for them a change
  // between read-only and writable is this alone (no memslot changes).
  auto pieces = aliases_.in(gpa, gpa + size);
  if (!pieces.empty() && !set_write_protect(pieces, wp_on)) {
    restore_write_protect(gpa, size);
    return HV_ERROR;
  }
  // Accessible before and after, all through aliases: KVM's view (one
  // writable slot) does not change, so skip compiling the span, whose
  // extents may be as many as the VMM's scattered read-only pages.
  hv_return_t r = HV_SUCCESS;
  if (!covered_by_aliases(pieces, size) || !stays_accessible(gpa, size, perms))
    r = update(gpa, gpa + size, [&](const std::vector<Extent>& cur) { return apply_protect(cur, gpa, size, perms); });
  if (r != HV_SUCCESS) {
    if (!pieces.empty()) restore_write_protect(gpa, size);
    return r;
  }
  pages_.protect(gpa, size, perms);
  if (!wp_on)
    for (const auto& p : pieces) router_->undemote(p.alias, p.size);
  return r;
}

}  // namespace hvshim::hv
