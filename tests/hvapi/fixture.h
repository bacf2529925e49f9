// Shared fixture for tests that need a VM: skips with the reason when
// /dev/kvm is unusable, creates the VM and a probe guest, destroys both.
#pragma once

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstring>
#include <memory>

#include "guest_probe.h"

namespace hvtest {

using testsupport::HostMem;

class VmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!kvm_usable(&why)) GTEST_SKIP() << why;
    ASSERT_EQ(hv_vm_create(HV_VM_DEFAULT), HV_SUCCESS);
    guest = GuestProbe::create();
    ASSERT_NE(guest, nullptr);
  }
  void TearDown() override {
    guest.reset();
    if (!IsSkipped()) {
      EXPECT_EQ(hv_vm_destroy(), HV_SUCCESS);
    }
  }
  std::unique_ptr<GuestProbe> guest;
};

}  // namespace hvtest

namespace hvtest {

// The guest's view of n consecutive pages, e.g. "rw- rw- r-- ---".
inline std::string sweep(GuestProbe& g, uint64_t base, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    if (i) out += ' ';
    out += g.access(base + uint64_t(i) * 4096);
  }
  return out;
}

// The words the guest reads at the start of n pages (0xdead0000|i on a fault).
inline std::vector<uint32_t> guest_words(GuestProbe& g, uint64_t base, int n) {
  std::vector<uint32_t> out;
  for (int i = 0; i < n; ++i) {
    Probe p = g.read32(base + uint64_t(i) * 4096);
    out.push_back(p.ok() ? p.value : 0xdead0000u | unsigned(i));
  }
  return out;
}

inline std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += (i ? " " : "") + s;
  return out;
}

}  // namespace hvtest
