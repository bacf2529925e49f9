// hvbench's small harness: one result per case (shim vs native, measured in
// the same run), sample statistics, and the shared environment (the shim's
// VM with a raw guest vCPU in its space 0, and a raw KVM VM with its own).
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "guest64.h"
#include "kvm/system.h"
#include "kvm/vm.h"

namespace hvbench {

struct Result {
  explicit Result(std::string n = {}) : name(std::move(n)) {}
  std::string name;
  double shim_ns = NAN;    // per-call / per-pass figure for the shim
  double native_ns = NAN;  // the raw KVM (or raw host) yardstick
  std::string status = "ok";  // "ok", "skipped: …" or "failed: …"
  std::string note;           // what was measured, spread, extra figures
  double ratio() const { return shim_ns / native_ns; }
};

struct Config {
  bool quick = false;
  uint64_t toggle_bytes = 1ull << 30;  // protect_page_toggle mapping
  unsigned toggle_pages = 500;         // pages per round: 500 protect + 500 unprotect = 1 000 calls
  unsigned toggle_rounds = 3;
  unsigned map_iters = 2000;
  std::vector<uint64_t> dirty_sizes = {64ull << 20, 256ull << 20, 1ull << 30};
  unsigned cycle_iters = 1000;
  unsigned log_iters = 20000;
  std::vector<unsigned> scaling_counts = {1, 1024, 32000};
  unsigned scaling_iters = 300;
  unsigned refault_iters = 100;            // protect_refault_at_N: toggle + re-walk rounds per N
  uint64_t touch_bytes = 256ull << 20;     // guest_touch_256m
  unsigned touch_rounds = 5;               // fresh memory per round (first touch), 3 re-touches each
  unsigned space_mappings = 1024;          // space_switch: mappings per space
  unsigned switch_iters = 1000;
  unsigned mach_blocks = 20;               // mach_allocate: blocks of 1 000 cycles
  uint64_t mach_copy_bytes = 64ull << 20;  // mach_copy_64m, mach_read_64m
  unsigned mach_copy_iters = 20;
  unsigned region_count = 10000;           // mach_region_walk_10k
  unsigned region_walks = 20;
};

inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Sample set: median, quartiles, mean.
class Samples {
 public:
  void add(double v) { v_.push_back(v); }
  size_t size() const { return v_.size(); }
  bool empty() const { return v_.empty(); }
  double median() const { return quantile(0.5); }
  double quantile(double q) const;
  double mean() const;
  double sum() const;
  std::string summary(double scale = 1e3, const char* unit = "us") const;  // "med 12.3 [p25 11 p75 14] n=…"

 private:
  std::vector<double> v_;
};

// Guest-physical layout used by all cases (both VMs).
inline constexpr uint64_t kWsGpa = 4ull << 30;      // working sets (up to 1 GiB)
inline constexpr uint64_t kMapGpa = 8ull << 30;     // map_unmap_2m
inline constexpr uint64_t kProbeGpa = 12ull << 30;  // raw 4 KiB slot adds
inline constexpr uint64_t kCycleGpa = 16ull << 30;  // dirty_cycle page
inline constexpr uint64_t kRefaultFillGpa = 24ull << 30;  // protect_refault_at_N's other mappings (8 KiB apart)
inline constexpr uint64_t kTagGpa = 26ull << 30;    // space_switch: a page that says which space the guest is in
inline constexpr uint64_t kMmioGpa = 28ull << 30;   // exit_roundtrip_mmio: never mapped in either VM
inline constexpr uint64_t kSpaceFillGpa = 30ull << 30;  // space_switch's other mappings (8 KiB apart)
inline constexpr uint64_t kPage = 4096;

class Env {
 public:
  static std::unique_ptr<Env> create(std::string* err);
  // No VM, no guests: for the cases that need no KVM (Mach VM).
  static std::unique_ptr<Env> without_kvm() { return std::unique_ptr<Env>(new Env()); }
  ~Env();

  SysImage img;
  // The shim: hv_vm_create'd VM; a raw vCPU (id >= 200) in its space 0 runs
  // the guest so guest-side costs of the shim's slot layout are visible.
  std::unique_ptr<Guest> shim_guest;
  // Raw KVM: our own VM (zap-all quirk disabled, like the shim's), with the
  // same SysImage in slot 0 and a guest vCPU.
  std::optional<hvshim::kvm::System> raw_sys;
  std::optional<hvshim::kvm::Vm> raw_vm;
  bool raw_zap_off = false;
  bool shim_zap_off = false;
  std::unique_ptr<Guest> raw_guest;

  uint32_t raw_slot(uint32_t i) const { return 1 + i; }  // slots 1.. for cases
  // One timed raw 4 KiB slot add (the per-call yardstick); the delete that
  // follows is not timed. Returns ns or -1.
  int64_t raw_page_add(uint64_t hva);
  size_t shim_slot_count() const;
  size_t shim_slot_limit() const;  // memslots KVM gives the shim's space 0

  // One hv vCPU for the whole run (owned by the main thread), created by the
  // first case that needs it; -1 until then.
  int64_t hv_vcpu = -1;
  std::string hv_vcpu_error;

  std::mt19937_64 rng{0x68766265};

 private:
  Env() = default;
};

// Host memory for guest working sets.
struct HostBuf {
  void* p = nullptr;
  uint64_t size = 0;
  int fd = -1;
  HostBuf() = default;
  HostBuf(const HostBuf&) = delete;
  HostBuf& operator=(const HostBuf&) = delete;
  ~HostBuf();
  // shared=true: a memfd mapped MAP_SHARED (what the shim's own allocator,
  // mach_vm_allocate, hands out); false: plain private anonymous memory.
  static std::unique_ptr<HostBuf> make(uint64_t size, bool shared, std::string* err);
};

using CaseFn = void (*)(Env&, const Config&, std::vector<Result>&);

void case_map_unmap(Env&, const Config&, std::vector<Result>&);
void case_protect_toggle(Env&, const Config&, std::vector<Result>&);
void case_protect_toggle_private(Env&, const Config&, std::vector<Result>&);
void case_scaling(Env&, const Config&, std::vector<Result>&);
void case_dirty_pass(Env&, const Config&, std::vector<Result>&);
void case_exit_roundtrip(Env&, const Config&, std::vector<Result>&);
void case_dirty_cycle(Env&, const Config&, std::vector<Result>&);
void case_log_overhead(Env&, const Config&, std::vector<Result>&);
void case_exit_mmio(Env&, const Config&, std::vector<Result>&);
void case_space_switch(Env&, const Config&, std::vector<Result>&);
void case_guest_touch(Env&, const Config&, std::vector<Result>&);
void case_refault_scaling(Env&, const Config&, std::vector<Result>&);
void case_mach_allocate(Env&, const Config&, std::vector<Result>&);
void case_mach_copy(Env&, const Config&, std::vector<Result>&);
void case_mach_read(Env&, const Config&, std::vector<Result>&);
void case_mach_region_walk(Env&, const Config&, std::vector<Result>&);

std::string fmt_ns(double ns);

}  // namespace hvbench
