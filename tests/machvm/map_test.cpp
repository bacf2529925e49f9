// mach_vm_map (anonymous and memory entries) and mach_make_memory_entry_64:
// flags, masks, FIXED/OVERWRITE atomicity, sharing vs copying.
#include <sys/mman.h>

#include "machvm/sys.h"
#include "machvm/vm_test_util.h"

using namespace vmtest;

namespace {

mach_port_t named_entry(mach_vm_size_t size, vm_prot_t prot = VM_PROT_DEFAULT) {
  memory_object_size_t s = size;
  mach_port_t h = MACH_PORT_NULL;
  EXPECT_KR(KERN_SUCCESS, mach_make_memory_entry_64(mach_task_self(), &s, 0, prot | MAP_MEM_NAMED_CREATE, &h,
                                                    MACH_PORT_NULL));
  return h;
}

mach_vm_address_t map_entry(mach_port_t h, mach_vm_size_t size, boolean_t copy, mach_vm_offset_t off = 0,
                            int flags = VM_FLAGS_ANYWHERE, mach_vm_address_t at = 0) {
  mach_vm_address_t a = at;
  EXPECT_KR(KERN_SUCCESS, mach_vm_map(mach_task_self(), &a, size, 0, flags, h, off, copy, VM_PROT_DEFAULT,
                                      VM_PROT_DEFAULT, VM_INHERIT_DEFAULT));
  return a;
}

TEST(Map, AnonymousZeroSizeIsInvalidArgument) {
  mach_vm_address_t a = 0;
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_map(mach_task_self(), &a, 0, 0, VM_FLAGS_ANYWHERE, MACH_PORT_NULL, 0,
                                               FALSE, VM_PROT_DEFAULT, VM_PROT_ALL, VM_INHERIT_DEFAULT));
}

TEST(Map, BadProtectionsAndInheritanceAreInvalidArgument) {
  mach_vm_address_t a = 0;
  for (vm_prot_t bad : {VM_PROT_ALL + 1, ~VM_PROT_IS_MASK, 0x7fffffff}) {
    EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_map(mach_task_self(), &a, page(), 0, VM_FLAGS_ANYWHERE, MACH_PORT_NULL,
                                                 0, FALSE, bad, VM_PROT_ALL, VM_INHERIT_DEFAULT));
    EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_map(mach_task_self(), &a, page(), 0, VM_FLAGS_ANYWHERE, MACH_PORT_NULL,
                                                 0, FALSE, VM_PROT_DEFAULT, bad, VM_INHERIT_DEFAULT));
  }
  for (vm_inherit_t bad : {3u, 0xffffffffu})
    EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_map(mach_task_self(), &a, page(), 0, VM_FLAGS_ANYWHERE, MACH_PORT_NULL,
                                                 0, FALSE, VM_PROT_DEFAULT, VM_PROT_ALL, bad));
}

TEST(Map, CurBeyondMaxIsClipped) {
  mach_vm_address_t a = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_map(mach_task_self(), &a, page(), 0, VM_FLAGS_ANYWHERE, MACH_PORT_NULL, 0, FALSE,
                                     VM_PROT_DEFAULT, VM_PROT_READ, VM_INHERIT_DEFAULT));
  mach_vm_address_t r = a;
  mach_vm_size_t s = 0;
  auto info = basic_info(r, s);
  EXPECT_EQ(info.protection, VM_PROT_READ);
  EXPECT_EQ(info.max_protection, VM_PROT_READ);
  EXPECT_TRUE(faults([&] { touch_write(a); }));
  mach_vm_deallocate(mach_task_self(), a, page());
}

