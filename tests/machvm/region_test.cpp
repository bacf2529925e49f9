// mach_vm_region flavors, region_recurse, page_query/page_info, and the
// regions we did not create.
#include <sys/mman.h>

#include <chrono>
#include <vector>

#include "machvm/vm_test_util.h"

using namespace vmtest;

namespace {

TEST(Region, FlavorAndCountChecks) {
  Alloc al(page());
  mach_vm_address_t r = al.addr;
  mach_vm_size_t s = 0;
  int info[64] = {};
  mach_msg_type_number_t count = VM_REGION_BASIC_INFO_COUNT_64 - 1;
  mach_port_t obj;
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_region(mach_task_self(), &r, &s, VM_REGION_BASIC_INFO_64, info, &count, &obj));
  count = 64;
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_region(mach_task_self(), &r, &s, 99, info, &count, &obj));
  count = 64;
  EXPECT_KR(KERN_SUCCESS, mach_vm_region(mach_task_self(), &r, &s, VM_REGION_BASIC_INFO, info, &count, &obj));
  EXPECT_EQ(count, VM_REGION_BASIC_INFO_COUNT_64) << "mach_vm_region answers BASIC_INFO with the 64-bit layout";
  EXPECT_EQ(obj, static_cast<mach_port_t>(MACH_PORT_NULL));
  vm_address_t vr = al.addr;
  vm_size_t vs = 0;
  count = VM_REGION_BASIC_INFO_COUNT;
  ASSERT_KR(KERN_SUCCESS, vm_region(mach_task_self(), &vr, &vs, VM_REGION_BASIC_INFO, info, &count, &obj));
  auto* b = reinterpret_cast<vm_region_basic_info_data_t*>(info);
  EXPECT_EQ(b->protection, VM_PROT_DEFAULT);
  EXPECT_EQ(b->max_protection, VM_PROT_ALL);
  EXPECT_EQ(b->inheritance, VM_INHERIT_COPY);
  EXPECT_EQ(vs, page());
}

TEST(Region, NothingAboveIsInvalidAddress) {
  mach_vm_address_t r = 0x00007ffffffff000ULL;
  mach_vm_size_t s = 0;
  kern_return_t kr;
  basic_info(r, s, &kr);
  EXPECT_KR(KERN_INVALID_ADDRESS, kr);
  EXPECT_EQ(r, 0x00007ffffffff000ULL) << "a failed lookup leaves the address alone";
}

TEST(Region, ReportsTheStackAndLibrariesFromTheKernel) {
  int local = 0;
  mach_vm_address_t r = reinterpret_cast<uint64_t>(&local);
  mach_vm_size_t s = 0;
  auto info = basic_info(r, s);
  EXPECT_LE(r, reinterpret_cast<uint64_t>(&local));
  EXPECT_GT(r + s, reinterpret_cast<uint64_t>(&local));
  EXPECT_EQ(info.protection, VM_PROT_READ | VM_PROT_WRITE);
  r = reinterpret_cast<uint64_t>(&mach_vm_allocate);
  info = basic_info(r, s);
  EXPECT_TRUE(info.protection & VM_PROT_EXECUTE);
}

TEST(Region, WalkVisitsOurRegionsInOrder) {
  // Three separate allocations with a hole in the middle; a walk from the
  // first finds each, with their own attributes.
  mach_vm_address_t base = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &base, 5 * page(), VM_FLAGS_ANYWHERE));
  ASSERT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), base + 2 * page(), page()));
  ASSERT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), base + 3 * page(), 2 * page(), FALSE, VM_PROT_READ));
  mach_vm_address_t r = base;
  mach_vm_size_t s = 0;
  basic_info(r, s);
  EXPECT_EQ(r, base);
  EXPECT_EQ(s, 2 * page());
  r += s;
  auto info = basic_info(r, s);
  EXPECT_EQ(r, base + 3 * page());
  EXPECT_EQ(s, 2 * page());
  EXPECT_EQ(info.protection, VM_PROT_READ);
  mach_vm_deallocate(mach_task_self(), base, 5 * page());
}

