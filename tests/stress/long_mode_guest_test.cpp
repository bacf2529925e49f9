// The stress suite's own guest does what the other tests rely on: reads and
// writes reach mapped host memory, unmapped pages fault with the right GPA,
// the exec stub runs, and the count loop moves forward natively.
#include <cstring>

#include "vm_fixture.h"

namespace stress {
namespace {

constexpr uint64_t kData = 0x40000000;

TEST_F(GuestVmTest, GuestHarnessReadsWritesFaultsAndRuns) {
  HostMem page(4096);
  uint64_t v = 0x1122334455667788ull;
  memcpy(page.data() + 8, &v, 8);
  place_exec_stub(page.data() + 0x100);
  ASSERT_EQ(hv_vm_map(page.data(), kData, 4096, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC), HV_SUCCESS);
  auto g = make_guest();
  ASSERT_NE(g, nullptr);
  Access r = g->read64(kData + 8);
  ASSERT_TRUE(r.ok()) << to_string(r);
  EXPECT_EQ(r.value, v);
  Access w = g->write64(kData + 16, 0xabcdef);
  ASSERT_TRUE(w.ok()) << to_string(w);
  uint64_t got;
  memcpy(&got, page.data() + 16, 8);
  EXPECT_EQ(got, 0xabcdefu);
  EXPECT_TRUE(g->exec(kData + 0x100).ok());
  Access f = g->read64(kData + 4096 + 24);
  ASSERT_TRUE(f.fault()) << to_string(f);
  EXPECT_EQ(f.gpa, kData + 4096 + 24);
  Access fw = g->write64(kData - 8, 1);
  ASSERT_TRUE(fw.fault()) << to_string(fw);
  EXPECT_EQ(fw.gpa, kData - 8);
  // The count loop: two I/O exits, 2^18 iterations apart.
  ASSERT_TRUE(g->start(GuestCode::count_loop(), kData + 32));
  ASSERT_TRUE(g->set_rbx(0));
  for (int i = 1; i <= 2; ++i) {
    ASSERT_EQ(hv_vcpu_run(g->id()), HV_SUCCESS) << hvshim::last_error_cstr();
    ASSERT_EQ(g->vmcs(VMCS_RO_EXIT_REASON), uint64_t(VMX_REASON_IO));
    EXPECT_EQ(g->reg(HV_X86_RBX), uint64_t(i) << 18);
    g->skip();
  }
  memcpy(&got, page.data() + 32, 8);
  EXPECT_EQ(got, 2u << 18);
  g.reset();
  EXPECT_EQ(hv_vm_unmap(kData, 4096), HV_SUCCESS);
}

}  // namespace
}  // namespace stress
