// msync, behavior_set, purgable_control, wire, machine_attribute.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "machvm/async_sync.h"
#include "machvm/vm_test_util.h"

using namespace vmtest;

namespace {

struct TempFile {
  char path[64] = "/tmp/machvm-sync-XXXXXX";
  int fd = -1;
  void* map = nullptr;
  size_t size;
  explicit TempFile(size_t n) : size(n) {
    fd = mkstemp(path);
    EXPECT_EQ(ftruncate(fd, static_cast<off_t>(n)), 0);
    map = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  }
  ~TempFile() {
    munmap(map, size);
    close(fd);
    unlink(path);
  }
  uint64_t addr() const { return reinterpret_cast<uint64_t>(map); }
};

TEST(Msync, FlagChecksAndHoles) {
  Alloc al(page());
  EXPECT_KR(KERN_INVALID_ARGUMENT,
            mach_vm_msync(mach_task_self(), al.addr, page(), VM_SYNC_SYNCHRONOUS | VM_SYNC_ASYNCHRONOUS));
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_msync(mach_task_self(), al.addr, page(), 0x1000));
  EXPECT_KR(KERN_SUCCESS, mach_vm_msync(mach_task_self(), al.addr, 0, VM_SYNC_SYNCHRONOUS));
  EXPECT_KR(KERN_SUCCESS, mach_vm_msync(mach_task_self(), 0x10000, page(), VM_SYNC_SYNCHRONOUS)) << "holes skipped";
  EXPECT_KR(KERN_INVALID_ADDRESS,
            mach_vm_msync(mach_task_self(), 0x10000, page(), VM_SYNC_SYNCHRONOUS | VM_SYNC_CONTIGUOUS));
  EXPECT_KR(KERN_SUCCESS, mach_vm_msync(mach_task_self(), al.addr, page(), VM_SYNC_SYNCHRONOUS));
}

TEST(Msync, FileMappingsAreWrittenBackSyncAndAsync) {
  TempFile f(2 * page());
  std::strcpy(static_cast<char*>(f.map), "sync data");
  ASSERT_KR(KERN_SUCCESS, mach_vm_msync(mach_task_self(), f.addr(), 2 * page(), VM_SYNC_SYNCHRONOUS));
  std::strcpy(static_cast<char*>(f.map) + page(), "async data");
  const unsigned long before = hvshim::machvm::testing::io_uring_submissions();
  ASSERT_KR(KERN_SUCCESS, mach_vm_msync(mach_task_self(), f.addr(), 2 * page(), VM_SYNC_ASYNCHRONOUS));
  if (hvshim::machvm::testing::io_uring_available()) {
    EXPECT_EQ(hvshim::machvm::testing::io_uring_submissions(), before + 1) << "async msync goes through io_uring";
  }
  // Through a memory entry of the file too.
  memory_object_size_t s = 2 * page();
  mach_port_t h = MACH_PORT_NULL;
  ASSERT_KR(KERN_SUCCESS, mach_make_memory_entry_64(mach_task_self(), &s, f.addr(), VM_PROT_DEFAULT, &h, 0));
  mach_vm_address_t a = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_map(mach_task_self(), &a, 2 * page(), 0, VM_FLAGS_ANYWHERE, h, 0, FALSE,
                                     VM_PROT_DEFAULT, VM_PROT_DEFAULT, VM_INHERIT_DEFAULT));
  std::strcpy(reinterpret_cast<char*>(a), "entry data");
  EXPECT_KR(KERN_SUCCESS, mach_vm_msync(mach_task_self(), a, 2 * page(), VM_SYNC_ASYNCHRONOUS));
  EXPECT_KR(KERN_SUCCESS, mach_vm_msync(mach_task_self(), a, 2 * page(), VM_SYNC_SYNCHRONOUS));
  char buf[16] = {};
  int fd2 = open(f.path, O_RDONLY);
  ASSERT_EQ(pread(fd2, buf, 11, 0), 11);
  EXPECT_STREQ(buf, "entry data");
  ASSERT_EQ(pread(fd2, buf, 11, static_cast<off_t>(page())), 11);
  EXPECT_STREQ(buf, "async data");
  close(fd2);
  EXPECT_KR(KERN_NOT_SUPPORTED, mach_vm_msync(mach_task_self(), a, page(), VM_SYNC_KILLPAGES));
  mach_vm_deallocate(mach_task_self(), a, 2 * page());
  mach_port_deallocate(mach_task_self(), h);
}

