// guest_touch_<size>_first / _retouch: the guest writes one byte per 4 KiB
// page over cfg.touch_bytes of shim-mapped memory (hv_vm_map) vs the same
// through a raw memslot.
//
// Unlike protect_refault, the two sides do NOT share host pages: each round
// gives each side its own fresh private anonymous buffer (4 KiB host pages),
// so both first touches are host-cold and pay the same host page
// allocation. Per round:
//   first touch: shim walk and raw walk, in alternating order per round;
//   re-touch:    kRetouches more walks each, interleaved (the steady state).
// Both guests are raw vCPUs (the shim side's in the shim's space 0), so the
// figure is the cost of the shim's memslot layout, not of its run loop.
// The note adds the fixed cost inside every walk figure: a one-page walk
// (one KVM_RUN to the guest's `out`) in each VM, so a difference in the
// re-touch can be told apart from one in the exit path.
// Checks: a walk must not exit for MMIO, every page's byte must reach host
// memory on the first touch, and 64 bytes cleared on the host before each
// re-touch must be written again.
#include <hvshim/hvshim.h>

#include <fmt/format.h>

#include "harness.h"
#include "vcpu_api.h"

namespace hvbench {

namespace {

constexpr unsigned kRetouches = 20;  // cheap (~1 ms each): enough samples for a stable median
constexpr unsigned kMarkers = 64;

// One side of a round: a fresh buffer mapped at kWsGpa in one VM.
struct Side {
  const char* name;
  Guest* guest;
  std::unique_ptr<HostBuf> buf;
  std::vector<uint64_t> markers;  // pages cleared before the next re-touch
};

uint64_t first_unwritten(const HostBuf& b) {
  const auto* p = static_cast<const uint8_t*>(b.p);
  for (uint64_t off = 0; off < b.size; off += kPage)
    if (p[off] != 1) return off / kPage;
  return ~0ull;
}

// One timed walk with its checks; adds to s (if any). "" or what failed.
std::string timed_walk(Side& sd, bool first, Samples* s) {
  const uint64_t pages = sd.buf->size / kPage;
  auto* p = static_cast<uint8_t*>(sd.buf->p);
  std::string err;
  int64_t t = sd.guest->walk(kWsGpa, pages, true, &err);
  if (t < 0) return fmt::format("{} walk: {}", sd.name, err);
  if (first) {
    if (uint64_t bad = first_unwritten(*sd.buf); bad != ~0ull)
      return fmt::format("{}: first touch did not reach host page {}", sd.name, bad);
  } else {
    for (uint64_t m : sd.markers)
      if (p[m * kPage] != 1) return fmt::format("{}: re-touch did not reach host page {}", sd.name, m);
  }
  if (s) s->add(static_cast<double>(t));
  return {};
}

void clear_markers(Side& sd, std::mt19937_64& rng) {
  auto* p = static_cast<uint8_t*>(sd.buf->p);
  std::uniform_int_distribution<uint64_t> d(0, sd.buf->size / kPage - 1);
  sd.markers.clear();
  for (unsigned i = 0; i < kMarkers; ++i) {
    sd.markers.push_back(d(rng));
    p[sd.markers.back() * kPage] = 0;
  }
}

}  // namespace

void case_guest_touch(Env& env, const Config& cfg, std::vector<Result>& out) {
  const uint64_t mib = cfg.touch_bytes >> 20;
  Result first(fmt::format("guest_touch_{}m_first", mib));
  Result re(fmt::format("guest_touch_{}m_retouch", mib));
  auto fail = [&](const std::string& why) {
    first.status = re.status = "failed: " + why;
    out.push_back(first);
    out.push_back(re);
  };
  const uint32_t raw_ws = env.raw_slot(40);
  Samples f_shim, f_raw, r_shim, r_raw, one_shim, one_raw;
  for (unsigned round = 0; round < cfg.touch_rounds; ++round) {
    std::string err;
    Side shim{"shim", env.shim_guest.get(), HostBuf::make(cfg.touch_bytes, false, &err), {}};
    Side raw{"raw", env.raw_guest.get(), shim.buf ? HostBuf::make(cfg.touch_bytes, false, &err) : nullptr, {}};
    if (!shim.buf || !raw.buf) return fail(err);
    if (hv_return_t e = hv_vm_map(shim.buf->p, kWsGpa, cfg.touch_bytes, kRWX); e != HV_SUCCESS)
      return fail(hv_err("hv_vm_map", e));
    auto st = env.raw_vm->set_memslot({raw_ws, kWsGpa, cfg.touch_bytes, reinterpret_cast<uint64_t>(raw.buf->p), false});
    struct Unmap {
      Env& env;
      uint64_t size;
      uint32_t slot;
      bool raw;
      ~Unmap() {
        hv_vm_unmap(kWsGpa, size);
        if (raw) (void)env.raw_vm->delete_memslot(slot);
      }
    } unmap{env, cfg.touch_bytes, raw_ws, static_cast<bool>(st)};
    if (!st) return fail("raw slot: " + st.error().describe());

    // Alternate which side goes first, so neither always runs right after
    // the other's (cache- and allocator-warming) first touch.
    Side* order[2] = {&shim, &raw};
    if (round & 1) std::swap(order[0], order[1]);
    for (Side* sd : order)
      if (std::string e = timed_walk(*sd, true, sd == &shim ? &f_shim : &f_raw); !e.empty()) return fail(e);
    for (unsigned k = 0; k < kRetouches; ++k) {
      for (Side* sd : order) {
        clear_markers(*sd, env.rng);
        if (std::string e = timed_walk(*sd, false, sd == &shim ? &r_shim : &r_raw); !e.empty()) return fail(e);
      }
    }
    for (unsigned k = 0; k < kRetouches; ++k) {
      for (Side* sd : order) {
        int64_t t = sd->guest->walk(kWsGpa, 1, true, &err);
        if (t < 0) return fail(fmt::format("{} one-page walk: {}", sd->name, err));
        (sd == &shim ? one_shim : one_raw).add(static_cast<double>(t));
      }
    }
  }
  const uint64_t pages = cfg.touch_bytes / kPage;
  first.shim_ns = f_shim.median();
  first.native_ns = f_raw.median();
  first.note = fmt::format(
      "guest write-walk (1 byte per 4 KiB page, {} pages) of fresh, host-cold private memory: hv_vm_map'd (shim) vs "
      "a raw memslot, separate buffers, order alternating per round; median over rounds. shim: {}; raw: {}; per "
      "page: shim {:.0f} ns, raw {:.0f} ns",
      pages, f_shim.summary(1e6, "ms"), f_raw.summary(1e6, "ms"), first.shim_ns / static_cast<double>(pages),
      first.native_ns / static_cast<double>(pages));
  re.shim_ns = r_shim.median();
  re.native_ns = r_raw.median();
  re.note = fmt::format(
      "the same walk again over the now-populated memory ({} re-touches per round, interleaved shim/raw). shim: {}; "
      "raw: {}; fixed cost (one-page walk = one KVM_RUN to the `out`): shim-side VM {}, raw VM {}",
      kRetouches, r_shim.summary(), r_raw.summary(), one_shim.summary(), one_raw.summary());
  out.push_back(first);
  out.push_back(re);
}

}  // namespace hvbench