TEST(Map, MasksAlignTheResult) {
  for (mach_vm_offset_t mask : {0xFFFULL, 0xFFFFULL, 0x1FFFFFULL}) {
    mach_vm_address_t a = 0;
    ASSERT_KR(KERN_SUCCESS, mach_vm_map(mach_task_self(), &a, 3 * page(), mask, VM_FLAGS_ANYWHERE, MACH_PORT_NULL, 0,
                                       FALSE, VM_PROT_DEFAULT, VM_PROT_ALL, VM_INHERIT_DEFAULT));
    EXPECT_EQ(a & mask, 0u) << std::hex << mask;
    touch_write(a + 2 * page());
    mach_vm_deallocate(mach_task_self(), a, 3 * page());
  }
  mach_vm_address_t a = 0;
  EXPECT_KR(KERN_NO_SPACE, mach_vm_map(mach_task_self(), &a, page(), UINT64_MAX, VM_FLAGS_ANYWHERE, MACH_PORT_NULL,
                                       0, FALSE, VM_PROT_DEFAULT, VM_PROT_ALL, VM_INHERIT_DEFAULT));
  a = 0x10001000;
  EXPECT_KR(KERN_NO_SPACE, mach_vm_map(mach_task_self(), &a, page(), 0xFFFFF, VM_FLAGS_FIXED, MACH_PORT_NULL, 0,
                                       FALSE, VM_PROT_DEFAULT, VM_PROT_ALL, VM_INHERIT_DEFAULT));
}

TEST(Map, AnywhereStartsAtTheHintAndNeverWraps) {
  mach_vm_address_t hint = 0x500000000000ULL;
  mach_vm_address_t a = hint;
  ASSERT_KR(KERN_SUCCESS, mach_vm_map(mach_task_self(), &a, page(), 0, VM_FLAGS_ANYWHERE, MACH_PORT_NULL, 0, FALSE,
                                     VM_PROT_DEFAULT, VM_PROT_ALL, VM_INHERIT_DEFAULT));
  EXPECT_GE(a, hint);
  mach_vm_deallocate(mach_task_self(), a, page());
  a = 0x00007ffffffff000ULL - page();
  mach_vm_address_t top = a;
  kern_return_t kr = mach_vm_map(mach_task_self(), &a, 4 * page(), 0, VM_FLAGS_ANYWHERE, MACH_PORT_NULL, 0, FALSE,
                                 VM_PROT_DEFAULT, VM_PROT_ALL, VM_INHERIT_DEFAULT);
  EXPECT_KR(KERN_NO_SPACE, kr) << "hint " << std::hex << top;
}

TEST(Map, FixedOnOccupiedIsNoSpaceAndDoesNotClobber) {
  Alloc al(2 * page());
  std::strcpy(al.p(), "keep me");
  mach_vm_address_t a = al.addr;
  EXPECT_KR(KERN_NO_SPACE, mach_vm_map(mach_task_self(), &a, page(), 0, VM_FLAGS_FIXED, MACH_PORT_NULL, 0, FALSE,
                                       VM_PROT_DEFAULT, VM_PROT_ALL, VM_INHERIT_DEFAULT));
  EXPECT_STREQ(al.p(), "keep me");
}

TEST(Map, FixedOverwriteReplacesAtomically) {
  Alloc al(2 * page());
  std::strcpy(al.p(), "old");
  std::strcpy(al.p() + page(), "second");
  mach_port_t h = named_entry(page());
  std::strcpy(reinterpret_cast<char*>(map_entry(h, page(), FALSE)), "entry");
  mach_vm_address_t a = al.addr;
  ASSERT_KR(KERN_SUCCESS, mach_vm_map(mach_task_self(), &a, page(), 0, VM_FLAGS_FIXED | VM_FLAGS_OVERWRITE, h, 0,
                                     FALSE, VM_PROT_DEFAULT, VM_PROT_DEFAULT, VM_INHERIT_DEFAULT));
  EXPECT_EQ(a, al.addr);
  EXPECT_STREQ(al.p(), "entry");
  EXPECT_STREQ(al.p() + page(), "second") << "only the requested range is replaced";
  mach_port_deallocate(mach_task_self(), h);
}

