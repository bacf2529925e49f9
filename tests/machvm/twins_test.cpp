// Every vm_* twin reaches the same implementation as its mach_vm_* call.
#include "machvm/vm_test_util.h"

using namespace vmtest;

namespace {

TEST(Twins, EveryVmCallWorks) {
  const mach_port_t self = mach_task_self();
  vm_address_t a = 0;
  ASSERT_KR(KERN_SUCCESS, vm_allocate(self, &a, 4 * vm_page_size, VM_FLAGS_ANYWHERE));
  std::strcpy(reinterpret_cast<char*>(a), "twin");
  EXPECT_KR(KERN_SUCCESS, vm_protect(self, a + 3 * vm_page_size, vm_page_size, FALSE, VM_PROT_READ));
  EXPECT_KR(KERN_SUCCESS, vm_inherit(self, a, vm_page_size, VM_INHERIT_SHARE));
  EXPECT_KR(KERN_SUCCESS, vm_behavior_set(self, a, vm_page_size, VM_BEHAVIOR_RANDOM));
  EXPECT_KR(KERN_SUCCESS, vm_msync(self, a, vm_page_size, VM_SYNC_SYNCHRONOUS));
  vm_machine_attribute_val_t v = MATTR_VAL_CACHE_SYNC;
  EXPECT_KR(KERN_SUCCESS, vm_machine_attribute(self, a, vm_page_size, MATTR_CACHE, &v));

  vm_offset_t data = 0;
  mach_msg_type_number_t cnt = 0;
  ASSERT_KR(KERN_SUCCESS, vm_read(self, a, 5, &data, &cnt));
  EXPECT_STREQ(reinterpret_cast<char*>(data), "twin");
  EXPECT_KR(KERN_SUCCESS, vm_deallocate(self, data, cnt));
  vm_read_entry_t list = {};
  list[0] = {a, 5};
  ASSERT_KR(KERN_SUCCESS, vm_read_list(self, list, 1));
  EXPECT_STREQ(reinterpret_cast<char*>(list[0].address), "twin");
  vm_deallocate(self, list[0].address, list[0].size);
  vm_size_t out = 0;
  ASSERT_KR(KERN_SUCCESS, vm_read_overwrite(self, a, 5, a + vm_page_size, &out));
  EXPECT_EQ(out, 5u);
  EXPECT_KR(KERN_SUCCESS, vm_write(self, a + 2 * vm_page_size, a, 5));
  EXPECT_KR(KERN_SUCCESS, vm_copy(self, a, vm_page_size, a + vm_page_size));
  EXPECT_STREQ(reinterpret_cast<char*>(a + 2 * vm_page_size), "twin");

  vm_address_t r = a;
  vm_size_t s = 0;
  vm_region_basic_info_data_64_t b64{};
  mach_msg_type_number_t count = VM_REGION_BASIC_INFO_COUNT_64;
  mach_port_t obj;
  ASSERT_KR(KERN_SUCCESS, vm_region_64(self, &r, &s, VM_REGION_BASIC_INFO_64, reinterpret_cast<vm_region_info_t>(&b64),
                                      &count, &obj));
  EXPECT_EQ(b64.inheritance, VM_INHERIT_SHARE);
  EXPECT_EQ(b64.behavior, VM_BEHAVIOR_RANDOM);
  natural_t depth = 0;
  vm_region_submap_info_data_t sub32{};
  count = VM_REGION_SUBMAP_INFO_COUNT;
  r = a + 3 * vm_page_size;
  ASSERT_KR(KERN_SUCCESS, vm_region_recurse(self, &r, &s, &depth, reinterpret_cast<vm_region_recurse_info_t>(&sub32),
                                           &count));
  EXPECT_EQ(sub32.protection, VM_PROT_READ);
  EXPECT_EQ(r, a + 3 * vm_page_size);
  count = VM_REGION_SUBMAP_INFO_COUNT - 1;
  EXPECT_KR(KERN_INVALID_ARGUMENT, vm_region_recurse(self, &r, &s, &depth,
                                                     reinterpret_cast<vm_region_recurse_info_t>(&sub32), &count));
  vm_region_submap_info_data_64_t sub64{};
  count = VM_REGION_SUBMAP_INFO_COUNT_64;
  ASSERT_KR(KERN_SUCCESS, vm_region_recurse_64(self, &r, &s, &depth,
                                              reinterpret_cast<vm_region_recurse_info_t>(&sub64), &count));
  integer_t disp = 0, refs = 0;
  EXPECT_KR(KERN_SUCCESS, vm_map_page_query(self, a, &disp, &refs));
  EXPECT_TRUE(disp & VM_PAGE_QUERY_PAGE_PRESENT);

  vm_size_t es = vm_page_size;
  mem_entry_name_port_t h = MACH_PORT_NULL;
  ASSERT_KR(KERN_SUCCESS, mach_make_memory_entry(self, &es, a, VM_PROT_DEFAULT, &h, MACH_PORT_NULL));
  vm_address_t m = 0;
  ASSERT_KR(KERN_SUCCESS, vm_map(self, &m, vm_page_size, 0, VM_FLAGS_ANYWHERE, h, 0, FALSE, VM_PROT_DEFAULT,
                                VM_PROT_DEFAULT, VM_INHERIT_DEFAULT));
  EXPECT_STREQ(reinterpret_cast<char*>(m), "twin");
  vm_address_t m64 = 0;
  ASSERT_KR(KERN_SUCCESS, vm_map_64(self, &m64, vm_page_size, 0, VM_FLAGS_ANYWHERE, h, 0, TRUE, VM_PROT_DEFAULT,
                                   VM_PROT_DEFAULT, VM_INHERIT_DEFAULT));
  EXPECT_STREQ(reinterpret_cast<char*>(m64), "twin");
  vm_address_t rm = 0, rn = 0;
  vm_prot_t cur = 0, max = 0;
  ASSERT_KR(KERN_SUCCESS, vm_remap(self, &rm, vm_page_size, 0, VM_FLAGS_ANYWHERE, self, a, FALSE, &cur, &max,
                                  VM_INHERIT_DEFAULT));
  cur = VM_PROT_READ;
  max = VM_PROT_READ;
  ASSERT_KR(KERN_SUCCESS, vm_remap_new(self, &rn, vm_page_size, 0, VM_FLAGS_ANYWHERE, self, a + 16, FALSE, &cur, &max,
                                      VM_INHERIT_DEFAULT));
  EXPECT_EQ(rn % vm_page_size, 16u) << "remap_new returns the data address";
  std::strcpy(reinterpret_cast<char*>(a), "both");
  EXPECT_STREQ(reinterpret_cast<char*>(m), "both");
  EXPECT_STREQ(reinterpret_cast<char*>(rm), "both");
  EXPECT_STREQ(reinterpret_cast<char*>(m64), "twin");

  vm_address_t p = 0;
  ASSERT_KR(KERN_SUCCESS, vm_allocate(self, &p, vm_page_size, VM_FLAGS_ANYWHERE | VM_FLAGS_PURGABLE));
  int state = 0;
  EXPECT_KR(KERN_SUCCESS, vm_purgable_control(self, p, VM_PURGABLE_GET_STATE, &state));
  EXPECT_KR(KERN_INVALID_HOST, vm_wire(mach_host_self(), self, a, vm_page_size, VM_PROT_READ));

  for (vm_address_t x : {m, m64, rm, p}) vm_deallocate(self, x, vm_page_size);
  vm_deallocate(self, rn, vm_page_size);
  mach_port_deallocate(self, h);
  EXPECT_KR(KERN_SUCCESS, vm_deallocate(self, a, 4 * vm_page_size));
}

}  // namespace
