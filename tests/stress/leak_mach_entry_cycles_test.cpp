// Mach memory entry cycles, as a macOS VMM builds guest RAM: a named entry
// (memfd underneath), mapped twice into the task, handed to the guest with
// hv_vm_map, a sub-entry made from the mapping, then everything released.
// Every cycle creates a memfd and several mappings; none may survive it.
#include <mach/mach.h>

#include "growth_check.h"
#include "stress_scale.h"
#include "vm_fixture.h"

namespace stress {
namespace {

constexpr uint64_t kData = 0x40000000;
constexpr mach_vm_size_t kSize = 16 * 4096;

class LeakMachTest : public GuestVmTest {};

TEST_F(LeakMachTest, MemoryEntryMapGuestDeallocate) {
  auto g = make_guest();
  ASSERT_NE(g, nullptr);
  const mach_port_t task = mach_task_self();
  auto cycle = [&](int i) {
    memory_object_size_t size = kSize;
    mach_port_t entry = MACH_PORT_NULL;
    EXPECT_EQ(mach_make_memory_entry_64(task, &size, 0, VM_PROT_DEFAULT | MAP_MEM_NAMED_CREATE, &entry,
                                        MACH_PORT_NULL),
              KERN_SUCCESS)
        << hvshim::last_error_cstr();
    mach_vm_address_t a = 0, b = 0;
    EXPECT_EQ(mach_vm_map(task, &a, kSize, 0, VM_FLAGS_ANYWHERE, entry, 0, FALSE, VM_PROT_DEFAULT, VM_PROT_DEFAULT,
                          VM_INHERIT_DEFAULT),
              KERN_SUCCESS);
    EXPECT_EQ(mach_vm_map(task, &b, kSize, 0, VM_FLAGS_ANYWHERE, entry, 0, FALSE, VM_PROT_DEFAULT, VM_PROT_DEFAULT,
                          VM_INHERIT_DEFAULT),
              KERN_SUCCESS);
    if (::testing::Test::HasFailure()) return false;
    auto* pa = reinterpret_cast<uint64_t*>(a);
    auto* pb = reinterpret_cast<uint64_t*>(b);
    const unsigned w = static_cast<unsigned>(i) % (kSize / 8);
    pa[w] = 0xa000000000000000ull | unsigned(i);
    // The guest reads what the host wrote through one mapping and writes
    // what the host then reads through the other: one object underneath.
    EXPECT_EQ(hv_vm_map(pa, kData, kSize, HV_MEMORY_READ | HV_MEMORY_WRITE), HV_SUCCESS) << hvshim::last_error_cstr();
    Access rd = g->read64(kData + 8 * w);
    EXPECT_TRUE(rd.ok() && rd.value == pa[w]) << "cycle " << i << ": " << to_string(rd);
    Access wr = g->write64(kData + 8 * w, uint64_t(i) * 3);
    EXPECT_TRUE(wr.ok()) << to_string(wr);
    EXPECT_EQ(pb[w], uint64_t(i) * 3);
    EXPECT_EQ(hv_vm_unmap(kData, kSize), HV_SUCCESS);
    // An entry made from the mapping (shares the object), then dropped.
    memory_object_size_t sub_size = 4096;
    mach_port_t sub = MACH_PORT_NULL;
    EXPECT_EQ(mach_make_memory_entry_64(task, &sub_size, a + 4096, VM_PROT_READ | MAP_MEM_VM_SHARE, &sub,
                                        MACH_PORT_NULL),
              KERN_SUCCESS)
        << hvshim::last_error_cstr();
    EXPECT_EQ(mach_port_deallocate(task, sub), KERN_SUCCESS);
    EXPECT_EQ(mach_vm_deallocate(task, a, kSize), KERN_SUCCESS);
    EXPECT_EQ(mach_vm_deallocate(task, b, kSize), KERN_SUCCESS);
    EXPECT_EQ(mach_port_deallocate(task, entry), KERN_SUCCESS);
    return !::testing::Test::HasFailure();
  };
  GrowthRun r = run_cycles(50, scaled(1500), cycle);
  expect_no_growth(r, "mach_make_memory_entry_64/mach_vm_map/hv_vm_map/deallocate");
}

}  // namespace
}  // namespace stress