TEST(Map, FailedOverwriteLeavesTheOldMappingIntact) {
  Alloc al(2 * page());
  std::strcpy(al.p(), "precious");
  mach_port_t ro = named_entry(page(), VM_PROT_READ);
  mach_vm_address_t a = al.addr;
  // Refused before anything happens: the entry does not allow writing.
  EXPECT_KR(KERN_INVALID_RIGHT, mach_vm_map(mach_task_self(), &a, page(), 0, VM_FLAGS_FIXED | VM_FLAGS_OVERWRITE, ro,
                                            0, FALSE, VM_PROT_DEFAULT, VM_PROT_DEFAULT, VM_INHERIT_DEFAULT));
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_map(mach_task_self(), &a, 2 * page(), 0,
                                               VM_FLAGS_FIXED | VM_FLAGS_OVERWRITE, ro, 0, FALSE, VM_PROT_READ,
                                               VM_PROT_READ, VM_INHERIT_DEFAULT));
  // Refused while mapping: the kernel fails the new mapping.
  mach_port_t rw = named_entry(2 * page());
  // (The scratch range is the first mmap, the object's pages the second.)
  namespace mt = hvshim::machvm::testing;
  mt::inject_failure(mt::kMmap, 1, ENOMEM);
  EXPECT_KR(KERN_RESOURCE_SHORTAGE, mach_vm_map(mach_task_self(), &a, 2 * page(), 0,
                                                VM_FLAGS_FIXED | VM_FLAGS_OVERWRITE, rw, 0, FALSE, VM_PROT_DEFAULT,
                                                VM_PROT_DEFAULT, VM_INHERIT_DEFAULT));
  EXPECT_TRUE(mt::injection_report().hit);
  mt::clear_injection();
  EXPECT_STREQ(al.p(), "precious");
  std::strcpy(al.p(), "still writable");
  mach_vm_address_t r = al.addr;
  mach_vm_size_t s = 0;
  basic_info(r, s);
  EXPECT_EQ(s, 2 * page());
  mach_port_deallocate(mach_task_self(), ro);
  mach_port_deallocate(mach_task_self(), rw);
}

TEST(Map, ReturnDataAddrKeepsTheInPageOffset) {
  Alloc al(2 * page());
  std::strcpy(al.p() + 100, "payload");
  memory_object_size_t s = 8;
  mach_port_t h = MACH_PORT_NULL;
  ASSERT_KR(KERN_SUCCESS, mach_make_memory_entry_64(mach_task_self(), &s, al.addr + 100,
                                                   VM_PROT_DEFAULT | MAP_MEM_USE_DATA_ADDR, &h, MACH_PORT_NULL));
  // XNU hands back the entry's size less its data offset: from the first
  // byte to the end of the last page.
  EXPECT_EQ(s, page() - 100) << "USE_DATA_ADDR size runs from the data to the page end";
  mach_vm_address_t a = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_map(mach_task_self(), &a, 8, 0, VM_FLAGS_ANYWHERE | VM_FLAGS_RETURN_DATA_ADDR, h, 0,
                                     FALSE, VM_PROT_DEFAULT, VM_PROT_DEFAULT, VM_INHERIT_DEFAULT));
  EXPECT_EQ(a % page(), 100u);
  EXPECT_STREQ(reinterpret_cast<char*>(a), "payload");
  mach_vm_deallocate(mach_task_self(), a, 8);
  mach_port_deallocate(mach_task_self(), h);
}

