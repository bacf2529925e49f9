// Revoking access races a guest that is using the page. A host thread
// revokes (hv_vm_protect to no access or read-only, hv_vm_unmap) while the
// guest loops over the page on another thread, then writes a marker into
// the host page: from the moment the call returns the guest must neither
// read the marker nor overwrite it. Memslot rebuilds next to the page (a
// neighbour in the same 2 MiB chunk) make the vCPU take the library's
// "complete an allowed access from host memory" path meanwhile.
#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include "isolation_fixture.h"
#include "stress_scale.h"

namespace stress {
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint64_t kSecretTag = 0x5ec2e7ull << 40;
constexpr uint64_t kPublicTag = 0x9ab11cull << 40;
constexpr uint64_t kGuestValue = 0x6e575717e0000001ull;

class IsolationRaceTest : public IsolationTest {
 protected:
  uint64_t q() const { return kWindow; }
  uint64_t p() const { return kWindow + kPage; }
  void SetUp() override {
    IsolationTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    page.set_word(0, kPublicTag);
    ASSERT_EQ(hv_vm_map(page.data(), q(), kPage, kRwx), HV_SUCCESS);
    ASSERT_EQ(hv_vm_map(neighbour.data(), p(), kPage, kRwx), HV_SUCCESS);
  }
  void TearDown() override {
    if (!IsSkipped()) {
      EXPECT_EQ(page.guards_damage(), "");
      EXPECT_EQ(neighbour.guards_damage(), "");
    }
    IsolationTest::TearDown();
  }
  // Runs the guest (already started) on this thread until `done`; returns
  // the number of I/O exits, calling on_io(rax) for each and counting EPT
  // violations in *faults. Any other exit fails the test.
  template <class F>
  uint64_t run_guest(std::atomic<bool>& done, uint64_t* faults, F on_io) {
    uint64_t ios = 0;
    while (!done.load()) {
      if (hv_vcpu_run(g->id()) != HV_SUCCESS) {
        ADD_FAILURE() << "hv_vcpu_run: " << hvshim::last_error_cstr();
        break;
      }
      const uint64_t why = g->vmcs(VMCS_RO_EXIT_REASON);
      if (why == VMX_REASON_IO) {
        ++ios;
        on_io(g->reg(HV_X86_RAX));
        g->skip();
      } else if (why == VMX_REASON_EPT_VIOLATION) {
        ++*faults;
        const uint64_t at = g->vmcs(VMCS_GUEST_PHYSICAL_ADDRESS);
        if (at != q()) {
          ADD_FAILURE() << std::hex << "fault at " << at << ", the guest only touches " << q();
          break;
        }
      } else if (why != VMX_REASON_IRQ) {
        ADD_FAILURE() << "unexpected exit " << why;
        break;
      }
    }
    return ios;
  }
  // Ways to take access to Q away (all of it, or only write access).
  enum Revoke { kNoAccess, kUnmap, kReadOnly, kReadExec };
  void revoke(Revoke how) {
    switch (how) {
      case kNoAccess: ASSERT_EQ(hv_vm_protect(q(), kPage, 0), HV_SUCCESS); break;
      case kUnmap: ASSERT_EQ(hv_vm_unmap(q(), kPage), HV_SUCCESS); break;
      case kReadOnly: ASSERT_EQ(hv_vm_protect(q(), kPage, HV_MEMORY_READ), HV_SUCCESS); break;
      case kReadExec: ASSERT_EQ(hv_vm_protect(q(), kPage, HV_MEMORY_READ | HV_MEMORY_EXEC), HV_SUCCESS); break;
    }
  }
  void restore(Revoke how) {
    if (how == kUnmap) {
      ASSERT_EQ(hv_vm_map(page.data(), q(), kPage, kRwx), HV_SUCCESS);
    } else {
      ASSERT_EQ(hv_vm_protect(q(), kPage, kRwx), HV_SUCCESS);
    }
  }
  // Also rebuilds the neighbour's memslot, which shares Q's 2 MiB chunk.
  void churn_neighbour(std::mt19937& rng) {
    ASSERT_EQ(hv_vm_protect(p(), kPage, rng() % 2 ? uint64_t{HV_MEMORY_READ} : kRwx), HV_SUCCESS);
  }

