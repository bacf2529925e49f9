// hvbench: the shim vs raw KVM, side by side, measured in the same run.
//
//   hvbench [--quick] [--json FILE] [--filter REGEX] [benchmark flags…]
//
// Each case group runs as one Google Benchmark (one iteration, manual time =
// the shim figure) and sets counters for its results; the harness keeps the
// results and writes the JSON contract:
//   [{"case": …, "shim_ns": …, "native_ns": …, "ratio": …, "status": …, "note": …}, …]
// Run pinned: `taskset -c 0 hvbench …` (unpinned numbers are bimodal here).
#include <benchmark/benchmark.h>
#include <sched.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "harness.h"
#include "kvm/device_advice.h"
#include "kvm/system.h"
#include "watchdog.h"

using namespace hvbench;

namespace {

struct Group {
  const char* name;
  CaseFn fn;
  bool needs_kvm = true;
};

const Group kGroups[] = {
    {"map_unmap", case_map_unmap},
    {"protect_page_toggle", case_protect_toggle},
    {"protect_page_toggle_private", case_protect_toggle_private},
    {"scaling", case_scaling},
    {"exit_roundtrip", case_exit_roundtrip},
    {"dirty_cycle", case_dirty_cycle},
    {"dirty_pass", case_dirty_pass},
    {"log_overhead", case_log_overhead},
    {"exit_roundtrip_mmio", case_exit_mmio},
    {"space_switch", case_space_switch},
    {"guest_touch", case_guest_touch},
    {"refault_scaling", case_refault_scaling},
    {"mach_allocate", case_mach_allocate, false},
    {"mach_copy", case_mach_copy, false},
    {"mach_read", case_mach_read, false},
    {"mach_region_walk", case_mach_region_walk, false},
};

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      o += fmt::format("\\u{:04x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
    } else {
      o += c;
    }
  }
  return o;
}

std::string json_num(double v) { return std::isfinite(v) ? fmt::format("{:.1f}", v) : "null"; }
std::string json_ratio(double v) { return std::isfinite(v) ? fmt::format("{:.4f}", v) : "null"; }

bool write_json(const char* path, const std::vector<Result>& rs, const Config& cfg, const std::string& pin) {
  FILE* f = fopen(path, "w");
  if (!f) return false;
  fputs("[\n", f);
  for (size_t i = 0; i < rs.size(); ++i) {
    const Result& r = rs[i];
    fmt::print(f,
               "  {{\"case\": \"{}\", \"shim_ns\": {}, \"native_ns\": {}, \"ratio\": {}, \"status\": \"{}\", "
               "\"quick\": {}, \"cpu_affinity\": \"{}\", \"note\": \"{}\"}}{}\n",
               json_escape(r.name), json_num(r.shim_ns), json_num(r.native_ns), json_ratio(r.ratio()),
               json_escape(r.status), cfg.quick ? "true" : "false", pin, json_escape(r.note),
               i + 1 < rs.size() ? "," : "");
  }
  fputs("]\n", f);
  return fclose(f) == 0;
}

std::string affinity() {
  cpu_set_t s;
  if (sched_getaffinity(0, sizeof s, &s) != 0) return "?";
  std::string o;
  for (int i = 0; i < CPU_SETSIZE; ++i)
    if (CPU_ISSET(i, &s)) {
      if (!o.empty()) o += ',';  // (not `"," + to_string`: GCC 12 warns falsely on it, -Wrestrict)
      o += std::to_string(i);
    }
  return o;
}