TEST(MemoryEntry, NamedCreateSharesBetweenMappings) {
  mach_port_t h = named_entry(3 * page());
  mach_vm_address_t a = map_entry(h, 3 * page(), FALSE), b = map_entry(h, 3 * page(), FALSE);
  ASSERT_NE(a, b);
  std::strcpy(reinterpret_cast<char*>(a + page()), "from a");
  EXPECT_STREQ(reinterpret_cast<char*>(b + page()), "from a");
  std::strcpy(reinterpret_cast<char*>(b), "from b");
  EXPECT_STREQ(reinterpret_cast<char*>(a), "from b");
  mach_vm_address_t r = a;
  mach_vm_size_t s = 0;
  EXPECT_TRUE(basic_info(r, s).shared);
  // Mapped with copy=TRUE: a private snapshot.
  mach_vm_address_t c = map_entry(h, 3 * page(), TRUE);
  EXPECT_STREQ(reinterpret_cast<char*>(c), "from b");
  std::strcpy(reinterpret_cast<char*>(c), "private");
  EXPECT_STREQ(reinterpret_cast<char*>(a), "from b");
  std::strcpy(reinterpret_cast<char*>(a), "later");
  EXPECT_STREQ(reinterpret_cast<char*>(c), "private");
  // The pages outlive the handle while mapped.
  EXPECT_KR(KERN_SUCCESS, mach_port_deallocate(mach_task_self(), h));
  EXPECT_STREQ(reinterpret_cast<char*>(b), "later");
  for (auto x : {a, b, c}) mach_vm_deallocate(mach_task_self(), x, 3 * page());
  EXPECT_KR(KERN_INVALID_NAME, mach_port_deallocate(mach_task_self(), h));
}

TEST(MemoryEntry, SizesAndLimits) {
  memory_object_size_t s = 1;
  mach_port_t h = MACH_PORT_NULL;
  ASSERT_KR(KERN_SUCCESS, mach_make_memory_entry_64(mach_task_self(), &s, 0, VM_PROT_DEFAULT | MAP_MEM_NAMED_CREATE,
                                                   &h, MACH_PORT_NULL));
  EXPECT_EQ(s, page());
  mach_vm_address_t a = 0;
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_map(mach_task_self(), &a, UINT64_MAX, 0, VM_FLAGS_ANYWHERE, h, 0, FALSE,
                                               VM_PROT_DEFAULT, VM_PROT_DEFAULT, VM_INHERIT_DEFAULT));
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_map(mach_task_self(), &a, 2 * page(), 0, VM_FLAGS_ANYWHERE, h, 0, FALSE,
                                               VM_PROT_DEFAULT, VM_PROT_DEFAULT, VM_INHERIT_DEFAULT));
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_map(mach_task_self(), &a, page(), 0, VM_FLAGS_ANYWHERE, h, page(), FALSE,
                                               VM_PROT_DEFAULT, VM_PROT_DEFAULT, VM_INHERIT_DEFAULT));
  mach_port_deallocate(mach_task_self(), h);
  s = UINT64_MAX - page() + 1;
  EXPECT_KR(KERN_FAILURE, mach_make_memory_entry_64(mach_task_self(), &s, 0, VM_PROT_DEFAULT | MAP_MEM_NAMED_CREATE,
                                                    &h, MACH_PORT_NULL));
  s = 0;
  h = 77;
  EXPECT_KR(KERN_SUCCESS, mach_make_memory_entry_64(mach_task_self(), &s, 0, VM_PROT_DEFAULT | MAP_MEM_NAMED_CREATE,
                                                    &h, MACH_PORT_NULL));
  EXPECT_EQ(h, static_cast<mach_port_t>(MACH_PORT_NULL));
  s = page();
  EXPECT_KR(KERN_INVALID_VALUE,
            mach_make_memory_entry_64(mach_task_self(), &s, 0, VM_PROT_DEFAULT | 0x100, &h, MACH_PORT_NULL));
  s = page();
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_make_memory_entry_64(mach_task_self(), &s, 0,
                                                             VM_PROT_READ | MAP_MEM_NAMED_CREATE | MAP_MEM_PURGABLE,
                                                             &h, MACH_PORT_NULL));
}