  GuardedMem page{1, kind()}, neighbour{1, kind()};
};

TEST_P(IsolationRaceTest, GuestNeverReadsWhatTheHostWroteWhileAccessWasRevoked) {
  std::atomic<bool> done{false};
  std::atomic<int> rounds{0};
  const auto until = Clock::now() + std::chrono::duration<double>(scaled_seconds(4));
  std::thread host([&] {
    std::mt19937 rng(3);
    for (int i = 0; Clock::now() < until && !HasFailure(); ++i) {
      const Revoke how = i % 2 ? kUnmap : kNoAccess;
      revoke(how);
      page.set_word(0, kSecretTag | unsigned(i));
      churn_neighbour(rng);
      std::this_thread::sleep_for(std::chrono::microseconds(rng() % 300));
      page.set_word(0, kPublicTag | unsigned(i));
      restore(how);
      std::this_thread::sleep_for(std::chrono::microseconds(rng() % 300));
      rounds = i + 1;
    }
    done = true;
  });
  ASSERT_TRUE(g->start(GuestCode::read64(), q()));
  uint64_t faults = 0, leaks = 0, first_leak = 0;
  const uint64_t reads = run_guest(done, &faults, [&](uint64_t v) {
    if ((v & (0xffffffull << 40)) == kSecretTag && leaks++ == 0) first_leak = v;
  });
  host.join();
  EXPECT_EQ(leaks, 0u) << std::hex << "the guest read " << first_leak
                       << ", written by the host while the guest had no access";
  EXPECT_GT(reads, 0u);
  EXPECT_GT(faults, 0u) << "the race never hit a revoked page";
  printf("[ measure  ] %d revoke/restore rounds: %llu guest reads, %llu faults\n", rounds.load(),
         (unsigned long long)reads, (unsigned long long)faults);
}

TEST_P(IsolationRaceTest, GuestWritesNeverLandAfterWriteAccessWasRevoked) {
  std::atomic<bool> done{false};
  std::atomic<int> rounds{0};
  std::string landed;
  const auto until = Clock::now() + std::chrono::duration<double>(scaled_seconds(4));
  std::thread host([&] {
    std::mt19937 rng(5);
    for (int i = 0; Clock::now() < until && !HasFailure() && landed.empty(); ++i) {
      const Revoke how = static_cast<Revoke>(i % 4);
      revoke(how);
      const uint64_t marker = kSecretTag | unsigned(i);
      page.set_word(0, marker);
      churn_neighbour(rng);
      std::this_thread::sleep_for(std::chrono::microseconds(rng() % 300));
      if (page.word(0) != marker) landed = "round " + std::to_string(i) + ": guest store landed after the revoke";
      restore(how);
      std::this_thread::sleep_for(std::chrono::microseconds(rng() % 300));
      rounds = i + 1;
    }
    done = true;
  });
  ASSERT_TRUE(g->start(GuestCode::write64(), q(), kGuestValue));
  uint64_t faults = 0;
  const uint64_t writes = run_guest(done, &faults, [](uint64_t) {});
  host.join();
  EXPECT_EQ(landed, "");
  EXPECT_GT(writes, 0u);
  EXPECT_GT(faults, 0u) << "the race never hit a revoked page";
  printf("[ measure  ] %d revoke/restore rounds: %llu guest stores, %llu faults\n", rounds.load(),
         (unsigned long long)writes, (unsigned long long)faults);
}

STRESS_BOTH_HOST_KINDS(IsolationRaceTest);

}  // namespace
}  // namespace stress
