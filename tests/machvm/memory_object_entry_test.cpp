// Named entries made on the host port (mach_memory_object_memory_entry and
// _64) and XNU's tests that use them: vm_memory_entry_parent_test.c and
// vm_test_90774260.c, in our words.
#include "machvm/vm_test_util.h"

using namespace vmtest;

namespace {

constexpr uint64_t KB4 = 4 << 10, KB16 = 16 << 10;

TEST(MemoryObjectEntry, ArgumentChecks) {
  mach_port_t h = 0xdeadbeef;
  EXPECT_KR(KERN_INVALID_HOST,
            mach_memory_object_memory_entry_64(HOST_NULL, TRUE, KB16, VM_PROT_DEFAULT, MEMORY_OBJECT_NULL, &h));
  EXPECT_KR(MACH_SEND_INVALID_DEST,
            mach_memory_object_memory_entry_64(0x4321, TRUE, KB16, VM_PROT_DEFAULT, MEMORY_OBJECT_NULL, &h));
  EXPECT_KR(KERN_INVALID_ARGUMENT,
            mach_memory_object_memory_entry_64(mach_host_self(), TRUE, 0, VM_PROT_DEFAULT, MEMORY_OBJECT_NULL, &h));
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_memory_object_memory_entry_64(mach_host_self(), TRUE, ~0ull, VM_PROT_DEFAULT,
                                                                     MEMORY_OBJECT_NULL, &h));
  // No pagers here, and an external object needs one.
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_memory_object_memory_entry_64(mach_host_self(), TRUE, KB16, VM_PROT_DEFAULT,
                                                                     0x1234, &h));
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_memory_object_memory_entry_64(mach_host_self(), FALSE, KB16, VM_PROT_DEFAULT,
                                                                     MEMORY_OBJECT_NULL, &h));
  EXPECT_EQ(h, 0xdeadbeefu) << "a refused call leaves the handle alone";
}

TEST(MemoryObjectEntry, FreshZeroMemorySharedByEveryMapping) {
  for (bool legacy : {false, true}) {
    mach_port_t h = MACH_PORT_NULL;
    const uint64_t size = 3 * page() + 5;  // rounded up to whole pages
    ASSERT_KR(KERN_SUCCESS,
              legacy ? mach_memory_object_memory_entry(mach_host_self(), TRUE, size, VM_PROT_DEFAULT,
                                                       MEMORY_OBJECT_NULL, &h)
                     : mach_memory_object_memory_entry_64(mach_host_self(), TRUE, size, VM_PROT_DEFAULT,
                                                          MEMORY_OBJECT_NULL, &h));
    mach_vm_address_t a = 0, b = 0;
    ASSERT_KR(KERN_SUCCESS, mach_vm_map(mach_task_self(), &a, 4 * page(), 0, VM_FLAGS_ANYWHERE, h, 0, FALSE,
                                        VM_PROT_DEFAULT, VM_PROT_DEFAULT, VM_INHERIT_DEFAULT));
    ASSERT_KR(KERN_SUCCESS, mach_vm_map(mach_task_self(), &b, page(), 0, VM_FLAGS_ANYWHERE, h, 3 * page(), FALSE,
                                        VM_PROT_DEFAULT, VM_PROT_DEFAULT, VM_INHERIT_DEFAULT));
    for (uint64_t i = 0; i < 4 * page(); i += 512) EXPECT_EQ(reinterpret_cast<char*>(a)[i], 0);
    reinterpret_cast<char*>(a)[3 * page() + 9] = 'x';
    EXPECT_EQ(reinterpret_cast<char*>(b)[9], 'x') << "both mappings show the entry's pages";
    mach_vm_address_t c = 0;
    EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_map(mach_task_self(), &c, 5 * page(), 0, VM_FLAGS_ANYWHERE, h, 0, FALSE,
                                                 VM_PROT_DEFAULT, VM_PROT_DEFAULT, VM_INHERIT_DEFAULT));
    mach_vm_deallocate(mach_task_self(), a, 4 * page());
    mach_vm_deallocate(mach_task_self(), b, page());
    EXPECT_KR(KERN_SUCCESS, mach_port_deallocate(mach_task_self(), h));
  }
}