TEST(MemoryEntry, MapWithMoreRightsThanTheEntryIsInvalidRight) {
  mach_port_t h = named_entry(page(), VM_PROT_READ);
  mach_vm_address_t a = 0;
  EXPECT_KR(KERN_INVALID_RIGHT, mach_vm_map(mach_task_self(), &a, page(), 0, VM_FLAGS_ANYWHERE, h, 0, FALSE,
                                            VM_PROT_READ, VM_PROT_DEFAULT, VM_INHERIT_DEFAULT));
  // With IS_MASK the request is reduced instead.
  ASSERT_KR(KERN_SUCCESS, mach_vm_map(mach_task_self(), &a, page(), 0, VM_FLAGS_ANYWHERE, h, 0, FALSE,
                                     VM_PROT_DEFAULT | VM_PROT_IS_MASK, VM_PROT_ALL | VM_PROT_IS_MASK,
                                     VM_INHERIT_DEFAULT));
  mach_vm_address_t r = a;
  mach_vm_size_t s = 0;
  auto info = basic_info(r, s);
  EXPECT_EQ(info.protection, VM_PROT_READ);
  EXPECT_EQ(info.max_protection, VM_PROT_READ);
  EXPECT_TRUE(faults([&] { touch_write(a); }));
  mach_vm_deallocate(mach_task_self(), a, page());
  mach_port_deallocate(mach_task_self(), h);
  a = 0;
  EXPECT_KR(MACH_SEND_INVALID_RIGHT, mach_vm_map(mach_task_self(), &a, page(), 0, VM_FLAGS_ANYWHERE, 0x7777, 0, FALSE,
                                                 VM_PROT_READ, VM_PROT_READ, VM_INHERIT_DEFAULT));
}

TEST(MemoryEntry, VmShareOfAllocatedMemoryAliasesIt) {
  Alloc al(4 * page());
  memory_object_size_t s = 4 * page();
  mach_port_t h = MACH_PORT_NULL;
  ASSERT_KR(KERN_SUCCESS, mach_make_memory_entry_64(mach_task_self(), &s, al.addr, VM_PROT_DEFAULT | MAP_MEM_VM_SHARE,
                                                   &h, MACH_PORT_NULL));
  EXPECT_EQ(s, 4 * page());
  mach_vm_address_t b = map_entry(h, 4 * page(), FALSE);
  std::strcpy(al.p() + 3 * page(), "both ways");
  EXPECT_STREQ(reinterpret_cast<char*>(b + 3 * page()), "both ways");
  std::strcpy(reinterpret_cast<char*>(b), "back");
  EXPECT_STREQ(al.p(), "back");
  mach_vm_deallocate(mach_task_self(), b, 4 * page());
  mach_port_deallocate(mach_task_self(), h);
}

TEST(MemoryEntry, AskingForMoreThanTheRegionAllowsIsProtectionFailure) {
  Alloc al(page());
  ASSERT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), al.addr, page(), FALSE, VM_PROT_READ));
  memory_object_size_t s = page();
  mach_port_t h = MACH_PORT_NULL;
  EXPECT_KR(KERN_PROTECTION_FAILURE,
            mach_make_memory_entry_64(mach_task_self(), &s, al.addr, VM_PROT_DEFAULT, &h, MACH_PORT_NULL));
  ASSERT_KR(KERN_SUCCESS, mach_make_memory_entry_64(mach_task_self(), &s, al.addr, VM_PROT_DEFAULT | VM_PROT_IS_MASK,
                                                   &h, MACH_PORT_NULL));
  mach_vm_address_t a = 0;
  EXPECT_KR(KERN_INVALID_RIGHT, mach_vm_map(mach_task_self(), &a, page(), 0, VM_FLAGS_ANYWHERE, h, 0, FALSE,
                                            VM_PROT_DEFAULT, VM_PROT_DEFAULT, VM_INHERIT_DEFAULT));
  mach_port_deallocate(mach_task_self(), h);
}

