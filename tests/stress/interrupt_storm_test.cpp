// hv_vcpu_interrupt storms: several threads kick vCPUs that run a native
// 64-bit guest loop while their owner threads keep re-entering them (plain
// runs and deadline runs mixed, so kicks race the deadline timer, which
// shares the kick signal). Every run must return HV_SUCCESS with an exit the
// VMM can explain (IRQ, the guest's own I/O, or the deadline), the guest's
// counter must keep moving, and no run may hang.
#include <atomic>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include "stress_scale.h"
#include "vm_fixture.h"

namespace stress {
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint64_t kCounters = 0x40000000;  // one page per vCPU: the guest's counter

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// What one vCPU thread saw.
struct VcpuStats {
  std::atomic<hv_vcpuid_t> id{~0u};
  std::atomic<bool> ready{false};
  std::atomic<uint64_t> runs{0}, irq{0}, io{0}, timer{0};
  std::atomic<int64_t> last_exit_ns{0};
  std::atomic<bool> failed{false};
  std::string error;  // first unexplained result; written by the owner, read after join
};

class InterruptStormTest : public GuestVmTest {};

TEST_F(InterruptStormTest, KickedVcpusKeepRunningAndExitCleanly) {
  constexpr int kVcpus = 2, kKickers = 3;
  const double seconds = scaled_seconds(6);
  HostMem counters(kVcpus * 4096);
  ASSERT_EQ(hv_vm_map(counters.data(), kCounters, counters.size(), HV_MEMORY_READ | HV_MEMORY_WRITE), HV_SUCCESS);
  std::vector<VcpuStats> stats(kVcpus);
  std::atomic<bool> stop{false};
  // Kickers stop (and are joined) before the vCPUs may be destroyed: a kick
  // at a destroyed vCPU is rightly HV_BAD_ARGUMENT.
  std::atomic<bool> stop_kicks{false};
  std::atomic<uint64_t> kicks{0};

  auto vcpu_main = [&](int n) {
    VcpuStats& st = stats[n];
    std::string err;
    auto g = LongModeGuest::create(&err);
    if (!g) {
      st.error = err;
      st.failed = true;
      st.ready = true;
      return;
    }
    g->start(GuestCode::count_loop(), kCounters + n * 4096);
    g->set_rbx(0);
    st.id = g->id();
    st.ready = true;
    std::mt19937 rng(n);
    uint64_t last_rbx = 0;
    while (!stop.load() && st.error.empty()) {
      // One run in four has a deadline 0.2-3 ms away.
      const bool timed = rng() % 4 == 0;
      hv_return_t r = timed ? hv_vcpu_run_until(g->id(), now_ns() + 200000 + rng() % 2800000) : hv_vcpu_run(g->id());
      st.last_exit_ns = static_cast<int64_t>(now_ns());
      ++st.runs;
      if (r != HV_SUCCESS) {
        st.error = "hv_vcpu_run returned " + std::to_string(r) + ": " + hvshim::last_error_cstr();
        break;
      }
      const uint64_t why = g->vmcs(VMCS_RO_EXIT_REASON), rbx = g->reg(HV_X86_RBX);
      if (rbx < last_rbx) st.error = "guest counter went back from " + std::to_string(last_rbx);
      last_rbx = rbx;
      if (why == VMX_REASON_IRQ) {
        ++st.irq;
      } else if (why == VMX_REASON_VMX_TIMER_EXPIRED && timed) {
        ++st.timer;
      } else if (why == VMX_REASON_IO && (g->vmcs(VMCS_RO_EXIT_QUALIFIC) >> 16) == kPortCount &&
                 rbx % (1u << 18) == 0) {
        ++st.io;
        g->skip();
      } else {
        st.error = "unexpected exit " + std::to_string(why) + (timed ? " (deadline run)" : "") + " at rbx " +
                   std::to_string(rbx);
      }
    }
    st.failed = !st.error.empty();
    g.reset();
  };

  auto kicker_main = [&](int n) {
    std::mt19937 rng(100 + n);
    std::vector<hv_vcpuid_t> ids;
    for (auto& s : stats) ids.push_back(s.id.load());
    while (!stop_kicks.load()) {
      // A burst of kicks at one or all vCPUs, then a pause of up to 0.5 ms,
      // so the guest also gets stretches of undisturbed time.
      const int burst = 1 + rng() % 8;
      for (int k = 0; k < burst; ++k) {
        hv_vcpuid_t one = ids[rng() % ids.size()];
        hv_return_t r = rng() % 3 ? hv_vcpu_interrupt(&one, 1) : hv_vcpu_interrupt(ids.data(), ids.size());
        if (r != HV_SUCCESS) {
          ADD_FAILURE() << "hv_vcpu_interrupt returned " << r;
          return;
        }
        ++kicks;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(rng() % 500));
    }
  };

  std::vector<std::thread> vcpus, kickers;
  for (int n = 0; n < kVcpus; ++n) vcpus.emplace_back(vcpu_main, n);
  for (auto& s : stats)
    while (!s.ready.load()) std::this_thread::yield();
  bool all_up = true;
  for (auto& s : stats) all_up = all_up && !s.failed.load();
  if (all_up) {
    for (int n = 0; n < kKickers; ++n) kickers.emplace_back(kicker_main, n);
  }

  // Watchdog: every vCPU must come back from the guest and its counter (in
  // guest memory) must move, in every window of the run.
  auto counter = [&](int n) { return __atomic_load_n(reinterpret_cast<uint64_t*>(counters.page(n)), __ATOMIC_RELAXED); };
  std::string hang;
  std::vector<uint64_t> before(kVcpus);
  for (int n = 0; n < kVcpus; ++n) before[n] = counter(n);
  const auto end = Clock::now() + std::chrono::duration<double>(all_up ? seconds : 0);
  while (Clock::now() < end && hang.empty()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    for (int n = 0; n < kVcpus; ++n) {
      const int64_t since = static_cast<int64_t>(now_ns()) - stats[n].last_exit_ns.load();
      if (since > 3000000000ll) hang = "vCPU " + std::to_string(n) + " has not left the guest for 3 s";
      const uint64_t c = counter(n);
      if (c == before[n] && !stats[n].failed.load())
        hang = "vCPU " + std::to_string(n) + "'s guest made no progress in 1 s (counter " + std::to_string(c) + ")";
      before[n] = c;
    }
  }
  stop_kicks = true;
  for (auto& t : kickers) t.join();
  stop = true;
  // A hung run can only be ended by kicks; keep sending them while joining.
  std::atomic<bool> joined{false};
  std::thread unsticker([&] {
    std::vector<hv_vcpuid_t> ids;
    for (auto& s : stats) ids.push_back(s.id.load());
    while (!joined.load()) {
      hv_vcpu_interrupt(ids.data(), ids.size());
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  for (auto& t : vcpus) t.join();
  joined = true;
  unsticker.join();

  EXPECT_TRUE(hang.empty()) << hang;
  uint64_t total_runs = 0;
  for (int n = 0; n < kVcpus; ++n) {
    VcpuStats& s = stats[n];
    EXPECT_TRUE(s.error.empty()) << "vCPU " << n << ": " << s.error;
    EXPECT_GT(s.irq.load(), 0u) << "vCPU " << n << " never saw a kick";
    EXPECT_GT(s.io.load(), 10u) << "vCPU " << n << "'s guest barely ran";
    printf("[ measure  ] vCPU %d: %llu runs: %llu IRQ, %llu I/O (%llu guest iterations), %llu deadline\n", n,
           (unsigned long long)s.runs.load(), (unsigned long long)s.irq.load(), (unsigned long long)s.io.load(),
           (unsigned long long)counter(n), (unsigned long long)s.timer.load());
    total_runs += s.runs.load();
  }
  printf("[ measure  ] %llu kicks from %d threads in %.1f s\n", (unsigned long long)kicks.load(), kKickers, seconds);
  RecordProperty("kicks", static_cast<int>(kicks.load()));
  RecordProperty("runs", static_cast<int>(total_runs));
}

}  // namespace
}  // namespace stress
