// How macOS VMMs get guest RAM: mach_vm_allocate it, hv_vm_map it. The
// guest and the host must share one memory through protect/unmap, and the
// Mach layer's own calls (vm_protect on the host side, vm_copy snapshots)
// must not disturb what the guest sees.
#include <Hypervisor/hv.h>
#include <gtest/gtest.h>
#include <mach/mach.h>

#include <cstring>

#include "../hvapi/guest_probe.h"

namespace hvtest {
namespace {

constexpr uint64_t P = 4096;

TEST(MachGuestRam, AllocatedMemoryIsGuestRam) {
  std::string why;
  if (!kvm_usable(&why)) GTEST_SKIP() << why;
  ASSERT_EQ(hv_vm_create(HV_VM_DEFAULT), HV_SUCCESS);
  auto guest = GuestProbe::create();
  ASSERT_NE(guest, nullptr);
  mach_vm_address_t ram = 0;
  ASSERT_EQ(mach_vm_allocate(mach_task_self(), &ram, 16 * P, VM_FLAGS_ANYWHERE), KERN_SUCCESS);
  auto* host = reinterpret_cast<uint8_t*>(ram);
  for (int i = 0; i < 16; ++i) memcpy(host + i * P, &i, 4);
  ASSERT_EQ(hv_vm_map(host, 0x100000, 16 * P, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC), HV_SUCCESS);
  for (int i = 0; i < 16; ++i) {
    Probe r = guest->read32(0x100000 + i * P);
    ASSERT_TRUE(r.ok()) << to_string(r);
    EXPECT_EQ(r.value, uint32_t(i));
  }
  ASSERT_TRUE(guest->write32(0x100000 + 3 * P + 8, 0xfeedface).ok());
  uint32_t v;
  memcpy(&v, host + 3 * P + 8, 4);
  EXPECT_EQ(v, 0xfeedfaceu);
  // A snapshot taken with vm_copy is a copy: later guest writes do not reach it.
  mach_vm_address_t snap = 0;
  ASSERT_EQ(mach_vm_allocate(mach_task_self(), &snap, 16 * P, VM_FLAGS_ANYWHERE), KERN_SUCCESS);
  ASSERT_EQ(mach_vm_copy(mach_task_self(), ram, 16 * P, snap), KERN_SUCCESS);
  ASSERT_TRUE(guest->write32(0x100000 + 3 * P + 8, 0x11111111).ok());
  memcpy(&v, reinterpret_cast<uint8_t*>(snap) + 3 * P + 8, 4);
  EXPECT_EQ(v, 0xfeedfaceu);
  memcpy(&v, host + 3 * P + 8, 4);
  EXPECT_EQ(v, 0x11111111u);
  // Guest permissions and host permissions are independent.
  ASSERT_EQ(hv_vm_protect(0x100000 + 5 * P, P, HV_MEMORY_READ), HV_SUCCESS);
  EXPECT_EQ(guest->write32(0x100000 + 5 * P, 1).kind, Probe::WriteFault);
  memcpy(host + 5 * P, "host", 4);  // the host still writes its own memory
  EXPECT_EQ(guest->read32(0x100000 + 5 * P).value, 0x74736f68u);
  ASSERT_EQ(hv_vm_unmap(0x100000, 16 * P), HV_SUCCESS);
  guest.reset();
  EXPECT_EQ(hv_vm_destroy(), HV_SUCCESS);
  EXPECT_EQ(mach_vm_deallocate(mach_task_self(), ram, 16 * P), KERN_SUCCESS);
  EXPECT_EQ(mach_vm_deallocate(mach_task_self(), snap, 16 * P), KERN_SUCCESS);
}

}  // namespace
}  // namespace hvtest
