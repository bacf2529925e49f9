// Memory cases: map/unmap, single-page protect toggles, the guest re-walk
// after them, and the dirty-tracking pass.
#include <Hypervisor/hv.h>
#include <hvshim/hvshim.h>
#include <sys/mman.h>

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "harness.h"

namespace hvbench {
namespace {

constexpr hv_memory_flags_t kRWX = HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC;
constexpr hv_memory_flags_t kRX = HV_MEMORY_READ | HV_MEMORY_EXEC;

std::string hv_err(const char* what, hv_return_t r) {
  return fmt::format("{} returned {:#x}: {}", what, r, hvshim_last_error());
}

// k distinct page indices out of n, in random order.
std::vector<uint64_t> pick_pages(std::mt19937_64& rng, uint64_t n, uint64_t k) {
  std::vector<uint64_t> out;
  if (k * 4 >= n) {
    out.resize(n);
    std::iota(out.begin(), out.end(), 0);
    std::shuffle(out.begin(), out.end(), rng);
    out.resize(std::min(k, n));
    return out;
  }
  std::vector<uint64_t> seen;
  std::uniform_int_distribution<uint64_t> d(0, n - 1);
  while (out.size() < k) {
    uint64_t p = d(rng);
    if (std::find(seen.begin(), seen.end(), p) != seen.end()) continue;
    seen.push_back(p);
    out.push_back(p);
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------
// map_unmap_2m: hv_vm_map + hv_vm_unmap of 2 MiB vs raw slot add + delete.
void case_map_unmap(Env& env, const Config& cfg, std::vector<Result>& out) {
  Result r;
  r.name = "map_unmap_2m";
  std::string err;
  auto buf = HostBuf::make(2ull << 20, false, &err);
  if (!buf) {
    r.status = "failed: " + err;
    out.push_back(r);
    return;
  }
  memset(buf->p, 1, buf->size);
  Samples shim, native;
  const uint32_t slot = env.raw_slot(10);
  unsigned warm = 20;
  for (unsigned i = 0; i < cfg.map_iters + warm; ++i) {
    int64_t t0 = now_ns();
    hv_return_t a = hv_vm_map(buf->p, kMapGpa, buf->size, kRWX);
    hv_return_t b = a == HV_SUCCESS ? hv_vm_unmap(kMapGpa, buf->size) : a;
    int64_t t1 = now_ns();
    if (a != HV_SUCCESS || b != HV_SUCCESS) {
      r.status = "failed: " + hv_err(a != HV_SUCCESS ? "hv_vm_map" : "hv_vm_unmap", a != HV_SUCCESS ? a : b);
      out.push_back(r);
      return;
    }
    int64_t t2 = now_ns();
    auto s1 = env.raw_vm->set_memslot({slot, kMapGpa, buf->size, reinterpret_cast<uint64_t>(buf->p), false});
    auto s2 = env.raw_vm->delete_memslot(slot);
    int64_t t3 = now_ns();
    if (!s1 || !s2) {
      r.status = "failed: raw slot: " + (!s1 ? s1.error().describe() : s2.error().describe());
      out.push_back(r);
      return;
    }
    if (i < warm) continue;
    shim.add(static_cast<double>(t1 - t0));
    native.add(static_cast<double>(t3 - t2));
  }
  r.shim_ns = shim.median();
  r.native_ns = native.median();
  r.note = fmt::format("per map+unmap pair, median of {} interleaved pairs. shim: {}; raw: {}", shim.size(),
                       shim.summary(), native.summary());
  out.push_back(r);
}

// ---------------------------------------------------------------------------
// protect_page_toggle[_private] and protect_refault[_private].
//
// A mapping of cfg.toggle_bytes (1 GiB) is mapped in both VMs (the same host
// pages back the shim's mapping and the raw slot), and each guest writes
// every page once. Then, per round: both guests re-walk (steady state), the
// shim write-protects toggle_pages random pages one call each and re-enables
// them in another random order (1 000 calls), each call timed; interleaved
// with each call, one raw 4 KiB slot add is timed in the raw VM. Then the
// shim-side guest re-walks its working set (the refault sample).
static void protect_toggle(Env& env, const Config& cfg, std::vector<Result>& out, bool shared) {
  const char* sfx = shared ? "" : "_private";
  Result tog{fmt::format("protect_page_toggle{}", sfx)};
  Result ref{fmt::format("protect_refault{}", sfx)};
  auto fail = [&](const std::string& why) {
    tog.status = ref.status = "failed: " + why;
    out.push_back(tog);
    out.push_back(ref);
  };
  std::string err;
  auto buf = HostBuf::make(cfg.toggle_bytes, shared, &err);
  if (!buf) return fail(err);
  const uint64_t pages = buf->size / kPage;
  const uint64_t hva = reinterpret_cast<uint64_t>(buf->p);
  const uint32_t ws_slot = env.raw_slot(0);
  if (hv_return_t r = hv_vm_map(buf->p, kWsGpa, buf->size, kRWX); r != HV_SUCCESS) return fail(hv_err("hv_vm_map", r));
  if (auto st = env.raw_vm->set_memslot({ws_slot, kWsGpa, buf->size, hva, false}); !st) {
    hv_vm_unmap(kWsGpa, buf->size);
    return fail("raw slot: " + st.error().describe());
  }
  struct Cleanup {
    Env& env;
    uint64_t size;
    uint32_t slot;
    ~Cleanup() {
      hv_vm_unmap(kWsGpa, size);
      (void)env.raw_vm->delete_memslot(slot);
    }
  } cleanup{env, buf->size, ws_slot};

  // First touch: the shim's guest faults the host pages in; the raw guest
  // then maps the already-populated pages.
  int64_t first_shim = env.shim_guest->walk(kWsGpa, pages, true, &err);
  int64_t first_raw = first_shim < 0 ? -1 : env.raw_guest->walk(kWsGpa, pages, true, &err);
  if (first_shim < 0 || first_raw < 0) return fail("guest first touch: " + err);

  Samples calls, prot, unprot, raw_add, shim_steady, raw_steady, refault, raw_refault;
  for (unsigned round = 0; round < cfg.toggle_rounds; ++round) {
    for (int k = 0; k < 2; ++k) {  // the second walk of each is the steady sample
      int64_t a = env.shim_guest->walk(kWsGpa, pages, true, &err);
      int64_t b = a < 0 ? -1 : env.raw_guest->walk(kWsGpa, pages, true, &err);
      if (a < 0 || b < 0) return fail("guest walk: " + err);
      if (k == 1) {
        shim_steady.add(static_cast<double>(a));
        raw_steady.add(static_cast<double>(b));
      }
    }
    std::vector<uint64_t> set = pick_pages(env.rng, pages, cfg.toggle_pages);
    std::vector<uint64_t> order2 = set;
    std::shuffle(order2.begin(), order2.end(), env.rng);
    for (int phase = 0; phase < 2; ++phase) {
      for (uint64_t p : phase == 0 ? set : order2) {
        int64_t t0 = now_ns();
        hv_return_t r = hv_vm_protect(kWsGpa + p * kPage, kPage, phase == 0 ? kRX : kRWX);
        int64_t t1 = now_ns();
        if (r != HV_SUCCESS) return fail(hv_err("hv_vm_protect", r));
        double d = static_cast<double>(t1 - t0);
        calls.add(d);
        (phase == 0 ? prot : unprot).add(d);
        int64_t ra = env.raw_page_add(hva + p * kPage);
        if (ra < 0) return fail("raw 4 KiB slot add failed");
        raw_add.add(static_cast<double>(ra));
      }
    }
    int64_t w = env.shim_guest->walk(kWsGpa, pages, true, &err);
    if (w < 0) return fail("guest re-walk: " + err);
    refault.add(static_cast<double>(w));
    // Yardstick for what a full refault costs in raw KVM: drop and re-add
    // the raw VM's slot (quirk off: only that slot is zapped), re-walk.
    (void)env.raw_vm->delete_memslot(ws_slot);
    if (auto st = env.raw_vm->set_memslot({ws_slot, kWsGpa, buf->size, hva, false}); !st)
      return fail("raw slot re-add: " + st.error().describe());
    int64_t rw = env.raw_guest->walk(kWsGpa, pages, true, &err);
    if (rw < 0) return fail("raw re-walk: " + err);
    raw_refault.add(static_cast<double>(rw));
  }
  size_t slots_after = env.shim_slot_count();

  tog.shim_ns = calls.median();
  tog.native_ns = raw_add.median();
  tog.note = fmt::format(
      "{} MiB {} mapping, guest-touched; per hv_vm_protect call on one random 4 KiB page (median), vs one raw "
      "4 KiB KVM slot add. protect RX: {}; re-enable RWX: {}; all calls: {}; raw add: {}; shim slots after: {}",
      buf->size >> 20, shared ? "memfd MAP_SHARED" : "private anonymous", prot.summary(), unprot.summary(),
      calls.summary(), raw_add.summary(), slots_after);
  ref.shim_ns = refault.median();
  ref.native_ns = raw_steady.median();
  ref.note = fmt::format(
      "guest write-walk of its {} MiB working set ({} pages) after {} hv_vm_protect calls, vs the raw VM's "
      "walk with none. shim after calls: {}; raw steady: {}; raw full refault (slot deleted+re-added): {}; shim "
      "steady before calls: {}; first touch: shim-side {} (host cold), raw {} (host warm)",
      buf->size >> 20, pages, 2 * cfg.toggle_pages, refault.summary(1e6, "ms"), raw_steady.summary(1e6, "ms"),
      raw_refault.summary(1e6, "ms"),
      shim_steady.summary(1e6, "ms"), fmt_ns(static_cast<double>(first_shim)), fmt_ns(static_cast<double>(first_raw)));
  out.push_back(tog);
  out.push_back(ref);
}

void case_protect_toggle(Env& env, const Config& cfg, std::vector<Result>& out) {
  protect_toggle(env, cfg, out, true);
}
void case_protect_toggle_private(Env& env, const Config& cfg, std::vector<Result>& out) {
  protect_toggle(env, cfg, out, false);
}

// ---------------------------------------------------------------------------
// dirty_pass_<size>: QEMU-style dirty tracking over a whole mapping: one
// hv_vm_protect(RX) of the mapping, then re-enable write one 4 KiB page at a
// time in random order until every page is writable again. shim_ns is the
// total; native_ns prices the same number of calls at one raw 4 KiB slot add
// each (median measured in this case), so the ratio is "average cost per
// call in raw slot adds" and must stay flat if the pass scales linearly.
void case_dirty_pass(Env& env, const Config& cfg, std::vector<Result>& out) {
  for (uint64_t size : cfg.dirty_sizes) {
    Result r{fmt::format("dirty_pass_{}m", size >> 20)};
    std::string err;
    auto buf = HostBuf::make(size, true, &err);
    if (!buf) {
      r.status = "failed: " + err;
      out.push_back(r);
      continue;
    }
    const uint64_t pages = size / kPage;
    const uint64_t hva = reinterpret_cast<uint64_t>(buf->p);
    if (hv_return_t e = hv_vm_map(buf->p, kWsGpa, size, kRWX); e != HV_SUCCESS) {
      r.status = "failed: " + hv_err("hv_vm_map", e);
      out.push_back(r);
      continue;
    }
    // The raw VM maps and touches the same memory, so its slot adds (the
    // yardstick) are taken in the same state as in protect_page_toggle.
    const uint32_t ws_slot = env.raw_slot(0);
    auto raw_st = env.raw_vm->set_memslot({ws_slot, kWsGpa, size, hva, false});
    if (!raw_st || env.shim_guest->walk(kWsGpa, pages, true, &err) < 0 ||
        env.raw_guest->walk(kWsGpa, pages, true, &err) < 0) {
      r.status = "failed: " + (raw_st ? "guest walk: " + err : "raw slot: " + raw_st.error().describe());
      hv_vm_unmap(kWsGpa, size);
      if (raw_st) (void)env.raw_vm->delete_memslot(ws_slot);
      out.push_back(r);
      continue;
    }
    std::vector<uint64_t> order(pages);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), env.rng);

    // Each call is timed; every 16th call a raw 4 KiB slot add is timed
    // in the raw VM, interleaved (the yardstick, in the same conditions).
    std::vector<Samples> tenth_calls(10);
    Samples raw_add;
    size_t max_slots = 0, done = 0;
    std::string failure, mid_walk;
    int64_t t0 = now_ns();
    hv_return_t e = hv_vm_protect(kWsGpa, size, kRX);
    int64_t t_protect = now_ns() - t0;
    double total = static_cast<double>(t_protect);
    if (e != HV_SUCCESS) failure = hv_err("hv_vm_protect(whole mapping, RX)", e);
    for (uint64_t i = 0; failure.empty() && i < pages; ++i) {
      int64_t a = now_ns();
      e = hv_vm_protect(kWsGpa + order[i] * kPage, kPage, kRWX);
      double d = static_cast<double>(now_ns() - a);
      if (e != HV_SUCCESS) {
        failure = hv_err("hv_vm_protect(page, RWX)", e) +
                  fmt::format(" after {} of {} pages, {} shim slots", i, pages, env.shim_slot_count());
        break;
      }
      ++done;
      total += d;
      tenth_calls[i * 10 / pages].add(d);
      if ((i & 15) == 15) {
        int64_t ra = env.raw_page_add(hva + order[i] * kPage);
        if (ra >= 0) raw_add.add(static_cast<double>(ra));
      }
      if ((i & 1023) == 1023) max_slots = std::max(max_slots, env.shim_slot_count());
      if (i + 1 == pages / 2 && env.shim_slot_count() + 64 >= env.shim_slot_limit()) {
        // Half-way, with the memslots exhausted: a guest write-walk shows
        // how many pages the VMM made writable still exit on every write
        // (exits beyond the pages that are still write-protected).
        uint64_t ex = 0;
        int64_t t = env.shim_guest->walk(kWsGpa, pages, true, &err, &ex);
        if (t >= 0)
          mid_walk = fmt::format(
              "; half-way guest write-walk ({} pages writable, {} protected): {} writes exited, {} of them to "
              "pages already made writable, walk {}",
              done, pages - done, ex, ex > pages - done ? ex - (pages - done) : 0, fmt_ns(static_cast<double>(t)));
      }
    }
    // What the guest pays afterwards: its write-walk over the mapping the
    // VMM now believes writable, vs the raw VM's steady walk. Writes that
    // still exit (KVM layout left stricter than asked) are counted.
    uint64_t exits = 0;
    int64_t post = failure.empty() ? env.shim_guest->walk(kWsGpa, pages, true, &err, &exits) : -1;
    int64_t raw_walk = env.raw_guest->walk(kWsGpa, pages, true, &err);
    hv_vm_unmap(kWsGpa, size);
    for (int i = 0; raw_add.size() < 50 && i < 200; ++i) {  // small passes: top up the yardstick
      int64_t ra = env.raw_page_add(hva + (i % pages) * kPage);
      if (ra >= 0) raw_add.add(static_cast<double>(ra));
    }
    (void)env.raw_vm->delete_memslot(ws_slot);
    r.shim_ns = total;
    r.native_ns = raw_add.median() * static_cast<double>(done + 1);
    std::string dec;
    for (const auto& t : tenth_calls) dec += t.empty() ? " -" : fmt::format(" {:.0f}", t.median() / 1e3);
    r.note = fmt::format(
        "{} MiB memfd mapping ({} pages), guest-touched: protect RX whole ({}), then {} single-page RWX calls in "
        "random order; mean per call {:.1f} us; median us per call in each tenth of the pass:{}; max shim slots {}; "
        "native = {} calls x median raw 4 KiB slot add ({})",
        size >> 20, pages, fmt_ns(static_cast<double>(t_protect)), done,
        (total - static_cast<double>(t_protect)) / 1e3 / static_cast<double>(std::max<size_t>(done, 1)), dec,
        max_slots, done + 1, raw_add.summary());
    if (max_slots >= env.shim_slot_limit())
      r.note += fmt::format("; the memslot limit ({}) was reached: calls past it leave KVM stricter than the page map",
                            env.shim_slot_limit());
    r.note += mid_walk;
    if (!failure.empty()) r.status = "failed: " + failure;
    out.push_back(r);

    Result w(fmt::format("dirty_pass_{}m_rewalk", size >> 20));
    w.shim_ns = post >= 0 ? static_cast<double>(post) : NAN;
    w.native_ns = raw_walk >= 0 ? static_cast<double>(raw_walk) : NAN;
    if (post < 0) w.status = failure.empty() ? "failed: shim-side walk: " + err : "skipped: the pass failed";
    w.note = fmt::format(
        "guest write-walk of the {} MiB mapping after the pass (every page RWX again) vs the raw VM's steady walk; "
        "includes the refault of every rebuilt 2 MiB chunk; writes that still exited to userspace: {} of {} pages",
        size >> 20, exits, pages);
    out.push_back(w);
  }
}

}  // namespace hvbench

namespace hvbench {

// ---------------------------------------------------------------------------
// Scaling with the number of existing mappings: map_unmap_2m_at_<N> and
// protect_page_toggle_at_<N>. Both VMs first get N extra 4 KiB mappings
// (the shim: N hv_vm_map calls at non-adjacent GPAs, so N memslots; raw: N
// 4 KiB slots), then the shim's calls and the raw yardstick run at the same
// slot count, interleaved.
void case_scaling(Env& env, const Config& cfg, std::vector<Result>& out) {
  constexpr uint64_t kFillGpa = 20ull << 30;
  constexpr uint64_t kStride = 2 * kPage;
  for (unsigned n : cfg.scaling_counts) {
    Result mu(fmt::format("map_unmap_2m_at_{}", n));
    Result pt(fmt::format("protect_page_toggle_at_{}", n));
    auto fail = [&](const std::string& why) {
      mu.status = pt.status = "failed: " + why;
      out.push_back(mu);
      out.push_back(pt);
    };
    std::string err;
    auto fill = HostBuf::make(std::max<uint64_t>(n, 1) * kPage, true, &err);
    auto big = HostBuf::make(2ull << 20, true, &err);
    auto ws = HostBuf::make(2ull << 20, true, &err);
    if (!fill || !big || !ws) return fail(err);
    memset(big->p, 1, big->size);
    unsigned shim_done = 0, raw_done = 0;
    const uint32_t first_raw = env.raw_slot(200);  // ids 201.. (fixed ids below 200 are in use)
    auto cleanup = [&] {
      for (unsigned i = 0; i < shim_done; ++i) hv_vm_unmap(kFillGpa + i * kStride, kPage);
      for (unsigned i = 0; i < raw_done; ++i) (void)env.raw_vm->delete_memslot(first_raw + i);
    };
    for (unsigned i = 0; i < n; ++i, ++shim_done) {
      auto* p = static_cast<uint8_t*>(fill->p) + uint64_t(i) * kPage;
      if (hv_return_t e = hv_vm_map(p, kFillGpa + i * kStride, kPage, kRWX); e != HV_SUCCESS) {
        cleanup();
        return fail(hv_err("hv_vm_map (filler)", e) + fmt::format(" at {}", i));
      }
    }
    for (unsigned i = 0; i < n; ++i, ++raw_done) {
      uint64_t hva = reinterpret_cast<uint64_t>(fill->p) + uint64_t(i) * kPage;
      if (auto st = env.raw_vm->set_memslot({first_raw + i, kFillGpa + i * kStride, kPage, hva, false}); !st) {
        cleanup();
        return fail("raw filler slot: " + st.error().describe() + fmt::format(" at {}", i));
      }
    }
    size_t shim_slots = env.shim_slot_count();

    // map/unmap 2 MiB.
    Samples ms, mr;
    const uint32_t big_slot = env.raw_slot(10);
    for (unsigned i = 0; i < cfg.scaling_iters + 10; ++i) {
      int64_t t0 = now_ns();
      hv_return_t a = hv_vm_map(big->p, kMapGpa, big->size, kRWX);
      hv_return_t b = a == HV_SUCCESS ? hv_vm_unmap(kMapGpa, big->size) : a;
      int64_t t1 = now_ns();
      auto s1 = env.raw_vm->set_memslot({big_slot, kMapGpa, big->size, reinterpret_cast<uint64_t>(big->p), false});
      auto s2 = env.raw_vm->delete_memslot(big_slot);
      int64_t t2 = now_ns();
      if (a != HV_SUCCESS || b != HV_SUCCESS || !s1 || !s2) {
        mu.status = "failed: " + (a != HV_SUCCESS || b != HV_SUCCESS ? hv_err("hv_vm_map/unmap", a ? a : b)
                                                                     : std::string("raw slot add/delete"));
        break;
      }
      if (i < 10) continue;
      ms.add(static_cast<double>(t1 - t0));
      mr.add(static_cast<double>(t2 - t1));
    }
    if (mu.status == "ok") {
      mu.shim_ns = ms.median();
      mu.native_ns = mr.median();
      mu.note = fmt::format("hv_vm_map+hv_vm_unmap of 2 MiB with {} shim memslots installed vs raw slot add+delete "
                            "with {} raw slots. shim: {}; raw: {}",
                            shim_slots, n + 1, ms.summary(), mr.summary());
    }

    // Single-page protect toggles in a guest-touched 2 MiB mapping.
    Samples ps, pr;
    if (hv_return_t e = hv_vm_map(ws->p, kWsGpa, ws->size, kRWX); e != HV_SUCCESS) {
      pt.status = "failed: " + hv_err("hv_vm_map", e);
    } else {
      const uint64_t pages = ws->size / kPage;
      if (env.shim_guest->walk(kWsGpa, pages, true, &err) < 0) pt.status = "failed: guest walk: " + err;
      for (unsigned i = 0; i < cfg.scaling_iters && pt.status == "ok"; ++i) {
        uint64_t p = std::uniform_int_distribution<uint64_t>(0, pages - 1)(env.rng);
        for (hv_memory_flags_t f : {kRX, kRWX}) {
          int64_t t0 = now_ns();
          hv_return_t e = hv_vm_protect(kWsGpa + p * kPage, kPage, f);
          int64_t t1 = now_ns();
          if (e != HV_SUCCESS) {
            pt.status = "failed: " + hv_err("hv_vm_protect", e);
            break;
          }
          ps.add(static_cast<double>(t1 - t0));
          int64_t ra = env.raw_page_add(reinterpret_cast<uint64_t>(ws->p) + p * kPage);
          if (ra >= 0) pr.add(static_cast<double>(ra));
        }
      }
      hv_vm_unmap(kWsGpa, ws->size);
    }
    if (pt.status == "ok") {
      pt.shim_ns = ps.median();
      pt.native_ns = pr.median();
      pt.note = fmt::format("hv_vm_protect of one random 4 KiB page of a guest-touched 2 MiB mapping (RX, then RWX) "
                            "with {} other mappings vs a raw 4 KiB slot add with {} raw slots. shim: {}; raw: {}",
                            n, n + 1, ps.summary(), pr.summary());
    }
    cleanup();
    out.push_back(mu);
    out.push_back(pt);
  }
}

}  // namespace hvbench