TEST(Region, ExtendedAndTopInfo) {
  Alloc al(4 * page());
  touch_write(al.addr);
  touch_write(al.addr + 2 * page());
  vm_region_extended_info_data_t x{};
  mach_msg_type_number_t count = VM_REGION_EXTENDED_INFO_COUNT;
  mach_vm_address_t r = al.addr;
  mach_vm_size_t s = 0;
  mach_port_t obj;
  ASSERT_KR(KERN_SUCCESS, mach_vm_region(mach_task_self(), &r, &s, VM_REGION_EXTENDED_INFO,
                                        reinterpret_cast<vm_region_info_t>(&x), &count, &obj));
  EXPECT_EQ(x.pages_resident, 2u);
  EXPECT_EQ(x.share_mode, SM_PRIVATE);
  EXPECT_EQ(x.protection, VM_PROT_DEFAULT);
  vm_region_top_info_data_t t{};
  count = VM_REGION_TOP_INFO_COUNT;
  ASSERT_KR(KERN_SUCCESS, mach_vm_region(mach_task_self(), &r, &s, VM_REGION_TOP_INFO,
                                        reinterpret_cast<vm_region_info_t>(&t), &count, &obj));
  EXPECT_EQ(t.private_pages_resident, 2u);
  EXPECT_NE(t.obj_id, 0u);
  Alloc untouched(page());
  r = untouched.addr;
  count = VM_REGION_EXTENDED_INFO_COUNT;
  ASSERT_KR(KERN_SUCCESS, mach_vm_region(mach_task_self(), &r, &s, VM_REGION_EXTENDED_INFO,
                                        reinterpret_cast<vm_region_info_t>(&x), &count, &obj));
  EXPECT_EQ(x.share_mode, SM_EMPTY);
}

TEST(Region, ResidentCountOfAHugeSparseRegion) {
  // 1 TiB with three pages touched, one of them in the middle: the count is
  // exact (the fuzzer found this call walking every page of such regions).
  const mach_vm_size_t size = 1ULL << 40;
  mach_vm_address_t a = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &a, size, VM_FLAGS_ANYWHERE));
  for (uint64_t off : {uint64_t{0}, size / 2 + 5 * page(), size - page()}) touch_write(a + off);
  vm_region_extended_info_data_t x{};
  mach_msg_type_number_t count = VM_REGION_EXTENDED_INFO_COUNT;
  mach_vm_address_t r = a;
  mach_vm_size_t s = 0;
  mach_port_t obj;
  ASSERT_KR(KERN_SUCCESS, mach_vm_region(mach_task_self(), &r, &s, VM_REGION_EXTENDED_INFO,
                                        reinterpret_cast<vm_region_info_t>(&x), &count, &obj));
  EXPECT_EQ(s, size);
  EXPECT_EQ(x.pages_resident, 3u);
  // Half of it, from a view that starts inside the object.
  ASSERT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), a, size / 2));
  r = a + size / 2;
  count = VM_REGION_EXTENDED_INFO_COUNT;
  ASSERT_KR(KERN_SUCCESS, mach_vm_region(mach_task_self(), &r, &s, VM_REGION_EXTENDED_INFO,
                                        reinterpret_cast<vm_region_info_t>(&x), &count, &obj));
  EXPECT_EQ(x.pages_resident, 2u);
  mach_vm_deallocate(mach_task_self(), a + size / 2, size / 2);
}

TEST(Region, LongWalksSeeEveryRegionOnceAfterChanges) {
  // Region lookups remember their last answer; every change of the table
  // must show up in the next walk. 2000 one-page regions of alternating
  // protection, walked, thinned out and merged, walked again.
  const uint64_t n = 2000;
  mach_vm_address_t base = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &base, n * page(), VM_FLAGS_ANYWHERE));
  for (uint64_t k = 1; k < n; k += 2)
    ASSERT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), base + k * page(), page(), FALSE, VM_PROT_READ));
  auto walk = [&] {
    std::vector<std::pair<uint64_t, vm_prot_t>> seen;
    mach_vm_address_t a = base;
    while (a < base + n * page()) {
      mach_vm_size_t s = 0;
      kern_return_t kr;
      auto info = basic_info(a, s, &kr);
      if (kr != KERN_SUCCESS || a >= base + n * page()) break;
      seen.emplace_back((a - base) / page(), info.protection);
      a += s;
    }
    return seen;
  };
  auto first = walk();
  ASSERT_EQ(first.size(), n);
  for (uint64_t k = 0; k < n; ++k) EXPECT_EQ(first[k].second, k & 1 ? VM_PROT_READ : VM_PROT_DEFAULT);
  // Every fourth region goes, and the read-only ones become writable again
  // (merging with their writable neighbours where those remain).
  for (uint64_t k = 0; k < n; k += 4) ASSERT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), base + k * page(), page()));
  for (uint64_t k = 1; k < n; k += 2)
    ASSERT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), base + k * page(), page(), FALSE, VM_PROT_DEFAULT));
  auto second = walk();
  ASSERT_EQ(second.size(), n / 4) << "runs of three pages between the holes";
  for (uint64_t i = 0; i < second.size(); ++i) EXPECT_EQ(second[i].first, 4 * i + 1);
  mach_vm_deallocate(mach_task_self(), base, n * page());
}

