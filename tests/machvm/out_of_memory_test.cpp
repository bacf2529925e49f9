// The C boundary under memory exhaustion: when an allocation inside a Mach
// call throws std::bad_alloc, the call returns KERN_RESOURCE_SHORTAGE with a
// reason and the process goes on; the task's memory is as it was.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <string>

#include <hvshim/hvshim.h>
#include <mach/mach.h>
#include <mach/mach_vm.h>

#include "support/failing_new.h"

namespace {

// Whether any page of [a, a + size) is mapped in this process.
bool any_mapped(mach_vm_address_t a, mach_vm_size_t size) {
  for (mach_vm_size_t off = 0; off < size; off += vm_page_size)
    if (msync(reinterpret_cast<void*>(a + off), vm_page_size, MS_ASYNC) == 0) return true;
  return false;
}

TEST(OutOfMemoryTest, FirstAllocationFailingInAllocateIsResourceShortageAndChangesNothing) {
  const mach_vm_size_t size = 4 * vm_page_size;
  // A free range far below where mmap (and so malloc) places things, so
  // nothing else takes it while the test looks at it.
  void* want = reinterpret_cast<void*>(0x300000000000ull);
  void* hole = mmap(want, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (hole != want) GTEST_SKIP() << "0x300000000000 is not free here";
  ASSERT_EQ(munmap(hole, size), 0);
  const auto at = reinterpret_cast<mach_vm_address_t>(hole);

  mach_vm_address_t addr = at;
  hvshim::testing::fail_nth_allocation(1);
  kern_return_t kr = mach_vm_allocate(mach_task_self(), &addr, size, VM_FLAGS_FIXED);
  ASSERT_TRUE(hvshim::testing::stop_failing_allocations()) << "mach_vm_allocate made no allocation";
  EXPECT_EQ(kr, KERN_RESOURCE_SHORTAGE);
  EXPECT_EQ(addr, at);
  EXPECT_NE(std::string(hvshim_last_error()).find("mach_vm_allocate: out of memory"), std::string::npos)
      << hvshim_last_error();
  EXPECT_FALSE(any_mapped(at, size)) << "the refused allocate left pages mapped";
  mach_vm_address_t r = at;
  mach_vm_size_t rs = 0;
  vm_region_basic_info_data_64_t info{};
  mach_msg_type_number_t count = VM_REGION_BASIC_INFO_COUNT_64;
  mach_port_t object = MACH_PORT_NULL;
  kr = mach_vm_region(mach_task_self(), &r, &rs, VM_REGION_BASIC_INFO_64, reinterpret_cast<vm_region_info_t>(&info),
                      &count, &object);
  if (kr == KERN_SUCCESS) {
    EXPECT_GE(r, at + size) << "the task still lists a region in the refused range";
  }

  // With memory back, the same allocation succeeds and the pages work.
  ASSERT_EQ(mach_vm_allocate(mach_task_self(), &addr, size, VM_FLAGS_FIXED), KERN_SUCCESS);
  EXPECT_EQ(addr, at);
  static_cast<volatile char*>(reinterpret_cast<void*>(addr))[size - 1] = 1;
  EXPECT_EQ(mach_vm_deallocate(mach_task_self(), addr, size), KERN_SUCCESS);
}

}  // namespace