TEST(MemoryEntry, WithoutVmShareOnlyTheFirstObjectIsDescribed) {
  // Two separate allocations that happen to be adjacent.
  mach_vm_address_t base = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &base, 4 * page(), VM_FLAGS_ANYWHERE));
  ASSERT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), base + 2 * page(), 2 * page()));
  mach_vm_address_t second = base + 2 * page();
  ASSERT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &second, 2 * page(), VM_FLAGS_FIXED));
  memory_object_size_t s = 4 * page();
  mach_port_t h = MACH_PORT_NULL;
  ASSERT_KR(KERN_SUCCESS, mach_make_memory_entry_64(mach_task_self(), &s, base, VM_PROT_DEFAULT, &h, MACH_PORT_NULL));
  EXPECT_EQ(s, 2 * page());
  mach_port_deallocate(mach_task_self(), h);
  s = 4 * page();
  ASSERT_KR(KERN_SUCCESS, mach_make_memory_entry_64(mach_task_self(), &s, base, VM_PROT_DEFAULT | MAP_MEM_VM_SHARE, &h,
                                                   MACH_PORT_NULL));
  EXPECT_EQ(s, 4 * page());
  mach_vm_address_t m = map_entry(h, 4 * page(), FALSE);
  touch_write(second + page(), 42);
  EXPECT_EQ(reinterpret_cast<char*>(m)[3 * page()], 42);
  mach_vm_deallocate(mach_task_self(), m, 4 * page());
  mach_port_deallocate(mach_task_self(), h);
  mach_vm_deallocate(mach_task_self(), base, 4 * page());
}

TEST(MemoryEntry, VmCopyEntryIsASnapshot) {
  // vm_test_90774260 / map_memory_entry: a VM_COPY entry never sees later
  // writes to the original, and its shared and copied mappings behave.
  Alloc al(page());
  al.p()[0] = '1';
  memory_object_size_t s = page();
  mach_port_t h = MACH_PORT_NULL;
  ASSERT_KR(KERN_SUCCESS, mach_make_memory_entry_64(mach_task_self(), &s, al.addr, VM_PROT_DEFAULT | MAP_MEM_VM_COPY,
                                                   &h, MACH_PORT_NULL));
  EXPECT_GE(s, 1u);
  al.p()[0] = '2';
  mach_vm_address_t shared = map_entry(h, page(), FALSE), cow = map_entry(h, page(), TRUE);
  EXPECT_EQ(reinterpret_cast<char*>(shared)[0], '1');
  EXPECT_EQ(reinterpret_cast<char*>(cow)[0], '1');
  reinterpret_cast<char*>(shared)[0] = '3';
  EXPECT_EQ(reinterpret_cast<char*>(cow)[0], '1');
  EXPECT_EQ(al.p()[0], '2');
  mach_vm_address_t shared2 = map_entry(h, page(), FALSE);
  EXPECT_EQ(reinterpret_cast<char*>(shared2)[0], '3');
  for (auto x : {shared, cow, shared2}) mach_vm_deallocate(mach_task_self(), x, page());
  mach_port_deallocate(mach_task_self(), h);
}

