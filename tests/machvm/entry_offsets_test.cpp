// tests/vm/mach_vm_map.c: memory entries over unaligned ranges, mapped with
// and without VM_FLAGS_RETURN_DATA_ADDR; the bytes must land where the
// returned address says they are.
#include "machvm/vm_test_util.h"

using namespace vmtest;

namespace {

TEST(EntryOffsets, UnalignedRangesAllFlagCombinations) {
  Alloc src(8 * page());
  for (uint64_t i = 0; i < src.size; ++i) src.p()[i] = static_cast<char>(i * 131 + 7);
  const uint64_t offsets[] = {0, 1, 100, page() - 1, page(), page() + 7, 2 * page() - 3};
  const uint64_t sizes[] = {1, 16, page() - 1, page(), page() + 1, 3 * page() - 5};
  const int entry_flags[] = {0, MAP_MEM_VM_SHARE, MAP_MEM_VM_COPY, MAP_MEM_USE_DATA_ADDR,
                             MAP_MEM_USE_DATA_ADDR | MAP_MEM_VM_SHARE, MAP_MEM_USE_DATA_ADDR | MAP_MEM_VM_COPY};
  int cases = 0;
  for (uint64_t off : offsets)
    for (uint64_t size : sizes)
      for (int ef : entry_flags)
        for (bool data_addr : {false, true}) {
          memory_object_size_t es = size;
          mach_port_t h = MACH_PORT_NULL;
          ASSERT_KR(KERN_SUCCESS, mach_make_memory_entry_64(mach_task_self(), &es, src.addr + off,
                                                           VM_PROT_DEFAULT | ef, &h, MACH_PORT_NULL));
          const bool use_data = ef & MAP_MEM_USE_DATA_ADDR;
          const uint64_t in_page = off % page();
          if (use_data)
            EXPECT_EQ(es, size);
          else
            EXPECT_EQ(es, mach_vm_round_page(in_page + size));
          // As programs do: map what the entry says it holds.
          const uint64_t map_size = use_data ? size : es;
          mach_vm_address_t a = 0;
          ASSERT_KR(KERN_SUCCESS,
                    mach_vm_map(mach_task_self(), &a, map_size, 0,
                                VM_FLAGS_ANYWHERE | (data_addr ? VM_FLAGS_RETURN_DATA_ADDR : 0), h, 0, FALSE,
                                VM_PROT_DEFAULT, VM_PROT_DEFAULT, VM_INHERIT_DEFAULT));
          // Where the caller's first byte is.
          uint64_t first = (data_addr && use_data) ? a : mach_vm_trunc_page(a) + in_page;
          if (data_addr && use_data) {
            EXPECT_EQ(a % page(), in_page);
          }
          if (!data_addr) {
            EXPECT_EQ(a % page(), 0u);
          }
          EXPECT_EQ(std::memcmp(reinterpret_cast<void*>(first), src.p() + off, size), 0)
              << "off " << off << " size " << size << " flags " << std::hex << ef << " data_addr " << data_addr;
          // Past the entry's last page: refused.
          const uint64_t room = mach_vm_round_page(in_page + size) - (use_data ? in_page : 0);
          mach_vm_address_t b = 0;
          EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_map(mach_task_self(), &b, room + 1, 0, VM_FLAGS_ANYWHERE, h, 0,
                                                       FALSE, VM_PROT_DEFAULT, VM_PROT_DEFAULT, VM_INHERIT_DEFAULT));
          mach_vm_deallocate(mach_task_self(), mach_vm_trunc_page(a), mach_vm_round_page(in_page + size));
          mach_port_deallocate(mach_task_self(), h);
          ++cases;
        }
  EXPECT_EQ(cases, 7 * 6 * 6 * 2);
}

}  // namespace