void usage() {
  fputs(
      "usage: hvbench [--quick] [--json FILE] [--filter REGEX] [--verbose] [--benchmark_* flags]\n"
      "  --quick    small sizes and iteration counts (< 1 min), for CI smoke runs\n"
      "  --json     write [{case, shim_ns, native_ns, ratio, status, note}, ...] to FILE\n"
      "  --filter   run only case groups matching REGEX (map_unmap, protect_page_toggle,\n"
      "             protect_page_toggle_private, scaling, exit_roundtrip, dirty_cycle, dirty_pass,\n"
      "             log_overhead, exit_roundtrip_mmio, space_switch, guest_touch, refault_scaling,\n"
      "             mach_allocate, mach_copy, mach_read, mach_region_walk; e.g. 'mach' = all Mach VM)\n"
      "  --dirty-mib LIST  dirty-tracking pass sizes in MiB (default 64,256,1024; quick 4,16,64)\n"
      "  --group-timeout SEC  abort if one case group runs longer (default 1800; quick 300)\n"
      "  --verbose  print each result's note (what was measured, spread)\n"
      "Run pinned: taskset -c 0 hvbench ...\n",
      stderr);
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  const char* json = nullptr;
  bool verbose = false;
  std::vector<uint64_t> dirty_mib;
  unsigned group_timeout = 0;
  std::vector<std::string> bargs = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") {
      cfg.quick = true;
    } else if (a == "--json" && i + 1 < argc) {
      json = argv[++i];
    } else if (a.rfind("--json=", 0) == 0) {
      json = argv[i] + 7;
    } else if (a == "--filter" && i + 1 < argc) {
      bargs.push_back(std::string("--benchmark_filter=") + argv[++i]);
    } else if (a == "--group-timeout" && i + 1 < argc) {
      group_timeout = static_cast<unsigned>(strtoul(argv[++i], nullptr, 10));
    } else if (a == "--dirty-mib" && i + 1 < argc) {
      for (char* tok = strtok(argv[++i], ","); tok; tok = strtok(nullptr, ","))
        dirty_mib.push_back(strtoull(tok, nullptr, 10));
    } else if (a == "--verbose" || a == "-v") {
      verbose = true;
    } else if (a == "--help" || a == "-h") {
      usage();
      return 0;
    } else if (a.rfind("--benchmark_", 0) == 0) {
      bargs.push_back(a);
    } else {
      usage();
      return 2;
    }
  }
  if (cfg.quick) {
    cfg.toggle_bytes = 128ull << 20;
    cfg.toggle_pages = 500;
    cfg.toggle_rounds = 1;
    cfg.map_iters = 200;
    cfg.dirty_sizes = {4ull << 20, 16ull << 20, 64ull << 20};
    cfg.cycle_iters = 100;
    cfg.log_iters = 2000;
    cfg.scaling_counts = {1, 1024};
    cfg.scaling_iters = 100;
    cfg.refault_iters = 20;
    cfg.touch_rounds = 2;
    cfg.switch_iters = 100;
    cfg.mach_blocks = 3;
    cfg.mach_copy_iters = 3;
    cfg.region_walks = 3;
  }
  if (!dirty_mib.empty()) {
    cfg.dirty_sizes.clear();
    for (uint64_t m : dirty_mib) cfg.dirty_sizes.push_back(m << 20);
  }
  if (group_timeout == 0) group_timeout = cfg.quick ? 300 : 1800;
  watchdog_start(group_timeout);
  std::string pin = affinity();
  if (pin != "0") fmt::print(stderr, "hvbench: note: running on CPUs {}; pin with `taskset -c 0` for stable numbers\n", pin);

  std::string err;
  // Without a usable KVM device the Mach VM cases still run; the others are
  // skipped with the reason, and that is not a failure.
  bool have_kvm = true;
  if (auto sys = hvshim::kvm::System::open(); !sys && hvshim::kvm::System::is_device_error(sys.error())) {
    have_kvm = false;
    fmt::print(stderr, "hvbench: skipping the KVM cases: HV_NO_DEVICE: {}\n",
               hvshim::kvm::render(hvshim::kvm::kvm_problem(sys.error())));
  }
  auto env = have_kvm ? Env::create(&err) : Env::without_kvm();
  if (!env) {
    fmt::print(stderr, "hvbench: cannot set up: {}\n", err);
    return 1;
  }
  if (have_kvm && (!env->shim_zap_off || !env->raw_zap_off))
    fmt::print(stderr, "hvbench: note: zap-all quirk disabled: shim {}, raw {}\n", env->shim_zap_off, env->raw_zap_off);

  std::vector<Result> results;
  for (const Group& g : kGroups) {
    if (g.needs_kvm && !have_kvm) continue;
    Env* e = env.get();
    benchmark::RegisterBenchmark(g.name, [e, &cfg, &results, &g](benchmark::State& st) {
      std::vector<Result> rs;
      for (auto _ : st) {
        rs.clear();
        watchdog_arm(g.name);
        g.fn(*e, cfg, rs);
        watchdog_disarm();
        double t = 0;
        for (const auto& r : rs)
          if (std::isfinite(r.shim_ns)) t += r.shim_ns;
        st.SetIterationTime(t / 1e9);
      }
      for (const auto& r : rs) {
        if (std::isfinite(r.ratio())) st.counters[r.name + "_x"] = r.ratio();
      }
      results.insert(results.end(), rs.begin(), rs.end());
    })->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
  }
  std::vector<char*> bargv;
  for (auto& s : bargs) bargv.push_back(s.data());
  int bargc = static_cast<int>(bargv.size());
  benchmark::Initialize(&bargc, bargv.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();

  fmt::print("\n{:<30} {:>12} {:>12} {:>8}  {}\n", "case", "shim", "native", "ratio", "status");
  for (const auto& r : results) {
    fmt::print("{:<30} {:>12} {:>12} {:>8}  {}\n", r.name, fmt_ns(r.shim_ns), fmt_ns(r.native_ns),
               std::isfinite(r.ratio()) ? fmt::format("{:.2f}", r.ratio()) : "-", r.status);
    if (verbose && !r.note.empty()) fmt::print("    {}\n", r.note);
  }
  if (json) {
    if (!write_json(json, results, cfg, pin)) {
      fmt::print(stderr, "hvbench: cannot write {}\n", json);
      return 1;
    }
    fmt::print("wrote {}\n", json);
  }
  return 0;
}
