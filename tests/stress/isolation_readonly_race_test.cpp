// The host keeps writing its own memory while the guest keeps trying to
// store into it through a write-protected shared page (a store straddling
// from an unmapped page, which KVM's emulator performs). Whatever the
// library does to stop those stores, the host must never see a guest byte
// in the page, must never lose one of its own writes, and hv_vcpu_run must
// keep returning. On shared memory KVM's own write (its emulator finishing
// the straddling store) is refused before it lands, never undone after.
#include <atomic>
#include <chrono>
#include <thread>

#include "isolation_fixture.h"
#include "stress_scale.h"

namespace stress {
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint64_t kHostTag = 0x4057000000000000ull;

class IsolationReadOnlyRaceTest : public IsolationTest {};

TEST_P(IsolationReadOnlyRaceTest, HostWritesSurviveGuestStoresIntoAProtectedPage) {
  GuardedMem ro(1, kind());
  const uint64_t page = kWindow + kPage;  // nothing mapped below it
  ASSERT_EQ(hv_vm_map(ro.data(), page, kPage, kRwx), HV_SUCCESS);
  ASSERT_TRUE(g->read64(page).ok());
  ASSERT_EQ(hv_vm_protect(page, kPage, HV_MEMORY_READ), HV_SUCCESS);
  auto* word = reinterpret_cast<uint64_t*>(ro.data());
  std::atomic<bool> done{false};
  std::string guest_seen, host_lost;  // first example of each
  uint64_t host_writes = 0, guest_seen_n = 0, host_lost_n = 0;
  const auto until = Clock::now() + std::chrono::duration<double>(scaled_seconds(3));
  std::thread host([&] {
    for (uint64_t i = 1; Clock::now() < until; ++i) {
      const uint64_t mine = kHostTag | i;
      __atomic_store_n(word, mine, __ATOMIC_SEQ_CST);
      ++host_writes;
      for (int k = 0; k < 200; ++k) {
        const uint64_t now = __atomic_load_n(word, __ATOMIC_SEQ_CST);
        if (now == mine) continue;
        char b[160];
        snprintf(b, sizeof b, "host wrote %#llx, then read %#llx", (unsigned long long)mine, (unsigned long long)now);
        if ((now & 0xffffffffu) == (kAttack >> 32)) {
          if (guest_seen_n++ == 0) guest_seen = b;
        } else if (host_lost_n++ == 0) {
          host_lost = b;
        }
        break;  // next host write
      }
    }
    done = true;
  });
  uint64_t attempts = 0;
  while (!done.load()) {
    // Every attempt from the start of the store.
    if (!g->start(GuestCode::write64(), page - 4, kAttack) || hv_vcpu_run(g->id()) != HV_SUCCESS) {
      ADD_FAILURE() << "run: " << hvshim::last_error_cstr();
      break;
    }
    ++attempts;
  }
  host.join();
  EXPECT_EQ(guest_seen_n, 0u) << "a guest store became visible in the write-protected page, e.g. " << guest_seen;
  EXPECT_EQ(host_lost_n, 0u) << "the host's own write was undone, e.g. " << host_lost;
  EXPECT_GT(attempts, 0u);
  printf("[ measure  ] %llu guest store attempts, %llu host writes\n", (unsigned long long)attempts,
         (unsigned long long)host_writes);
}

INSTANTIATE_TEST_SUITE_P(Host, IsolationReadOnlyRaceTest, ::testing::Values(HostKind::Private),
                         [](const ::testing::TestParamInfo<HostKind>& i) { return to_string(i.param); });
INSTANTIATE_TEST_SUITE_P(SharedHost, IsolationReadOnlyRaceTest, ::testing::Values(HostKind::Shared),
                         [](const ::testing::TestParamInfo<HostKind>& i) { return to_string(i.param); });

}  // namespace
}  // namespace stress
