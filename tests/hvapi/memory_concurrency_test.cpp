// Guests keep running on other threads while memory is re-protected and
// remapped under them: once a call has returned, no guest access may see
// the old permissions or the old page.
#include <atomic>
#include <chrono>
#include <thread>

#include "fixture.h"

namespace hvtest {
namespace {

constexpr uint64_t P = 4096;
constexpr hv_memory_flags_t RW = HV_MEMORY_READ | HV_MEMORY_WRITE;

class ConcurrencyTest : public VmTest {};

// The control thread bumps `epoch` before and after every call, so an odd
// value means "a call is in flight". A guest probe whose epoch was the same
// even value before and after it ran knows exactly which state it ran in.
class Epoch {
 public:
  void begin() { v_++; }
  // Ends the call's window and lets the guest thread finish at least one
  // probe wholly inside the new stable state, so every state is checked
  // however slow the guest runs (sanitizers, loaded hosts).
  void end() {
    v_++;
    int target = v_.load();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (stable_.load() < target && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  }
  int now() const { return v_.load(); }
  // Called by the guest thread after a probe that ran entirely in epoch e.
  void probed_in(int e) {
    int cur = stable_.load();
    while (cur < e && !stable_.compare_exchange_weak(cur, e)) {
    }
  }

 private:
  std::atomic<int> v_{0};
  std::atomic<int> stable_{0};
};

TEST_F(ConcurrencyTest, ProtectTakesEffectForGuestsRunningElsewhere) {
  constexpr uint64_t kGpa = 0x3000000;
  HostMem m(16 * P);
  ASSERT_EQ(hv_vm_map(m.data(), kGpa, 16 * P, RW), HV_SUCCESS);
  // Stable states: epoch % 4 == 0 → page 5 writable, == 2 → read-only.
  Epoch epoch;
  std::atomic<bool> stop{false};
  std::atomic<int> checked{0}, wrong{0};
  std::thread guest_thread([&] {
    uint32_t i = 0;
    while (!stop.load()) {
      int e0 = epoch.now();
      Probe w = guest->write32(kGpa + 5 * P, ++i);
      Probe r = guest->read32(kGpa + 9 * P);  // never changes: always readable
      int e1 = epoch.now();
      if (!r.ok()) wrong++;
      if (e0 != e1 || (e0 & 1)) continue;
      checked++;
      epoch.probed_in(e0);
      bool writable = e0 % 4 == 0;
      if (w.ok() != writable) wrong++;
      if (!writable && (w.kind != Probe::WriteFault || w.gpa != kGpa + 5 * P)) wrong++;
    }
  });
  for (int k = 0; k < 150; ++k) {
    // Neighbours change too, so the slots around page 5 are rebuilt.
    epoch.begin();
    ASSERT_EQ(hv_vm_protect(kGpa + 4 * P, 3 * P, HV_MEMORY_READ), HV_SUCCESS);
    epoch.end();
    std::this_thread::yield();
    epoch.begin();
    ASSERT_EQ(hv_vm_protect(kGpa + 5 * P, P, RW), HV_SUCCESS);
    ASSERT_EQ(hv_vm_protect(kGpa + 4 * P, P, RW), HV_SUCCESS);
    ASSERT_EQ(hv_vm_protect(kGpa + 6 * P, P, RW), HV_SUCCESS);
    epoch.end();
    std::this_thread::yield();
  }
  stop = true;
  guest_thread.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(checked.load(), 0);
}

TEST_F(ConcurrencyTest, RemapNeverShowsAStaleOrForeignPage) {
  constexpr uint64_t kGpa = 0x3400000;
  HostMem a(4 * P), b(4 * P), other(4 * P);
  for (int i = 0; i < 4; ++i) {
    a.set_word(i, 0xaaaa0000 + i);
    b.set_word(i, 0xbbbb0000 + i);
    other.set_word(i, 0xcccc0000 + i);
  }
  ASSERT_EQ(hv_vm_map(other.data(), kGpa - 4 * P, 4 * P, RW), HV_SUCCESS);
  ASSERT_EQ(hv_vm_map(a.data(), kGpa, 4 * P, RW), HV_SUCCESS);
  // Stable states by epoch % 8: 0 → a mapped, 2 → unmapped, 4 → b mapped,
  // 6 → unmapped.
  Epoch epoch;
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0}, checked{0};
  std::thread guest_thread([&] {
    while (!stop.load()) {
      int e0 = epoch.now();
      Probe r = guest->read32(kGpa + 2 * P);
      Probe n = guest->read32(kGpa - P);  // the neighbour mapping is never touched
      int e1 = epoch.now();
      if (!n.ok() || n.value != 0xcccc0003u) wrong++;
      if (e0 != e1 || (e0 & 1)) continue;
      checked++;
      epoch.probed_in(e0);
      int st = e0 % 8;
      if (st == 0 && !(r.ok() && r.value == 0xaaaa0002u)) wrong++;
      if (st == 4 && !(r.ok() && r.value == 0xbbbb0002u)) wrong++;
      if ((st == 2 || st == 6) && r.kind != Probe::ReadFault) wrong++;
    }
  });
  for (int k = 0; k < 300; ++k) {
    epoch.begin();
    ASSERT_EQ(hv_vm_unmap(kGpa, 4 * P), HV_SUCCESS);
    epoch.end();
    std::this_thread::yield();
    epoch.begin();
    ASSERT_EQ(hv_vm_map(k % 2 ? a.data() : b.data(), kGpa, 4 * P, RW), HV_SUCCESS);
    epoch.end();
    std::this_thread::yield();
  }
  stop = true;
  guest_thread.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(checked.load(), 0);
}

}  // namespace
}  // namespace hvtest
