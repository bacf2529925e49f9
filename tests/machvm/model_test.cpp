// Model-based random test: seeded random sequences of Mach VM calls (valid
// and deliberately invalid) run against the real library and against the
// plain model of model_state.h. Every return code must be the model's;
// every few steps the contents, protections (real accesses in forked
// children), region info and fork inheritance are compared with it.
//
// HVSHIM_MACH_MODEL_STEPS: steps per seed (default 3000).
// HVSHIM_MACH_MODEL_SEED: run only this seed (reproduces a failure).
// HVSHIM_MACH_MODEL_CHECK_EVERY: steps between full comparisons (default
// 16; 1 pins a failure to its step). Forked checks run every 4th time.
// HVSHIM_MACH_MODEL_TRACE: print every step.
// Without it the suite runs fixed seeds plus one fresh seed it prints.
#include <sys/mman.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "machvm/model_ops.h"
#include "machvm/model_probe.h"
#include "machvm/vm_state.h"
#include "machvm/vm_test_util.h"

namespace {

uint64_t env_u64(const char* name, uint64_t dflt, bool* set = nullptr) {
  const char* v = std::getenv(name);
  if (set) *set = v && *v;
  return v && *v ? std::strtoull(v, nullptr, 0) : dflt;
}

// Reserved at a low address the kernel never picks for mmap(NULL) (it
// searches down from the top), so holes in it stay holes while the test
// runs. Candidates suit plain, ASan and TSan layouts.
uint64_t place_arena(uint64_t len) {
  for (uint64_t cand : {0x200000000000ULL, 0x00f000000000ULL, 0x300000000000ULL}) {
    void* p = mmap(reinterpret_cast<void*>(cand), len, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED) continue;
    munmap(p, len);
    if (reinterpret_cast<uint64_t>(p) == cand) return cand;
  }
  return 0;
}

// Runs one seed; returns an empty string or the failure report.
std::string run_seed(uint64_t seed, uint64_t steps) {
  const uint64_t arena_pages = 64;
  const uint64_t arena = place_arena(arena_pages * model::page_size());
  if (!arena) return "no address for the arena";
  {
    // The library opens its arena and /proc/self/maps on first use.
    mach_vm_address_t w = 0;
    mach_vm_allocate(mach_task_self(), &w, model::page_size(), VM_FLAGS_ANYWHERE);
    vm_region_basic_info_data_64_t info;
    mach_msg_type_number_t count = VM_REGION_BASIC_INFO_COUNT_64;
    mach_vm_size_t s = 0;
    mach_port_t obj = MACH_PORT_NULL;
    mach_vm_address_t q = 0;
    mach_vm_region(mach_task_self(), &q, &s, VM_REGION_BASIC_INFO_64, reinterpret_cast<vm_region_info_t>(&info),
                   &count, &obj);
    mach_vm_deallocate(mach_task_self(), w, model::page_size());
  }
  const int fds_before = vmtest::open_fds();
  model::Runner r(seed, arena, arena_pages);
  // Its own generator, so the steps do not depend on how often we check.
  std::mt19937_64 check_rng(seed * 0x9e3779b97f4a7c15ULL + 1);
  const uint64_t every = std::max<uint64_t>(1, env_u64("HVSHIM_MACH_MODEL_CHECK_EVERY", 16));
  for (uint64_t i = 0; i < steps && r.failure.empty(); ++i) {
    r.step_once();
    if (!r.failure.empty()) break;
    const bool forks = i % (4 * every) == 4 * every - 1;
    if (i % every == every - 1 || forks) {
      std::string d = model::check_contents(r.m) + model::check_regions(r.m);
      if (forks && d.empty()) d = model::check_access(r.m, check_rng) + model::check_inheritance(r.m, check_rng);
      if (!d.empty()) r.failure = "after step " + std::to_string(r.step) + ":\n" + d;
    }
  }
  if (r.failure.empty()) {
    std::string d = model::check_contents(r.m) + model::check_regions(r.m);
    if (!d.empty()) r.failure = "at the end:\n" + d;
  }
  if (!r.failure.empty()) {
    std::ostringstream o;
    o << "seed " << seed << " (rerun with HVSHIM_MACH_MODEL_SEED=" << seed << " HVSHIM_MACH_MODEL_STEPS=" << steps
      << ")\n"
      << r.failure << "last steps:\n";
    for (const std::string& s : r.recent) o << "  " << s << "\n";
    r.release_all();
    return o.str();
  }
  r.release_all();
  const int fds_after = vmtest::open_fds();
  if (fds_after != fds_before)
    return "seed " + std::to_string(seed) + ": " + std::to_string(fds_after - fds_before) + " descriptors leaked";
  std::printf("[model] seed %" PRIu64 ": %" PRIu64 " steps, %" PRIu64 " calls refused as the model said\n", seed,
              r.step, r.refused);
  return {};
}

TEST(MachModel, FixedSeeds) {
  bool one = false;
  const uint64_t only = env_u64("HVSHIM_MACH_MODEL_SEED", 0, &one);
  const uint64_t steps = env_u64("HVSHIM_MACH_MODEL_STEPS", 3000);
  std::vector<uint64_t> seeds = one ? std::vector<uint64_t>{only} : std::vector<uint64_t>{1, 2, 3};
  for (uint64_t seed : seeds) {
    std::string f = run_seed(seed, steps);
    ASSERT_TRUE(f.empty()) << f;
  }
}

TEST(MachModel, FreshSeed) {
  bool one = false;
  env_u64("HVSHIM_MACH_MODEL_SEED", 0, &one);
  if (one) GTEST_SKIP() << "HVSHIM_MACH_MODEL_SEED selects the seed";
  const uint64_t steps = env_u64("HVSHIM_MACH_MODEL_STEPS", 3000);
  const uint64_t seed = std::random_device{}() | (static_cast<uint64_t>(std::random_device{}()) << 32);
  std::printf("[model] fresh seed %" PRIu64 "\n", seed);
  RecordProperty("seed", std::to_string(seed));
  std::string f = run_seed(seed, steps);
  ASSERT_TRUE(f.empty()) << f;
}

}  // namespace
