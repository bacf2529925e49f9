// Extra address spaces are independent page maps; vCPUs in different
// spaces run at the same time.
#include <atomic>
#include <thread>

#include "fixture.h"
#include "hvapi/vm_instance.h"

namespace hvtest {
namespace {

constexpr uint64_t kBase = 0x600000;
constexpr uint64_t P = 4096;
constexpr hv_memory_flags_t RW = HV_MEMORY_READ | HV_MEMORY_WRITE;

class SpaceTest : public VmTest {};

TEST_F(SpaceTest, SpacesAreIndependentPageMaps) {
  hv_vm_space_t s1 = 0;
  ASSERT_EQ(hv_vm_space_create(&s1), HV_SUCCESS);
  EXPECT_NE(s1, hv_vm_space_t(HV_VM_SPACE_DEFAULT));
  auto g1 = GuestProbe::create(s1);
  ASSERT_NE(g1, nullptr);
  HostMem a(4 * P), b(4 * P);
  for (int i = 0; i < 4; ++i) {
    a.set_word(i, 0xaaa0 + i);
    b.set_word(i, 0xbbb0 + i);
  }
  ASSERT_EQ(hv_vm_map(a.data(), kBase, 4 * P, RW), HV_SUCCESS);
  ASSERT_EQ(hv_vm_map_space(s1, b.data(), kBase, 4 * P, HV_MEMORY_READ), HV_SUCCESS);
  EXPECT_EQ(guest->read32(kBase + P).value, 0xaaa1u);
  EXPECT_EQ(g1->read32(kBase + P).value, 0xbbb1u);
  EXPECT_EQ(sweep(*guest, kBase, 4), repeat("rw-", 4));
  EXPECT_EQ(sweep(*g1, kBase, 4), repeat("r--", 4));
  // Changes in one space never show in the other.
  ASSERT_EQ(hv_vm_unmap_space(s1, kBase + P, P), HV_SUCCESS);
  ASSERT_EQ(hv_vm_protect_space(s1, kBase + 2 * P, P, RW), HV_SUCCESS);
  ASSERT_EQ(hv_vm_protect(kBase, P, 0), HV_SUCCESS);
  EXPECT_EQ(sweep(*guest, kBase, 4), "--- rw- rw- rw-");
  EXPECT_EQ(sweep(*g1, kBase, 4), "r-- --- rw- r--");
  // The same host memory may back pages in both spaces: one memory.
  ASSERT_EQ(hv_vm_map_space(s1, a.page(3), 0x700000, P, RW), HV_SUCCESS);
  ASSERT_TRUE(g1->write32(0x700000, 0x12345678).ok());
  EXPECT_EQ(guest->read32(kBase + 3 * P).value, 0x12345678u);
  EXPECT_EQ(a.word(3), 0x12345678u);
  g1.reset();
  EXPECT_EQ(hv_vm_space_destroy(s1), HV_SUCCESS);
  EXPECT_EQ(hv_vm_map_space(s1, b.data(), kBase, P, RW), HV_BAD_ARGUMENT);
  EXPECT_EQ(sweep(*guest, kBase, 4), "--- rw- rw- rw-");
}

TEST_F(SpaceTest, SpaceIdsLimitsAndErrors) {
  HostMem m(P);
  EXPECT_EQ(hv_vm_space_create(nullptr), HV_BAD_ARGUMENT);
  EXPECT_EQ(hv_vm_space_destroy(HV_VM_SPACE_DEFAULT), HV_BAD_ARGUMENT);
  EXPECT_EQ(hv_vm_space_destroy(5), HV_BAD_ARGUMENT);
  EXPECT_EQ(hv_vm_map_space(9, m.data(), 0, P, RW), HV_BAD_ARGUMENT);
  EXPECT_EQ(hv_vm_unmap_space(9, 0, P), HV_BAD_ARGUMENT);
  EXPECT_EQ(hv_vm_protect_space(9, 0, P, RW), HV_BAD_ARGUMENT);
  uint64_t max = 0;
  ASSERT_EQ(hv_capability(HV_CAP_ADDRSPACEMAX, &max), HV_SUCCESS);
  std::vector<hv_vm_space_t> ids;
  for (uint64_t i = 1; i < max; ++i) {
    hv_vm_space_t s;
    ASSERT_EQ(hv_vm_space_create(&s), HV_SUCCESS) << "space " << i << " of " << max;
    ids.push_back(s);
  }
  hv_vm_space_t extra = 1234;
  EXPECT_EQ(hv_vm_space_create(&extra), HV_NO_RESOURCES) << "the reported maximum is the real one";
  EXPECT_EQ(extra, 1234u);
  // Ids are the lowest free ones; a destroyed id is handed out again.
  EXPECT_EQ(ids.front(), 1u);
  ASSERT_EQ(hv_vm_space_destroy(3), HV_SUCCESS);
  hv_vm_space_t again;
  ASSERT_EQ(hv_vm_space_create(&again), HV_SUCCESS);
  EXPECT_EQ(again, 3u);
  // A space in use by a vCPU cannot go (the vCPU layer marks the use).
  {
    std::lock_guard lk(hvshim::hv::vm_mutex());
    hvshim::hv::current_vm()->space(2)->vcpu_users++;
  }
  EXPECT_EQ(hv_vm_space_destroy(2), HV_BUSY);
  {
    std::lock_guard lk(hvshim::hv::vm_mutex());
    hvshim::hv::current_vm()->space(2)->vcpu_users--;
  }
  EXPECT_EQ(hv_vm_space_destroy(2), HV_SUCCESS);
}

TEST_F(SpaceTest, GuestsInDifferentSpacesRunConcurrently) {
  hv_vm_space_t s1 = 0;
  ASSERT_EQ(hv_vm_space_create(&s1), HV_SUCCESS);
  auto g1 = GuestProbe::create(s1);
  ASSERT_NE(g1, nullptr);
  HostMem a(P), b(P);
  ASSERT_EQ(hv_vm_map(a.data(), kBase, P, RW), HV_SUCCESS);
  ASSERT_EQ(hv_vm_map_space(s1, b.data(), kBase, P, RW), HV_SUCCESS);
  std::atomic<int> bad{0};
  auto worker = [&](GuestProbe* g, uint32_t tag) {
    for (uint32_t i = 0; i < 300; ++i) {
      if (!g->write32(kBase, tag + i).ok()) bad++;
      Probe r = g->read32(kBase);
      if (!r.ok() || r.value != tag + i) bad++;
    }
  };
  std::thread t0(worker, guest.get(), 0x10000000u), t1(worker, g1.get(), 0x20000000u);
  t0.join();
  t1.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(a.word(0), 0x10000000u + 299);
  EXPECT_EQ(b.word(0), 0x20000000u + 299);
}

}  // namespace
}  // namespace hvtest