TEST(MemoryEntry, ParentEntriesAndNamedReuse) {
  mach_port_t parent = named_entry(4 * page());
  memory_object_size_t s = page();
  mach_port_t child = MACH_PORT_NULL;
  ASSERT_KR(KERN_SUCCESS, mach_make_memory_entry_64(mach_task_self(), &s, 2 * page(), VM_PROT_READ, &child, parent));
  EXPECT_NE(child, parent);
  mach_vm_address_t pm = map_entry(parent, 4 * page(), FALSE);
  std::strcpy(reinterpret_cast<char*>(pm + 2 * page()), "third page");
  mach_vm_address_t cm = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_map(mach_task_self(), &cm, page(), 0, VM_FLAGS_ANYWHERE, child, 0, FALSE,
                                     VM_PROT_READ, VM_PROT_READ, VM_INHERIT_DEFAULT));
  EXPECT_STREQ(reinterpret_cast<char*>(cm), "third page");
  // Beyond the parent, or more rights than the parent: refused.
  s = 2 * page();
  mach_port_t bad = MACH_PORT_NULL;
  EXPECT_KR(KERN_INVALID_ARGUMENT,
            mach_make_memory_entry_64(mach_task_self(), &s, 3 * page(), VM_PROT_READ, &bad, parent));
  s = page();
  EXPECT_KR(KERN_PROTECTION_FAILURE, mach_make_memory_entry_64(mach_task_self(), &s, 0, VM_PROT_DEFAULT, &bad, child));
  // NAMED_REUSE on the same range hands back the same handle.
  s = 4 * page();
  mach_port_t reused = MACH_PORT_NULL;
  ASSERT_KR(KERN_SUCCESS, mach_make_memory_entry_64(mach_task_self(), &s, pm, VM_PROT_DEFAULT | MAP_MEM_NAMED_REUSE,
                                                   &reused, parent));
  EXPECT_EQ(reused, parent);
  EXPECT_KR(KERN_SUCCESS, mach_port_deallocate(mach_task_self(), reused));
  EXPECT_KR(KERN_SUCCESS, mach_port_deallocate(mach_task_self(), parent));
  EXPECT_KR(KERN_INVALID_NAME, mach_port_deallocate(mach_task_self(), parent));
  // A copy entry cannot be a parent.
  memory_object_size_t cs = page();
  mach_port_t copy = MACH_PORT_NULL;
  ASSERT_KR(KERN_SUCCESS,
            mach_make_memory_entry_64(mach_task_self(), &cs, pm, VM_PROT_DEFAULT | MAP_MEM_VM_COPY, &copy, 0));
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_make_memory_entry_64(mach_task_self(), &cs, 0, VM_PROT_READ, &bad, copy));
  mach_port_deallocate(mach_task_self(), copy);
  mach_port_deallocate(mach_task_self(), child);
  mach_vm_deallocate(mach_task_self(), pm, 4 * page());
  mach_vm_deallocate(mach_task_self(), cm, page());
}

TEST(MemoryEntry, HoleOrForeignPrivateMemory) {
  Alloc al(2 * page());
  ASSERT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), al.addr + page(), page()));
  memory_object_size_t s = 2 * page();
  mach_port_t h = MACH_PORT_NULL;
  EXPECT_KR(KERN_INVALID_ADDRESS,
            mach_make_memory_entry_64(mach_task_self(), &s, al.addr, VM_PROT_DEFAULT | MAP_MEM_VM_SHARE, &h, 0));
  void* m = mmap(nullptr, page(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  s = page();
  EXPECT_KR(KERN_NOT_SUPPORTED, mach_make_memory_entry_64(mach_task_self(), &s, reinterpret_cast<uint64_t>(m),
                                                          VM_PROT_DEFAULT | MAP_MEM_VM_SHARE, &h, 0));
  // A snapshot of it is fine.
  *static_cast<int*>(m) = 99;
  s = page();
  ASSERT_KR(KERN_SUCCESS, mach_make_memory_entry_64(mach_task_self(), &s, reinterpret_cast<uint64_t>(m),
                                                   VM_PROT_DEFAULT | MAP_MEM_VM_COPY, &h, 0));
  mach_vm_address_t a = map_entry(h, page(), FALSE);
  EXPECT_EQ(*reinterpret_cast<int*>(a), 99);
  mach_vm_deallocate(mach_task_self(), a, page());
  mach_port_deallocate(mach_task_self(), h);
  munmap(m, page());
}

TEST(RealPrograms, MirroredRingBuffer) {
  // MAMirroredQueue: allocate 2x, make an entry for the first half, map it
  // over the second half; writes past the end wrap to the start.
  const mach_vm_size_t n = 4 * page();
  mach_vm_address_t buf = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &buf, 2 * n, VM_FLAGS_ANYWHERE));
  memory_object_size_t s = n;
  mach_port_t h = MACH_PORT_NULL;
  ASSERT_KR(KERN_SUCCESS, mach_make_memory_entry_64(mach_task_self(), &s, buf, VM_PROT_DEFAULT, &h, MACH_PORT_NULL));
  ASSERT_EQ(s, n);
  mach_vm_address_t mirror = buf + n;
  ASSERT_KR(KERN_SUCCESS, mach_vm_map(mach_task_self(), &mirror, n, 0, VM_FLAGS_FIXED | VM_FLAGS_OVERWRITE, h, 0,
                                     FALSE, VM_PROT_DEFAULT, VM_PROT_DEFAULT, VM_INHERIT_DEFAULT));
  ASSERT_EQ(mirror, buf + n);
  char* p = reinterpret_cast<char*>(buf);
  std::memcpy(p + n - 3, "wrapped", 8);
  EXPECT_EQ(std::memcmp(p, "pped", 5), 0);
  EXPECT_EQ(std::memcmp(p + n - 3, "wrapped", 8), 0);
  mach_port_deallocate(mach_task_self(), h);
  EXPECT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), buf, 2 * n));
}