// vm_memory_entry_parent: a child of a parent entry offset by two pages,
// itself offset by three pages, maps the source at 2 + 3 pages (x86_64).
TEST(MemoryObjectEntry, ChildOfAParentEntryMapsAtBothOffsets) {
  // As in the XNU test, the parent is asked for [src + 8K, src + 40K) of a
  // 32K allocation; here nothing is mapped after it. Without VM_SHARE the
  // entry is the first object only, so it simply ends with the allocation.
  const uint64_t size = KB16 * 2;
  Alloc src(size + KB16);
  ASSERT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), src.addr + size, KB16));
  src.size = size;
  for (uint64_t i = 0; i < src.size / KB4; ++i) std::memset(src.p() + KB4 * i, static_cast<int>((i + 1) * 0x11), KB4);
  const uint64_t parent_offset = KB4 * 2;
  memory_object_size_t psize = size;
  mach_port_t parent = MACH_PORT_NULL, child = MACH_PORT_NULL;
  ASSERT_KR(KERN_SUCCESS, mach_make_memory_entry_64(mach_task_self(), &psize, src.addr + parent_offset,
                                                    VM_PROT_READ | VM_PROT_WRITE, &parent, MACH_PORT_NULL));
  EXPECT_EQ(psize, size - parent_offset) << "the entry ends where the allocation does";
  const uint64_t child_offset = KB4 * 3;
  memory_object_size_t csize = KB4;
  ASSERT_KR(KERN_SUCCESS, mach_make_memory_entry_64(mach_task_self(), &csize, child_offset,
                                                    VM_PROT_READ | VM_PROT_WRITE | MAP_MEM_USE_DATA_ADDR, &child,
                                                    parent));
  mach_vm_address_t mapped = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_map(mach_task_self(), &mapped, csize, 0, VM_FLAGS_ANYWHERE, child, 0, FALSE,
                                      VM_PROT_READ | VM_PROT_WRITE, VM_PROT_READ | VM_PROT_WRITE, VM_INHERIT_NONE));
  EXPECT_EQ(std::memcmp(reinterpret_cast<void*>(mapped), src.p() + parent_offset + child_offset, csize), 0);
  mach_vm_deallocate(mach_task_self(), mapped, csize);
  mach_port_deallocate(mach_task_self(), child);
  mach_port_deallocate(mach_task_self(), parent);
}

// vm_memory_entry_named_reuse_parent
TEST(MemoryObjectEntry, NamedReuseOfTheMappedParentReturnsTheParent) {
  mach_port_t parent = MACH_PORT_NULL, entry = MACH_PORT_NULL;
  ASSERT_KR(KERN_SUCCESS, mach_memory_object_memory_entry_64(mach_host_self(), 1, KB16, VM_PROT_READ | VM_PROT_WRITE,
                                                            0, &parent));
  mach_vm_address_t a = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_map(mach_task_self(), &a, KB16, 0, VM_FLAGS_ANYWHERE, parent, 0, FALSE,
                                      VM_PROT_DEFAULT, VM_PROT_DEFAULT, VM_INHERIT_DEFAULT));
  memory_object_size_t es = KB16;
  EXPECT_KR(KERN_SUCCESS, mach_make_memory_entry_64(mach_task_self(), &es, a, MAP_MEM_NAMED_REUSE | VM_PROT_DEFAULT,
                                                    &entry, parent));
  EXPECT_EQ(entry, parent);
  mach_vm_deallocate(mach_task_self(), a, KB16);
  mach_port_deallocate(mach_task_self(), entry);
  mach_port_deallocate(mach_task_self(), parent);
}

// vm_memory_entry_parent_copy: a copy entry cannot be a parent; the
// caller's handle and size are left as they were.
TEST(MemoryObjectEntry, CopyEntryCannotBeAParent) {
  Alloc a(KB16);
  for (int flag : {MAP_MEM_VM_COPY, MAP_MEM_VM_SHARE}) {
    memory_object_size_t ps = KB16;
    mach_port_t parent = MACH_PORT_NULL;
    ASSERT_KR(KERN_SUCCESS,
              mach_make_memory_entry_64(mach_task_self(), &ps, a.addr, flag | VM_PROT_DEFAULT, &parent, MACH_PORT_NULL));
    memory_object_size_t es = KB16;
    mach_port_t h = 0xdeadbeef;
    EXPECT_KR(KERN_INVALID_ARGUMENT,
              mach_make_memory_entry_64(mach_task_self(), &es, a.addr, MAP_MEM_VM_COPY | VM_PROT_DEFAULT, &h, parent));
    EXPECT_EQ(h, 0xdeadbeefu);
    EXPECT_EQ(es, KB16);
    mach_port_deallocate(mach_task_self(), parent);
  }
}

