// Every call with hostile addresses and sizes (in the spirit of XNU's
// vm_parameter_validation): never a crash, always a documented code, and a
// refused call leaves a sentinel allocation exactly as it was.
#include <set>
#include <vector>

#include "machvm/vm_test_util.h"

using namespace vmtest;

namespace {

std::vector<uint64_t> hostile_addrs(uint64_t valid) {
  return {0,        1,        page() - 1,       page(),           0x10000,           valid - page(), valid + 1,
          UINT64_MAX, UINT64_MAX - page() + 1, 0x00007ffffffff000ULL, 1ULL << 47, 1ULL << 63, valid};
}
std::vector<uint64_t> hostile_sizes() {
  return {0, 1, page() - 1, page(), page() + 1, 1ULL << 32, (1ULL << 32) - 1, UINT64_MAX, UINT64_MAX - page() + 1,
          1ULL << 63};
}

const std::set<kern_return_t> kAllowed = {KERN_SUCCESS,         KERN_INVALID_ADDRESS, KERN_PROTECTION_FAILURE,
                                          KERN_NO_SPACE,        KERN_INVALID_ARGUMENT, KERN_RESOURCE_SHORTAGE,
                                          KERN_NOT_SUPPORTED,   KERN_INVALID_RIGHT,    KERN_FAILURE,
                                          MACH_SEND_INVALID_MEMORY};

// The sweep runs in a forked child: calls that succeed on hostile ranges may
// change memory the test harness itself lives in (sanitizer runtimes
// included), so that address space is thrown away afterwards. The child
// reports through its exit status; its failures are printed as usual.
void sweep() {
  Alloc sentinel(4 * page());
  std::memset(sentinel.p(), 'S', sentinel.size);
  const uint64_t valid = sentinel.addr + page();  // inside, so every call has a real target too
  Alloc scratch(4 * page());
  // Calls that succeed on the valid target may write scratch's bytes into
  // the sentinel (mach_vm_write): give them the same bytes.
  std::memset(scratch.p(), 'S', scratch.size);
  int calls = 0;
  for (uint64_t a : hostile_addrs(valid)) {
    for (uint64_t s : hostile_sizes()) {
      auto check = [&](kern_return_t kr, const char* what) {
        ++calls;
        EXPECT_TRUE(kAllowed.count(kr)) << what << " addr " << std::hex << a << " size " << s << " -> " << kr;
      };
      mach_vm_address_t out = a;
      kern_return_t kr = mach_vm_allocate(mach_task_self(), &out, s, VM_FLAGS_FIXED);
      check(kr, "allocate FIXED");
      if (kr == KERN_SUCCESS && s) mach_vm_deallocate(mach_task_self(), out, s);
      out = a;
      kr = mach_vm_map(mach_task_self(), &out, s, 0, VM_FLAGS_ANYWHERE, MACH_PORT_NULL, 0, FALSE, VM_PROT_DEFAULT,
                       VM_PROT_ALL, VM_INHERIT_DEFAULT);
      check(kr, "map ANYWHERE");
      if (kr == KERN_SUCCESS) mach_vm_deallocate(mach_task_self(), out, s);
      check(mach_vm_protect(mach_task_self(), a, s, TRUE, VM_PROT_ALL), "protect raise-max");
      check(mach_vm_inherit(mach_task_self(), a, s, VM_INHERIT_COPY), "inherit");
      check(mach_vm_behavior_set(mach_task_self(), a, s, VM_BEHAVIOR_SEQUENTIAL), "behavior");
      check(mach_vm_msync(mach_task_self(), a, s, VM_SYNC_SYNCHRONOUS), "msync");
      vm_offset_t data = 0;
      mach_msg_type_number_t cnt = 0;
      kr = mach_vm_read(mach_task_self(), a, s, &data, &cnt);
      check(kr, "read");
      if (kr == KERN_SUCCESS && cnt) mach_vm_deallocate(mach_task_self(), data, cnt);
      mach_vm_size_t outsize = 0;
      check(mach_vm_read_overwrite(mach_task_self(), a, s, scratch.addr, &outsize), "read_overwrite");
      check(mach_vm_copy(mach_task_self(), a, s, scratch.addr), "copy from");
      check(mach_vm_write(mach_task_self(), a, scratch.addr, static_cast<mach_msg_type_number_t>(s & 0xffff)),
            "write");
      vm_prot_t cur, max;
      out = 0;
      kr = mach_vm_remap(mach_task_self(), &out, s, 0, VM_FLAGS_ANYWHERE, mach_task_self(), a, TRUE, &cur, &max,
                         VM_INHERIT_DEFAULT);
      check(kr, "remap copy");
      if (kr == KERN_SUCCESS) mach_vm_deallocate(mach_task_self(), out, s);
      memory_object_size_t es = s;
      mach_port_t h = MACH_PORT_NULL;
      kr = mach_make_memory_entry_64(mach_task_self(), &es, a, VM_PROT_READ, &h, MACH_PORT_NULL);
      check(kr, "make_memory_entry");
      if (kr == KERN_SUCCESS && h) mach_port_deallocate(mach_task_self(), h);
      vm_machine_attribute_val_t v = MATTR_VAL_CACHE_FLUSH;
      check(mach_vm_machine_attribute(mach_task_self(), a, s, MATTR_CACHE, &v), "machine_attribute");
      integer_t disp, refs;
      check(mach_vm_page_query(mach_task_self(), a, &disp, &refs), "page_query");
    }
  }
  EXPECT_GT(calls, 1000);
  // Nothing above may have changed the sentinel's bytes or attributes.
  for (uint64_t i = 0; i < sentinel.size; ++i) ASSERT_EQ(sentinel.p()[i], 'S') << i;
  mach_vm_address_t r = sentinel.addr;
  mach_vm_size_t s = 0;
  auto info = basic_info(r, s);
  EXPECT_EQ(info.protection, VM_PROT_DEFAULT);
  EXPECT_EQ(info.max_protection, VM_PROT_ALL);
  EXPECT_EQ(info.behavior, VM_BEHAVIOR_SEQUENTIAL) << "the one change the loop makes on purpose";
}

TEST(HostileArguments, NoCrashAndOnlyDocumentedCodes) {
  int r = in_child([] {
    sweep();
    _exit(::testing::Test::HasFailure() ? 1 : 0);
  });
  EXPECT_EQ(r, 1000) << "1000 + exit status, or the signal that killed the sweep";
}

}  // namespace