TEST(RealPrograms, DolphinStyleArena) {
  // MemArenaDarwin: one named object; views of parts of it mapped into a
  // reserved range at fixed places, some twice.
  const mach_vm_size_t arena = 16 * page();
  mach_port_t h = named_entry(arena);
  mach_vm_address_t base = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &base, 32 * page(), VM_FLAGS_ANYWHERE));
  ASSERT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), base, 32 * page(), FALSE, VM_PROT_NONE));
  auto view = [&](mach_vm_offset_t obj_off, mach_vm_size_t len, mach_vm_address_t at) {
    mach_vm_address_t a = at;
    EXPECT_KR(KERN_SUCCESS, mach_vm_map(mach_task_self(), &a, len, 0, VM_FLAGS_FIXED | VM_FLAGS_OVERWRITE, h, obj_off,
                                        FALSE, VM_PROT_DEFAULT, VM_PROT_DEFAULT, VM_INHERIT_DEFAULT));
    return a;
  };
  mach_vm_address_t ram = view(0, 8 * page(), base);
  mach_vm_address_t mirror = view(0, 8 * page(), base + 16 * page());
  mach_vm_address_t exram = view(8 * page(), 4 * page(), base + 8 * page());
  std::strcpy(reinterpret_cast<char*>(ram + 5 * page()), "main ram");
  EXPECT_STREQ(reinterpret_cast<char*>(mirror + 5 * page()), "main ram");
  std::strcpy(reinterpret_cast<char*>(exram), "exram");
  EXPECT_TRUE(faults([&] { touch_read(base + 12 * page()); })) << "unmapped views stay inaccessible";
  // Releasing a view does not lose the arena contents.
  ASSERT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), ram, 8 * page()));
  mach_vm_address_t again = view(0, 8 * page(), base);
  EXPECT_STREQ(reinterpret_cast<char*>(again + 5 * page()), "main ram");
  mach_port_deallocate(mach_task_self(), h);
  mach_vm_deallocate(mach_task_self(), base, 32 * page());
}

TEST(Map, FileMemoryEntryWritesReachTheFile) {
  char path[] = "/tmp/machvm-file-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, 2 * page()), 0);
  void* m = mmap(nullptr, 2 * page(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ASSERT_NE(m, MAP_FAILED);
  memory_object_size_t s = 2 * page();
  mach_port_t h = MACH_PORT_NULL;
  ASSERT_KR(KERN_SUCCESS, mach_make_memory_entry_64(mach_task_self(), &s, reinterpret_cast<uint64_t>(m),
                                                   VM_PROT_DEFAULT, &h, MACH_PORT_NULL));
  mach_vm_address_t a = map_entry(h, 2 * page(), FALSE);
  std::strcpy(reinterpret_cast<char*>(a + page()), "via entry");
  EXPECT_STREQ(static_cast<char*>(m) + page(), "via entry");
  char buf[16] = {};
  ASSERT_EQ(pread(fd, buf, 10, static_cast<off_t>(page())), 10);
  EXPECT_STREQ(buf, "via entry");
  mach_vm_deallocate(mach_task_self(), a, 2 * page());
  mach_port_deallocate(mach_task_self(), h);
  munmap(m, 2 * page());
  close(fd);
  unlink(path);
}

}  // namespace
