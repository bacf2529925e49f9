// Kicks aimed at vCPU ids while those vCPUs are being created, run, moved
// between address spaces and destroyed on other threads. hv_vcpu_interrupt
// must answer HV_SUCCESS (the id exists) or HV_BAD_ARGUMENT (it does not),
// never crash or touch a destroyed vCPU (ASan/TSan), and the owners' calls
// must all succeed whatever kicks are pending.
#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "stress_scale.h"
#include "vm_fixture.h"

namespace stress {
namespace {

class InterruptLifecycleTest : public GuestVmTest {};

TEST_F(InterruptLifecycleTest, KicksRaceCreateRunSpaceSwitchDestroy) {
  constexpr int kOwners = 2, kKickers = 2;
  // Each cycle takes a KVM vCPU in both spaces' VMs, which KVM only frees
  // with the VM (HV_CAP_VCPUMAX per VM lifetime): stay well below it.
  const int cycles = std::min(scaled(150), 400);
  hv_vm_space_t other = 0;
  ASSERT_EQ(hv_vm_space_create(&other), HV_SUCCESS);
  ASSERT_EQ(sys.map_into(other), HV_SUCCESS);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> kicks_ok{0}, kicks_absent{0}, runs{0};
  std::vector<std::string> errors(kOwners);

  auto owner = [&](int n) {
    std::string& err = errors[n];
    for (int c = 0; c < cycles && err.empty(); ++c) {
      auto g = LongModeGuest::create(&err);
      if (!g) break;
      g->start(GuestCode::count_loop());
      for (hv_vm_space_t s : {hv_vm_space_t{HV_VM_SPACE_DEFAULT}, other, hv_vm_space_t{HV_VM_SPACE_DEFAULT}}) {
        if (hv_vcpu_set_space(g->id(), s) != HV_SUCCESS) {
          err = std::string("hv_vcpu_set_space: ") + hvshim::last_error_cstr();
          break;
        }
        if (hv_vcpu_run(g->id()) != HV_SUCCESS) {
          err = std::string("hv_vcpu_run: ") + hvshim::last_error_cstr();
          break;
        }
        ++runs;
        const uint64_t why = g->vmcs(VMCS_RO_EXIT_REASON);
        if (why == VMX_REASON_IO) g->skip();
        else if (why != VMX_REASON_IRQ) err = "unexpected exit " + std::to_string(why);
      }
    }
  };
  auto kicker = [&](int n) {
    std::mt19937 rng(n);
    while (!stop.load()) {
      hv_vcpuid_t ids[3] = {static_cast<hv_vcpuid_t>(rng() % 4), static_cast<hv_vcpuid_t>(rng() % 4),
                            static_cast<hv_vcpuid_t>(rng() % 4)};
      const hv_return_t r = hv_vcpu_interrupt(ids, 1 + rng() % 3);
      if (r == HV_SUCCESS) ++kicks_ok;
      else if (r == HV_BAD_ARGUMENT) ++kicks_absent;
      else ADD_FAILURE() << "hv_vcpu_interrupt returned " << r;
      if (rng() % 4 == 0) std::this_thread::sleep_for(std::chrono::microseconds(rng() % 200));
    }
  };
  std::vector<std::thread> owners, kickers;
  for (int n = 0; n < kKickers; ++n) kickers.emplace_back(kicker, n);
  for (int n = 0; n < kOwners; ++n) owners.emplace_back(owner, n);
  for (auto& t : owners) t.join();
  stop = true;
  for (auto& t : kickers) t.join();
  for (int n = 0; n < kOwners; ++n) EXPECT_TRUE(errors[n].empty()) << "owner " << n << ": " << errors[n];
  EXPECT_GT(kicks_ok.load(), 0u);
  printf("[ measure  ] %d owners x %d cycles, %llu runs; kicks: %llu delivered, %llu to absent ids\n", kOwners, cycles,
         (unsigned long long)runs.load(), (unsigned long long)kicks_ok.load(), (unsigned long long)kicks_absent.load());
  EXPECT_EQ(hv_vm_space_destroy(other), HV_SUCCESS) << hvshim::last_error_cstr();
}

}  // namespace
}  // namespace stress