// vm_memory_entry_from_parent_entry_insufficient_permissions
TEST(MemoryObjectEntry, ChildCannotGainRightsOverAReadOnlyParent) {
  mach_port_t parent = MACH_PORT_NULL;
  ASSERT_KR(KERN_SUCCESS,
            mach_memory_object_memory_entry_64(mach_host_self(), 1, KB16, VM_PROT_READ, 0, &parent));
  memory_object_size_t es = KB16;
  mach_port_t h = 0xdeadbeef;
  EXPECT_KR(KERN_PROTECTION_FAILURE,
            mach_make_memory_entry_64(mach_task_self(), &es, 0, VM_PROT_READ | VM_PROT_WRITE, &h, parent));
  EXPECT_EQ(h, 0xdeadbeefu);
  EXPECT_EQ(es, KB16);
  EXPECT_KR(KERN_SUCCESS, mach_make_memory_entry_64(mach_task_self(), &es, 0,
                                                    VM_PROT_READ | VM_PROT_WRITE | VM_PROT_IS_MASK, &h, parent));
  mach_vm_address_t a = 0;
  EXPECT_KR(KERN_INVALID_RIGHT, mach_vm_map(mach_task_self(), &a, KB16, 0, VM_FLAGS_ANYWHERE, parent, 0, FALSE,
                                            VM_PROT_READ | VM_PROT_WRITE, VM_PROT_READ | VM_PROT_WRITE,
                                            VM_INHERIT_DEFAULT));
  ASSERT_KR(KERN_SUCCESS, mach_vm_map(mach_task_self(), &a, KB16, 0, VM_FLAGS_ANYWHERE, parent, 0, FALSE, VM_PROT_READ,
                                      VM_PROT_READ, VM_INHERIT_DEFAULT));
  mach_vm_deallocate(mach_task_self(), a, KB16);
  mach_port_deallocate(mach_task_self(), h);
  mach_port_deallocate(mach_task_self(), parent);
}

// vm_test_90774260: a VM_COPY entry of host-entry memory, mapped shared and
// mapped copied. A write through the shared mapping reaches neither the
// original nor the copy.
TEST(MemoryObjectEntry, CopyEntryMappedSharedAndCopiedIsolatesTheOriginal) {
  const uint64_t size = 1024 * 1024;
  mach_port_t first = MACH_PORT_NULL, cow = MACH_PORT_NULL;
  ASSERT_KR(KERN_SUCCESS, mach_memory_object_memory_entry(mach_host_self(), 1, size, VM_PROT_READ | VM_PROT_WRITE, 0,
                                                         &first));
  mach_vm_address_t first_addr = 0, shared = 0, copied = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_map(mach_task_self(), &first_addr, size, 0, VM_FLAGS_ANYWHERE, first, 0, FALSE,
                                      VM_PROT_READ | VM_PROT_WRITE, VM_PROT_READ | VM_PROT_WRITE, VM_INHERIT_DEFAULT));
  *reinterpret_cast<int*>(first_addr) = 0xabcd;
  memory_object_size_t es = size;
  ASSERT_KR(KERN_SUCCESS, mach_make_memory_entry_64(mach_task_self(), &es, first_addr,
                                                    VM_PROT_READ | VM_PROT_WRITE | MAP_MEM_VM_COPY, &cow, 0));
  EXPECT_EQ(es, size) << "incomplete memory entry";
  ASSERT_KR(KERN_SUCCESS, mach_vm_map(mach_task_self(), &shared, size, 0, VM_FLAGS_ANYWHERE, cow, 0, FALSE,
                                      VM_PROT_READ | VM_PROT_WRITE, VM_PROT_READ | VM_PROT_WRITE, VM_INHERIT_DEFAULT));
  ASSERT_KR(KERN_SUCCESS, mach_vm_map(mach_task_self(), &copied, size, 0, VM_FLAGS_ANYWHERE, cow, 0, TRUE,
                                      VM_PROT_READ | VM_PROT_WRITE, VM_PROT_READ | VM_PROT_WRITE, VM_INHERIT_DEFAULT));
  *reinterpret_cast<int*>(shared) = 0x1234;
  EXPECT_EQ(*reinterpret_cast<int*>(first_addr), 0xabcd) << "original";
  EXPECT_EQ(*reinterpret_cast<int*>(shared), 0x1234) << "shared view";
  EXPECT_EQ(*reinterpret_cast<int*>(copied), 0xabcd) << "copied view";
  for (mach_vm_address_t x : {first_addr, shared, copied}) mach_vm_deallocate(mach_task_self(), x, size);
  mach_port_deallocate(mach_task_self(), cow);
  mach_port_deallocate(mach_task_self(), first);
}

}  // namespace
