// hv_vcpu_interrupt kicks and the library's own write-protect kicks share
// one signal. A guest stores to a shared page natively while a host thread
// write-protects and unprotects it (the userfaultfd path) and other threads
// storm the vCPU with hv_vcpu_interrupt. Each exit must be one the VMM can
// explain (IRQ, the guest's I/O, an EPT violation for exactly that page),
// while the page is protected its host bytes must not change, and the guest
// must keep moving.
#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include "guarded_mem.h"
#include "stress_scale.h"
#include "vm_fixture.h"

namespace stress {
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint64_t kQ = 0x40000000;

class InterruptWriteProtectTest : public GuestVmTest {};

TEST_F(InterruptWriteProtectTest, KicksMixWithWriteProtectFaults) {
  GuardedMem q(1, HostKind::Shared);
  ASSERT_TRUE(q.ok());
  ASSERT_EQ(hv_vm_map(q.data(), kQ, kPage, HV_MEMORY_READ | HV_MEMORY_WRITE), HV_SUCCESS);
  auto g = make_guest();
  ASSERT_NE(g, nullptr);
  ASSERT_TRUE(g->start(GuestCode::count_loop(), kQ));
  ASSERT_TRUE(g->set_rbx(0));
  const hv_vcpuid_t id = g->id();
  std::atomic<bool> done{false};
  std::atomic<int> rounds{0};
  std::string landed;
  const auto until = Clock::now() + std::chrono::duration<double>(scaled_seconds(5));
  std::thread toggler([&] {
    std::mt19937 rng(9);
    for (int i = 0; Clock::now() < until && landed.empty(); ++i) {
      if (hv_vm_protect(kQ, kPage, HV_MEMORY_READ) != HV_SUCCESS) {
        landed = "hv_vm_protect(read-only) failed";
        break;
      }
      const uint64_t frozen = __atomic_load_n(reinterpret_cast<uint64_t*>(q.data()), __ATOMIC_ACQUIRE);
      std::this_thread::sleep_for(std::chrono::microseconds(100 + rng() % 400));
      const uint64_t later = __atomic_load_n(reinterpret_cast<uint64_t*>(q.data()), __ATOMIC_ACQUIRE);
      if (later != frozen)
        landed = "round " + std::to_string(i) + ": the guest's counter moved from " + std::to_string(frozen) + " to " +
                 std::to_string(later) + " while the page was read-only";
      if (hv_vm_protect(kQ, kPage, HV_MEMORY_READ | HV_MEMORY_WRITE) != HV_SUCCESS) {
        landed = "hv_vm_protect(read-write) failed";
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(100 + rng() % 400));
      rounds = i + 1;
    }
    done = true;
  });
  std::atomic<uint64_t> kicks{0};
  std::vector<std::thread> kickers;
  for (int k = 0; k < 2; ++k)
    kickers.emplace_back([&, k] {
      std::mt19937 rng(k);
      while (!done.load()) {
        hv_vcpuid_t one = id;
        if (hv_vcpu_interrupt(&one, 1) == HV_SUCCESS) ++kicks;
        std::this_thread::sleep_for(std::chrono::microseconds(rng() % 300));
      }
    });
  uint64_t irq = 0, io = 0, faults = 0, last_rbx = 0;
  std::string error;
  auto last_progress = Clock::now();
  while (!done.load() && error.empty()) {
    if (hv_vcpu_run(id) != HV_SUCCESS) {
      error = std::string("hv_vcpu_run: ") + hvshim::last_error_cstr();
      break;
    }
    const uint64_t why = g->vmcs(VMCS_RO_EXIT_REASON), rbx = g->reg(HV_X86_RBX);
    if (rbx < last_rbx) error = "the guest's counter went back";
    if (rbx > last_rbx) last_progress = Clock::now();
    last_rbx = rbx;
    if (why == VMX_REASON_IRQ) {
      ++irq;
    } else if (why == VMX_REASON_IO) {
      ++io;
      g->skip();
    } else if (why == VMX_REASON_EPT_VIOLATION) {
      ++faults;
      const uint64_t at = g->vmcs(VMCS_GUEST_PHYSICAL_ADDRESS), qual = g->vmcs(VMCS_RO_EXIT_QUALIFIC);
      if (at != kQ || (qual & 2) == 0) error = "EPT violation at " + std::to_string(at) + " qual " + std::to_string(qual);
      // The VMM waits for the page to become writable again, as a dirty
      // tracker would after logging it; the store is retried then.
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    } else {
      error = "unexpected exit " + std::to_string(why);
    }
    if (Clock::now() - last_progress > std::chrono::seconds(3)) error = "the guest made no progress for 3 s";
  }
  done = true;
  toggler.join();
  for (auto& t : kickers) t.join();
  EXPECT_EQ(error, "");
  EXPECT_EQ(landed, "");
  EXPECT_GT(faults, 0u) << "the guest never hit the protected page";
  EXPECT_GT(irq, 0u);
  printf("[ measure  ] %d protect rounds, %llu kicks: %llu IRQ, %llu I/O, %llu write faults, guest counter %llu\n",
         rounds.load(), (unsigned long long)kicks.load(), (unsigned long long)irq, (unsigned long long)io,
         (unsigned long long)faults, (unsigned long long)last_rbx);
  g.reset();
}

}  // namespace
}  // namespace stress
