// protect_refault_at_<N>: what the guest pays after a single-page protect
// toggle, against the number of other mappings installed (the re-walk
// series of the protect-scaling plot; protect_page_toggle_at_<N> in
// cases_memory.cpp is the call-cost series, set up the same way).
//
// Both VMs get N other 4 KiB mappings (shim: N hv_vm_map calls 8 KiB apart,
// so N memslots; raw: N 4 KiB slots) and a guest-touched 2 MiB memfd
// MAP_SHARED mapping backed by the same host pages on both sides. Per
// round: hv_vm_protect one random page RX and back to RWX (untimed), then
// the shim-side guest's write-walk of the 2 MiB (timed: the refault of
// whatever the toggle made KVM drop) and, interleaved, the raw guest's walk
// of the same memory with nothing changed (steady state, native_ns). The
// note adds the raw VM's walk right after its 2 MiB slot was deleted and
// re-added: the full refault of one chunk in raw KVM.
#include <hvshim/hvshim.h>

#include <algorithm>

#include <fmt/format.h>

#include "harness.h"
#include "vcpu_api.h"

namespace hvbench {

void case_refault_scaling(Env& env, const Config& cfg, std::vector<Result>& out) {
  constexpr uint64_t kStride = 2 * kPage;
  constexpr uint64_t kWsSize = 2ull << 20;
  for (unsigned n : cfg.scaling_counts) {
    Result r(fmt::format("protect_refault_at_{}", n));
    std::string err;
    auto fill = HostBuf::make(std::max<uint64_t>(n, 1) * kPage, true, &err);
    auto ws = fill ? HostBuf::make(kWsSize, true, &err) : nullptr;
    if (!fill || !ws) {
      r.status = "failed: " + err;
      out.push_back(r);
      return;
    }
    const uint64_t ws_hva = reinterpret_cast<uint64_t>(ws->p);
    const uint32_t first_raw = env.raw_slot(200);  // ids 201.. as in case_scaling (fixed ids below 200 are in use)
    const uint32_t ws_slot = env.raw_slot(0);
    // Everything this N installed, removed however the round ends.
    struct Installed {
      Env& env;
      uint32_t first_raw, ws_slot;
      unsigned shim = 0, raw = 0;
      bool shim_ws = false, raw_ws = false;
      ~Installed() {
        for (unsigned i = 0; i < shim; ++i) hv_vm_unmap(kRefaultFillGpa + i * kStride, kPage);
        for (unsigned i = 0; i < raw; ++i) (void)env.raw_vm->delete_memslot(first_raw + i);
        if (shim_ws) hv_vm_unmap(kWsGpa, kWsSize);
        if (raw_ws) (void)env.raw_vm->delete_memslot(ws_slot);
      }
    } inst{env, first_raw, ws_slot};
    auto fail = [&](const std::string& why) {
      r.status = "failed: " + why;
      out.push_back(r);
    };

    for (; inst.shim < n; ++inst.shim) {
      void* p = static_cast<uint8_t*>(fill->p) + uint64_t(inst.shim) * kPage;
      if (hv_return_t e = hv_vm_map(p, kRefaultFillGpa + inst.shim * kStride, kPage, kRWX); e != HV_SUCCESS)
        return fail(hv_err("hv_vm_map (filler)", e) + fmt::format(" at {}", inst.shim));
    }
    for (; inst.raw < n; ++inst.raw) {
      uint64_t hva = reinterpret_cast<uint64_t>(fill->p) + uint64_t(inst.raw) * kPage;
      if (auto st = env.raw_vm->set_memslot({first_raw + inst.raw, kRefaultFillGpa + inst.raw * kStride, kPage, hva, false});
          !st)
        return fail("raw filler slot: " + st.error().describe() + fmt::format(" at {}", inst.raw));
    }
    if (hv_return_t e = hv_vm_map(ws->p, kWsGpa, kWsSize, kRWX); e != HV_SUCCESS) return fail(hv_err("hv_vm_map", e));
    inst.shim_ws = true;
    if (auto st = env.raw_vm->set_memslot({ws_slot, kWsGpa, kWsSize, ws_hva, false}); !st)
      return fail("raw slot: " + st.error().describe());
    inst.raw_ws = true;

    const uint64_t pages = kWsSize / kPage;
    // First touch (host pages) and one steady walk each before timing.
    for (int k = 0; k < 2; ++k)
      if (env.shim_guest->walk(kWsGpa, pages, true, &err) < 0 || env.raw_guest->walk(kWsGpa, pages, true, &err) < 0)
        return fail("guest walk: " + err);
    const size_t shim_slots = env.shim_slot_count();

    Samples refault, steady, raw_refault;
    auto* bytes = static_cast<uint8_t*>(ws->p);
    for (unsigned i = 0; i < cfg.refault_iters; ++i) {
      uint64_t p = std::uniform_int_distribution<uint64_t>(0, pages - 1)(env.rng);
      for (hv_memory_flags_t f : {kRX, kRWX})
        if (hv_return_t e = hv_vm_protect(kWsGpa + p * kPage, kPage, f); e != HV_SUCCESS)
          return fail(hv_err("hv_vm_protect", e));
      // The toggled page's byte, cleared on the host, must be written again
      // by the walk: the page is writable again and the walk really ran.
      bytes[p * kPage] = 0;
      int64_t w = env.shim_guest->walk(kWsGpa, pages, true, &err);
      if (w < 0) return fail("shim-side re-walk: " + err);
      if (bytes[p * kPage] != 1) return fail(fmt::format("the re-walk's write to page {} did not reach memory", p));
      refault.add(static_cast<double>(w));
      int64_t s = env.raw_guest->walk(kWsGpa, pages, true, &err);
      if (s < 0) return fail("raw walk: " + err);
      steady.add(static_cast<double>(s));
      // Raw full refault of the chunk (every 4th round: it costs a slot
      // delete and add at N slots).
      if ((i & 3) == 0) {
        (void)env.raw_vm->delete_memslot(ws_slot);
        if (auto st = env.raw_vm->set_memslot({ws_slot, kWsGpa, kWsSize, ws_hva, false}); !st)
          return fail("raw slot re-add: " + st.error().describe());
        int64_t rr = env.raw_guest->walk(kWsGpa, pages, true, &err);
        if (rr < 0) return fail("raw re-walk: " + err);
        raw_refault.add(static_cast<double>(rr));
      }
    }
    r.shim_ns = refault.median();
    r.native_ns = steady.median();
    r.note = fmt::format(
        "guest write-walk of a touched 2 MiB memfd mapping ({} pages) right after hv_vm_protect(one random page, RX) "
        "and back to RWX, with {} other mappings ({} shim memslots), vs the raw VM's walk of the same memory with "
        "nothing changed, at {} raw slots; interleaved. shim after toggle: {}; raw steady: {}; raw full refault "
        "(2 MiB slot deleted and re-added): {}",
        pages, n, shim_slots, n + 1, refault.summary(), steady.summary(), raw_refault.summary());
    out.push_back(r);
  }
}

}  // namespace hvbench
