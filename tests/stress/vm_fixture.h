// Fixture for stress tests that run the 64-bit guest: skips with the reason
// when /dev/kvm is unusable, creates the VM with the system image mapped at
// GPA 0 of the default space, and destroys the VM at the end (every test
// destroys its own vCPUs first).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "common/last_error.h"
#include "long_mode_guest.h"
#include "support/kvm_test_support.h"

namespace stress {

using testsupport::HostMem;

class GuestVmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!testsupport::kvm_usable(&why)) GTEST_SKIP() << why;
    ASSERT_EQ(hv_vm_create(HV_VM_DEFAULT), HV_SUCCESS) << hvshim::last_error_cstr();
    vm_ = true;
    ASSERT_NE(sys.host(), nullptr);
    ASSERT_EQ(sys.map_into(HV_VM_SPACE_DEFAULT), HV_SUCCESS) << hvshim::last_error_cstr();
  }
  void TearDown() override {
    if (vm_) {
      EXPECT_EQ(hv_vm_destroy(), HV_SUCCESS) << hvshim::last_error_cstr();
    }
  }
  // A guest on the calling thread; fails the test when it cannot be made.
  std::unique_ptr<LongModeGuest> make_guest() {
    std::string err;
    auto g = LongModeGuest::create(&err);
    EXPECT_NE(g, nullptr) << err;
    return g;
  }

  SysImage sys;
  bool vm_ = false;
};

}  // namespace stress
