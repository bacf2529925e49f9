// Guest-visible behaviour of hv_vm_map / hv_vm_unmap / hv_vm_protect.
#include "fixture.h"

namespace hvtest {
namespace {

constexpr uint64_t kBase = 0x100000;
constexpr uint64_t P = 4096;

class MemoryTest : public VmTest {};

TEST_F(MemoryTest, GuestSeesHostBytesAndHostSeesGuestWrites) {
  HostMem m(4 * P);
  for (int i = 0; i < 4; ++i) m.set_word(i, 0x1000 + i);
  ASSERT_EQ(hv_vm_map(m.data(), kBase, 4 * P, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC), HV_SUCCESS);
  for (int i = 0; i < 4; ++i) {
    Probe r = guest->read32(kBase + i * P);
    ASSERT_TRUE(r.ok()) << to_string(r);
    EXPECT_EQ(r.value, 0x1000u + i);
  }
  m.set_word(2, 0xabcdef01);  // host write after the map is seen at once
  EXPECT_EQ(guest->read32(kBase + 2 * P).value, 0xabcdef01u);
  ASSERT_TRUE(guest->write32(kBase + 3 * P + 8, 0x55aa55aa).ok());
  uint32_t v;
  memcpy(&v, m.page(3) + 8, 4);
  EXPECT_EQ(v, 0x55aa55aau);
  GuestProbe::place_exec_stub(m.page(1), 0x7777);
  Probe x = guest->exec(kBase + P);
  ASSERT_TRUE(x.ok()) << to_string(x);
  EXPECT_EQ(x.value, 0x7777u);
}

TEST_F(MemoryTest, ReadOnlyPageTrapsWritesAndShowsHostBytes) {
  HostMem m(2 * P);
  m.set_word(0, 42);
  ASSERT_EQ(hv_vm_map(m.data(), kBase, 2 * P, HV_MEMORY_READ), HV_SUCCESS);
  Probe w = guest->write32(kBase + 4, 99);
  EXPECT_EQ(w.kind, Probe::WriteFault) << to_string(w);
  EXPECT_EQ(w.gpa, kBase + 4);
  uint32_t v;
  memcpy(&v, m.page(0) + 4, 4);
  EXPECT_EQ(v, 0u) << "a blocked guest write must not reach memory";
  m.set_word(0, 43);
  EXPECT_EQ(guest->read32(kBase).value, 43u);
}

TEST_F(MemoryTest, NoAccessPageTrapsEverything) {
  HostMem m(P);
  GuestProbe::place_exec_stub(m.page(0), 1);
  ASSERT_EQ(hv_vm_map(m.data(), kBase, P, 0), HV_SUCCESS);
  Probe r = guest->read32(kBase);
  EXPECT_EQ(r.kind, Probe::ReadFault) << to_string(r);
  EXPECT_EQ(r.gpa, kBase);
  EXPECT_EQ(guest->write32(kBase, 1).kind, Probe::WriteFault);
  EXPECT_EQ(guest->exec(kBase).kind, Probe::FetchFault);
  ASSERT_EQ(hv_vm_protect(kBase, P, HV_MEMORY_READ | HV_MEMORY_EXEC), HV_SUCCESS);
  EXPECT_EQ(guest->access(kBase, true), "r-x");
}

}  // namespace
}  // namespace hvtest