TEST(RegionRecurse, ShortAndFullSubmapInfo) {
  Alloc al(2 * page());
  mach_vm_address_t r = al.addr;
  mach_vm_size_t s = 0;
  natural_t depth = 0;
  vm_region_submap_info_data_64_t full{};
  mach_msg_type_number_t count = 11;
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_region_recurse(mach_task_self(), &r, &s, &depth,
                                                          reinterpret_cast<vm_region_recurse_info_t>(&full), &count));
  count = VM_REGION_SUBMAP_SHORT_INFO_COUNT_64;
  vm_region_submap_short_info_data_64_t sh{};
  ASSERT_KR(KERN_SUCCESS, mach_vm_region_recurse(mach_task_self(), &r, &s, &depth,
                                                reinterpret_cast<vm_region_recurse_info_t>(&sh), &count));
  EXPECT_EQ(count, VM_REGION_SUBMAP_SHORT_INFO_COUNT_64);
  EXPECT_EQ(sh.protection, VM_PROT_DEFAULT);
  EXPECT_EQ(sh.is_submap, 0u);
  count = VM_REGION_SUBMAP_INFO_COUNT_64;
  ASSERT_KR(KERN_SUCCESS, mach_vm_region_recurse(mach_task_self(), &r, &s, &depth,
                                                reinterpret_cast<vm_region_recurse_info_t>(&full), &count));
  EXPECT_EQ(count, VM_REGION_SUBMAP_INFO_COUNT_64);
  const vm_object_id_t full_id = full.object_id_full;  // packed member: copy before binding
  EXPECT_EQ(full_id, static_cast<vm_object_id_t>(sh.object_id));
  EXPECT_EQ(depth, 0u);
  EXPECT_EQ(r, al.addr);
  EXPECT_EQ(s, 2 * page());
  count = VM_REGION_SUBMAP_INFO_V1_COUNT_64;
  ASSERT_KR(KERN_SUCCESS, mach_vm_region_recurse(mach_task_self(), &r, &s, &depth,
                                                reinterpret_cast<vm_region_recurse_info_t>(&full), &count));
  EXPECT_EQ(count, VM_REGION_SUBMAP_INFO_V1_COUNT_64);
  r = 0x00007ffffffff000ULL;
  count = VM_REGION_SUBMAP_INFO_COUNT_64;
  EXPECT_KR(KERN_INVALID_ADDRESS, mach_vm_region_recurse(mach_task_self(), &r, &s, &depth,
                                                         reinterpret_cast<vm_region_recurse_info_t>(&full), &count));
}

TEST(PageQuery, PresentAndUnmapped) {
  Alloc al(2 * page());
  integer_t disp = -1, refs = -1;
  ASSERT_KR(KERN_SUCCESS, mach_vm_page_query(mach_task_self(), al.addr, &disp, &refs));
  EXPECT_EQ(disp & VM_PAGE_QUERY_PAGE_PRESENT, 0);
  touch_write(al.addr);
  ASSERT_KR(KERN_SUCCESS, mach_vm_page_query(mach_task_self(), al.addr, &disp, &refs));
  EXPECT_TRUE(disp & VM_PAGE_QUERY_PAGE_PRESENT);
  EXPECT_TRUE(disp & VM_PAGE_QUERY_PAGE_DIRTY);
  EXPECT_GE(refs, 1);
  ASSERT_KR(KERN_SUCCESS, mach_vm_page_query(mach_task_self(), 0x10000, &disp, &refs));
  EXPECT_EQ(disp, 0);
  EXPECT_EQ(refs, 0);
  vm_page_info_basic_data_t pi{};
  mach_msg_type_number_t count = VM_PAGE_INFO_BASIC_COUNT;
  ASSERT_KR(KERN_SUCCESS, mach_vm_page_info(mach_task_self(), al.addr + page(), VM_PAGE_INFO_BASIC,
                                           reinterpret_cast<vm_page_info_t>(&pi), &count));
  EXPECT_EQ(pi.offset, page());
  EXPECT_NE(pi.object_id, 0u);
  count = VM_PAGE_INFO_BASIC_COUNT - 1;
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_page_info(mach_task_self(), al.addr, VM_PAGE_INFO_BASIC,
                                                     reinterpret_cast<vm_page_info_t>(&pi), &count));
  count = VM_PAGE_INFO_BASIC_COUNT;
  EXPECT_KR(KERN_INVALID_ARGUMENT,
            mach_vm_page_info(mach_task_self(), al.addr, 2, reinterpret_cast<vm_page_info_t>(&pi), &count));
}

}  // namespace