TEST(Msync, KillPagesDiscardsAnonymousContents) {
  Alloc al(2 * page());
  std::memset(al.p(), 'k', 2 * page());
  ASSERT_KR(KERN_SUCCESS, mach_vm_msync(mach_task_self(), al.addr, page(), VM_SYNC_KILLPAGES));
  EXPECT_EQ(al.p()[0], 0);
  EXPECT_EQ(al.p()[page()], 'k');
}

TEST(Behavior, ValidationAndRecording) {
  Alloc al(2 * page());
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_behavior_set(mach_task_self(), al.addr, page(), -1));
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_behavior_set(mach_task_self(), al.addr, page(), 13));
  EXPECT_KR(KERN_INVALID_ADDRESS, mach_vm_behavior_set(mach_task_self(), 0x10000, page(), VM_BEHAVIOR_RANDOM));
  ASSERT_KR(KERN_SUCCESS, mach_vm_behavior_set(mach_task_self(), al.addr + page(), page(), VM_BEHAVIOR_SEQUENTIAL));
  mach_vm_address_t r = al.addr + page();
  mach_vm_size_t s = 0;
  EXPECT_EQ(basic_info(r, s).behavior, VM_BEHAVIOR_SEQUENTIAL);
  r = al.addr;
  EXPECT_EQ(basic_info(r, s).behavior, VM_BEHAVIOR_DEFAULT);
  EXPECT_EQ(s, page());
}

TEST(Behavior, DontNeedKeepsContentsFreeAndZeroDiscard) {
  Alloc al(3 * page());
  std::memset(al.p(), 'b', 3 * page());
  ASSERT_KR(KERN_SUCCESS, mach_vm_behavior_set(mach_task_self(), al.addr, page(), VM_BEHAVIOR_DONTNEED));
  EXPECT_EQ(al.p()[0], 'b');
  ASSERT_KR(KERN_SUCCESS, mach_vm_behavior_set(mach_task_self(), al.addr + page(), page(), VM_BEHAVIOR_ZERO));
  EXPECT_EQ(al.p()[page()], 0);
  EXPECT_EQ(al.p()[2 * page()], 'b');
  ASSERT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), al.addr, page(), FALSE, VM_PROT_READ));
  EXPECT_KR(KERN_PROTECTION_FAILURE, mach_vm_behavior_set(mach_task_self(), al.addr, page(), VM_BEHAVIOR_ZERO));
  EXPECT_EQ(al.p()[0], 'b');
  EXPECT_KR(KERN_SUCCESS, mach_vm_behavior_set(mach_task_self(), al.addr, 3 * page(), VM_BEHAVIOR_WILLNEED));
}

