// Create/destroy cycles of the VM and of vCPUs: thousands of them must not
// grow the process's fds, mappings, resident memory or heap.
#include <thread>

#include "growth_check.h"
#include "stress_scale.h"
#include "vm_fixture.h"

namespace stress {
namespace {

TEST(LeakCycles, VmCreateDestroy) {
  std::string why;
  if (!testsupport::kvm_usable(&why)) GTEST_SKIP() << why;
  SysImage sys;
  HostMem ram(64 * 4096);
  // Each VM also gets memory, so every cycle installs and drops memslots.
  auto cycle = [&](int) {
    EXPECT_EQ(hv_vm_create(HV_VM_DEFAULT), HV_SUCCESS) << hvshim::last_error_cstr();
    EXPECT_EQ(sys.map_into(HV_VM_SPACE_DEFAULT), HV_SUCCESS);
    EXPECT_EQ(hv_vm_map(ram.data(), 0x100000, ram.size(), HV_MEMORY_READ | HV_MEMORY_WRITE), HV_SUCCESS);
    EXPECT_EQ(hv_vm_protect(0x100000 + 8 * 4096, 4096, HV_MEMORY_READ), HV_SUCCESS);
    EXPECT_EQ(hv_vm_destroy(), HV_SUCCESS) << hvshim::last_error_cstr();
    return !::testing::Test::HasFailure();
  };
  // A VM create+destroy costs 2-20 ms here (KVM on PVM, shared machine).
  GrowthRun r = run_cycles(50, scaled(600), cycle);
  expect_no_growth(r, "hv_vm_create/map/destroy");
}

// KVM frees a vCPU only with its VM (each VM takes at most HV_CAP_VCPUMAX
// creations), so the VM is recreated every kPerVm vCPU cycles; usage is
// sampled at those boundaries. One cycle in ten runs on a fresh thread: a
// vCPU's owner thread (signal mask, thread-locals) comes and goes too.
TEST(LeakCycles, VcpuCreateRunDestroy) {
  std::string why;
  if (!testsupport::kvm_usable(&why)) GTEST_SKIP() << why;
  constexpr int kPerVm = 100;
  SysImage sys;
  HostMem data(4096);
  const uint64_t kData = 0x40000000;
  auto new_vm = [&] {
    EXPECT_EQ(hv_vm_create(HV_VM_DEFAULT), HV_SUCCESS) << hvshim::last_error_cstr();
    EXPECT_EQ(sys.map_into(HV_VM_SPACE_DEFAULT), HV_SUCCESS);
    EXPECT_EQ(hv_vm_map(data.data(), kData, 4096, HV_MEMORY_READ | HV_MEMORY_WRITE), HV_SUCCESS);
  };
  auto one_vcpu = [&](int i) {
    std::string err;
    auto g = LongModeGuest::create(&err);
    if (!g) {
      ADD_FAILURE() << "cycle " << i << ": " << err;
      return;
    }
    Access w = g->write64(kData + 8 * (i % 512), uint64_t(i));
    EXPECT_TRUE(w.ok()) << "cycle " << i << ": " << to_string(w);
    Access r = g->read64(kData + 8 * (i % 512));
    EXPECT_TRUE(r.ok() && r.value == uint64_t(i)) << "cycle " << i << ": " << to_string(r);
  };
  new_vm();
  auto cycle = [&](int i) {
    if (i % 10 == 9) std::thread(one_vcpu, i).join();
    else one_vcpu(i);
    if (i % kPerVm == kPerVm - 1) {
      EXPECT_EQ(hv_vm_destroy(), HV_SUCCESS) << hvshim::last_error_cstr();
      new_vm();
    }
    return !::testing::Test::HasFailure();
  };
  const int n = ((scaled(1500) + kPerVm - 1) / kPerVm) * kPerVm;
  GrowthRun r = run_cycles(kPerVm, n, cycle);
  EXPECT_EQ(hv_vm_destroy(), HV_SUCCESS);
  expect_no_growth(r, "hv_vcpu_create/run/destroy");
}

}  // namespace
}  // namespace stress
