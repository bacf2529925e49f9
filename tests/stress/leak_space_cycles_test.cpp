// Address-space cycles: create a space, map and re-protect memory in it,
// move a vCPU into it and run, move back, destroy it. Each space is a KVM VM
// of its own and a visiting vCPU gets a KVM vCPU there, so a lost fd, an
// unreleased kvm_run mapping or a kept KVM vCPU would show at once.
#include "growth_check.h"
#include "stress_scale.h"
#include "vm_fixture.h"

namespace stress {
namespace {

constexpr uint64_t kData = 0x40000000;
constexpr uint64_t kRwx = HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC;

class LeakSpaceTest : public GuestVmTest {};

TEST_F(LeakSpaceTest, SpaceCreateMapRunDestroy) {
  HostMem data(16 * 4096);
  auto g = make_guest();
  ASSERT_NE(g, nullptr);
  // The guest visits space s, writes and reads back a word there, returns.
  auto visit = [&](hv_vm_space_t s, int i) {
    EXPECT_EQ(hv_vcpu_set_space(g->id(), s), HV_SUCCESS) << hvshim::last_error_cstr();
    Access w = g->write64(kData + 8 * (i % 512), uint64_t(i));
    EXPECT_TRUE(w.ok()) << "cycle " << i << ": " << to_string(w);
    Access rd = g->read64(kData + 8 * (i % 512));
    EXPECT_TRUE(rd.ok() && rd.value == uint64_t(i)) << "cycle " << i << ": " << to_string(rd);
    EXPECT_EQ(hv_vcpu_set_space(g->id(), HV_VM_SPACE_DEFAULT), HV_SUCCESS);
  };
  auto cycle = [&](int i) {
    hv_vm_space_t s = 0;
    EXPECT_EQ(hv_vm_space_create(&s), HV_SUCCESS) << hvshim::last_error_cstr();
    if (::testing::Test::HasFailure()) return false;
    EXPECT_EQ(sys.map_into(s), HV_SUCCESS);
    EXPECT_EQ(hv_vm_map_space(s, data.data(), kData, data.size(), kRwx), HV_SUCCESS);
    // Split the mapping into several memslots, then merge it back.
    EXPECT_EQ(hv_vm_protect_space(s, kData + 4096 * (i % 14 + 1), 4096, HV_MEMORY_READ), HV_SUCCESS);
    visit(s, i);
    EXPECT_EQ(hv_vm_protect_space(s, kData + 4096 * (i % 14 + 1), 4096, kRwx), HV_SUCCESS);
    EXPECT_EQ(hv_vm_unmap_space(s, kData + 4096, 4096), HV_SUCCESS);
    EXPECT_EQ(hv_vm_space_destroy(s), HV_SUCCESS) << hvshim::last_error_cstr();
    return !::testing::Test::HasFailure();
  };
  GrowthRun r = run_cycles(30, scaled(600), cycle);
  expect_no_growth(r, "hv_vm_space_create/map/set_space/destroy");
}

}  // namespace
}  // namespace stress