TEST(Purgable, StateMachineAndRealDiscard) {
  mach_vm_address_t a = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &a, 4 * page(), VM_FLAGS_ANYWHERE | VM_FLAGS_PURGABLE));
  std::memset(reinterpret_cast<void*>(a), 'p', 4 * page());
  int state = -1;
  ASSERT_KR(KERN_SUCCESS, mach_vm_purgable_control(mach_task_self(), a, VM_PURGABLE_GET_STATE, &state));
  EXPECT_EQ(state, VM_PURGABLE_NONVOLATILE);
  state = VM_PURGABLE_VOLATILE | VM_VOLATILE_GROUP_2;
  ASSERT_KR(KERN_SUCCESS, mach_vm_purgable_control(mach_task_self(), a, VM_PURGABLE_SET_STATE, &state));
  EXPECT_EQ(state, VM_PURGABLE_NONVOLATILE) << "SET returns the old state";
  // Volatile pages survive until purged...
  EXPECT_EQ(reinterpret_cast<char*>(a)[0], 'p');
  int dummy = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_purgable_control(mach_task_self(), a, VM_PURGABLE_PURGE_ALL, &dummy));
  state = VM_PURGABLE_NONVOLATILE;
  ASSERT_KR(KERN_SUCCESS, mach_vm_purgable_control(mach_task_self(), a, VM_PURGABLE_SET_STATE, &state));
  EXPECT_EQ(state, VM_PURGABLE_EMPTY) << "...and purging empties them";
  EXPECT_EQ(reinterpret_cast<char*>(a)[0], 0);
  EXPECT_EQ(reinterpret_cast<char*>(a)[3 * page()], 0);
  // EMPTY discards at once and stays EMPTY when set volatile.
  std::memset(reinterpret_cast<void*>(a), 'q', page());
  state = VM_PURGABLE_EMPTY;
  ASSERT_KR(KERN_SUCCESS, mach_vm_purgable_control(mach_task_self(), a, VM_PURGABLE_SET_STATE, &state));
  EXPECT_EQ(reinterpret_cast<char*>(a)[0], 0);
  state = VM_PURGABLE_VOLATILE;
  ASSERT_KR(KERN_SUCCESS, mach_vm_purgable_control(mach_task_self(), a, VM_PURGABLE_SET_STATE, &state));
  ASSERT_KR(KERN_SUCCESS, mach_vm_purgable_control(mach_task_self(), a, VM_PURGABLE_GET_STATE, &state));
  EXPECT_EQ(state, VM_PURGABLE_EMPTY);
  mach_vm_deallocate(mach_task_self(), a, 4 * page());
}

TEST(Purgable, ErrorCodes) {
  mach_vm_address_t a = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &a, page(), VM_FLAGS_ANYWHERE | VM_FLAGS_PURGABLE));
  int state = VM_PURGABLE_DENY;
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_purgable_control(mach_task_self(), a, VM_PURGABLE_SET_STATE, &state));
  state = 0x40000000;
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_purgable_control(mach_task_self(), a, VM_PURGABLE_SET_STATE, &state));
  state = 0;
  EXPECT_KR(KERN_INVALID_ARGUMENT,
            mach_vm_purgable_control(mach_task_self(), a, VM_PURGABLE_SET_STATE_FROM_KERNEL, &state));
  EXPECT_KR(KERN_INVALID_ADDRESS, mach_vm_purgable_control(mach_task_self(), 0x10000, VM_PURGABLE_GET_STATE, &state));
  Alloc plain(page());
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_purgable_control(mach_task_self(), plain.addr, VM_PURGABLE_GET_STATE, &state));
  ASSERT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), a, page(), FALSE, VM_PROT_READ));
  state = VM_PURGABLE_VOLATILE;
  EXPECT_KR(KERN_PROTECTION_FAILURE, mach_vm_purgable_control(mach_task_self(), a, VM_PURGABLE_SET_STATE, &state));
  EXPECT_KR(KERN_SUCCESS, mach_vm_purgable_control(mach_task_self(), a, VM_PURGABLE_GET_STATE, &state));
  mach_vm_deallocate(mach_task_self(), a, page());
}

TEST(Purgable, NamedCreatePurgeableEntry) {
  memory_object_size_t s = page();
  mach_port_t h = MACH_PORT_NULL;
  ASSERT_KR(KERN_SUCCESS, mach_make_memory_entry_64(mach_task_self(), &s, 0,
                                                   VM_PROT_DEFAULT | MAP_MEM_NAMED_CREATE | MAP_MEM_PURGABLE, &h, 0));
  mach_vm_address_t a = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_map(mach_task_self(), &a, page(), 0, VM_FLAGS_ANYWHERE, h, 0, FALSE, VM_PROT_DEFAULT,
                                     VM_PROT_DEFAULT, VM_INHERIT_DEFAULT));
  int state = -1;
  EXPECT_KR(KERN_SUCCESS, mach_vm_purgable_control(mach_task_self(), a, VM_PURGABLE_GET_STATE, &state));
  EXPECT_EQ(state, VM_PURGABLE_NONVOLATILE);
  mach_vm_deallocate(mach_task_self(), a, page());
  mach_port_deallocate(mach_task_self(), h);
}

TEST(Wire, HostPortAndCounts) {
  Alloc al(2 * page());
  EXPECT_KR(KERN_INVALID_HOST, mach_vm_wire(mach_host_self(), mach_task_self(), al.addr, page(), VM_PROT_READ));
  EXPECT_KR(KERN_INVALID_HOST, mach_vm_wire(MACH_PORT_NULL, mach_task_self(), al.addr, page(), VM_PROT_READ));
  host_priv_t priv = MACH_PORT_NULL;
  if (host_get_host_priv_port(mach_host_self(), &priv) != KERN_SUCCESS) GTEST_SKIP() << "needs root";
  EXPECT_KR(KERN_INVALID_TASK, mach_vm_wire(priv, VM_MAP_NULL, al.addr, page(), VM_PROT_READ));
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_wire(priv, mach_task_self(), al.addr, page(), VM_PROT_NONE))
      << "unwiring what is not wired";
  ASSERT_KR(KERN_SUCCESS, mach_vm_wire(priv, mach_task_self(), al.addr, page(), VM_PROT_READ | VM_PROT_WRITE));
  ASSERT_KR(KERN_SUCCESS, mach_vm_wire(priv, mach_task_self(), al.addr, page(), VM_PROT_READ));
  mach_vm_address_t r = al.addr;
  mach_vm_size_t s = 0;
  EXPECT_EQ(basic_info(r, s).user_wired_count, 2);
  EXPECT_EQ(s, page());
  ASSERT_KR(KERN_SUCCESS, mach_vm_wire(priv, mach_task_self(), al.addr, page(), VM_PROT_NONE));
  ASSERT_KR(KERN_SUCCESS, mach_vm_wire(priv, mach_task_self(), al.addr, page(), VM_PROT_NONE));
  EXPECT_EQ(basic_info(r, s).user_wired_count, 0);
  EXPECT_EQ(s, 2 * page());
  EXPECT_KR(KERN_INVALID_ADDRESS, mach_vm_wire(priv, mach_task_self(), 0x10000, page(), VM_PROT_READ));
  ASSERT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), al.addr, page(), FALSE, VM_PROT_READ));
  EXPECT_KR(KERN_PROTECTION_FAILURE, mach_vm_wire(priv, mach_task_self(), al.addr, page(), VM_PROT_WRITE));
}

TEST(MachineAttribute, CacheFlushAndUnsupported) {
  Alloc al(page());
  vm_machine_attribute_val_t v = MATTR_VAL_CACHE_FLUSH;
  EXPECT_KR(KERN_SUCCESS, mach_vm_machine_attribute(mach_task_self(), al.addr, page(), MATTR_CACHE, &v));
  EXPECT_KR(KERN_SUCCESS, mach_vm_machine_attribute(mach_task_self(), al.addr, 0, MATTR_MIGRATE, &v));
  EXPECT_KR(KERN_INVALID_ADDRESS, mach_vm_machine_attribute(mach_task_self(), al.addr, page(), MATTR_MIGRATE, &v));
  EXPECT_KR(KERN_INVALID_ADDRESS,
            mach_vm_machine_attribute(mach_task_self(), 0xFFFF800000000000ULL, page(), MATTR_CACHE, &v));
  EXPECT_KR(KERN_INVALID_ADDRESS, mach_vm_machine_attribute(mach_task_self(), 0x10000, page(), MATTR_CACHE, &v));
}

}  // namespace
