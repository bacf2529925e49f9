// Inheritance across real fork()s, observed from both sides through pipes.
#include <sys/mman.h>

#include <thread>

#include "machvm/vm_test_util.h"

using namespace vmtest;

namespace {

// Forks; the child runs fn and exits with its return value.
int child_status(const std::function<int()>& fn) {
  pid_t pid = fork();
  if (pid == 0) {
    default_fault_signals();
    _exit(fn());
  }
  int st = 0;
  waitpid(pid, &st, 0);
  if (WIFSIGNALED(st)) return 1000 + WTERMSIG(st);
  return WEXITSTATUS(st);
}

TEST(Inherit, InvalidValuesAndZeroSize) {
  Alloc al(page());
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_inherit(mach_task_self(), al.addr, page(), VM_INHERIT_DONATE_COPY));
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_inherit(mach_task_self(), al.addr, page(), 77));
  EXPECT_KR(KERN_SUCCESS, mach_vm_inherit(mach_task_self(), 0, 0, VM_INHERIT_NONE));
  // Holes are ignored.
  EXPECT_KR(KERN_SUCCESS, mach_vm_inherit(mach_task_self(), 0x10000, page(), VM_INHERIT_SHARE));
  mach_vm_address_t r = al.addr;
  mach_vm_size_t s = 0;
  EXPECT_EQ(basic_info(r, s).inheritance, VM_INHERIT_DEFAULT);
  ASSERT_KR(KERN_SUCCESS, mach_vm_inherit(mach_task_self(), al.addr, page(), VM_INHERIT_SHARE));
  EXPECT_EQ(basic_info(r, s).inheritance, VM_INHERIT_SHARE);
}

TEST(Inherit, DefaultCopyGivesTheChildAPrivateCopy) {
  Alloc al(2 * page());
  std::strcpy(al.p(), "parent data");
  int to_parent[2], to_child[2];
  ASSERT_EQ(pipe(to_parent), 0);
  ASSERT_EQ(pipe(to_child), 0);
  pid_t pid = fork();
  if (pid == 0) {
    char c;
    int bad = std::strcmp(al.p(), "parent data") != 0;
    std::strcpy(al.p(), "child wrote");
    (void)!write(to_parent[1], "x", 1);
    (void)!read(to_child[0], &c, 1);  // parent has written by now
    bad |= (std::strcmp(al.p(), "child wrote") != 0) << 1;
    _exit(bad);
  }
  // Write right away: the child must never see this.
  std::strcpy(al.p() + page(), "parent later");
  char c;
  ASSERT_EQ(read(to_parent[0], &c, 1), 1);
  EXPECT_STREQ(al.p(), "parent data") << "child's write leaked into the parent";
  std::strcpy(al.p(), "parent again");
  (void)!write(to_child[1], "y", 1);
  int st = 0;
  waitpid(pid, &st, 0);
  EXPECT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0) << "child saw parent writes (bit1) or lost its data (bit0)";
  for (int fd : {to_parent[0], to_parent[1], to_child[0], to_child[1]}) close(fd);
}

TEST(Inherit, CopyIsTakenAtForkEvenWithoutTouching) {
  Alloc al(page());
  int sync[2];
  ASSERT_EQ(pipe(sync), 0);
  pid_t pid = fork();
  if (pid == 0) {
    char c;
    (void)!read(sync[0], &c, 1);
    _exit(al.p()[0] == 0 ? 0 : 1);
  }
  al.p()[0] = 'P';  // after fork, before the child looks
  (void)!write(sync[1], "g", 1);
  int st = 0;
  waitpid(pid, &st, 0);
  EXPECT_EQ(WEXITSTATUS(st), 0);
  close(sync[0]);
  close(sync[1]);
}

TEST(Inherit, ShareSeesEachOthersWrites) {
  Alloc al(page());
  ASSERT_KR(KERN_SUCCESS, mach_vm_inherit(mach_task_self(), al.addr, page(), VM_INHERIT_SHARE));
  std::strcpy(al.p(), "before");
  int st = child_status([&] {
    int bad = std::strcmp(al.p(), "before") != 0;
    std::strcpy(al.p(), "from child");
    return bad;
  });
  EXPECT_EQ(st, 0);
  EXPECT_STREQ(al.p(), "from child");
  // The parent releasing and re-allocating must not disturb memory the
  // child may still be using (pages are not recycled).
}

TEST(Inherit, NoneIsAbsentInTheChild) {
  Alloc al(2 * page());
  ASSERT_KR(KERN_SUCCESS, mach_vm_inherit(mach_task_self(), al.addr + page(), page(), VM_INHERIT_NONE));
  int st = child_status([&] {
    mach_vm_address_t r = al.addr + page();
    mach_vm_size_t s = 0;
    kern_return_t kr;
    basic_info(r, s, &kr);
    // The table no longer lists it, and the page is gone.
    if (kr == KERN_SUCCESS && r == al.addr + page()) return 3;
    touch_read(al.addr);  // the first page is still there
    touch_read(al.addr + page());
    return 0;
  });
  EXPECT_EQ(st, 1000 + SIGSEGV);
  touch_write(al.addr + page());
}

TEST(Inherit, ChildCanAllocateWithoutDisturbingTheParent) {
  Alloc al(page());
  std::strcpy(al.p(), "parent");
  int st = child_status([&] {
    // New objects in the child must not land on the parent's pages.
    int bad = 0;
    for (int i = 0; i < 16; ++i) {
      mach_vm_address_t a = 0;
      if (mach_vm_allocate(mach_task_self(), &a, page(), VM_FLAGS_ANYWHERE) != KERN_SUCCESS) return 9;
      std::memset(reinterpret_cast<void*>(a), 'C', page());
      mach_vm_deallocate(mach_task_self(), a, page());
    }
    mach_vm_deallocate(mach_task_self(), al.addr, page());
    return bad;
  });
  EXPECT_EQ(st, 0);
  EXPECT_STREQ(al.p(), "parent");
  Alloc more(page());
  EXPECT_EQ(more.p()[0], 0);
}

TEST(Inherit, MemoryEntriesAreNotInherited) {
  memory_object_size_t s = page();
  mach_port_t h = MACH_PORT_NULL;
  ASSERT_KR(KERN_SUCCESS, mach_make_memory_entry_64(mach_task_self(), &s, 0, VM_PROT_DEFAULT | MAP_MEM_NAMED_CREATE,
                                                   &h, MACH_PORT_NULL));
  int st = child_status([&] {
    mach_vm_address_t a = 0;
    return mach_vm_map(mach_task_self(), &a, page(), 0, VM_FLAGS_ANYWHERE, h, 0, FALSE, VM_PROT_READ, VM_PROT_READ,
                       VM_INHERIT_DEFAULT) == MACH_SEND_INVALID_RIGHT
               ? 0
               : 1;
  });
  EXPECT_EQ(st, 0);
  mach_port_deallocate(mach_task_self(), h);
}

TEST(Inherit, AliasesStayAliasedInTheChildCopy) {
  // A mirrored buffer forked with default inheritance: in the child both
  // halves still show the same (private) pages.
  mach_vm_address_t buf = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &buf, 2 * page(), VM_FLAGS_ANYWHERE));
  mach_vm_address_t mirror = buf + page();
  vm_prot_t cur, max;
  ASSERT_KR(KERN_SUCCESS, mach_vm_remap(mach_task_self(), &mirror, page(), 0, VM_FLAGS_FIXED | VM_FLAGS_OVERWRITE,
                                       mach_task_self(), buf, FALSE, &cur, &max, VM_INHERIT_DEFAULT));
  int st = child_status([&] {
    reinterpret_cast<char*>(buf)[0] = 'c';
    return reinterpret_cast<char*>(mirror)[0] == 'c' ? 0 : 1;
  });
  EXPECT_EQ(st, 0);
  EXPECT_EQ(reinterpret_cast<char*>(buf)[0], 0);
  mach_vm_deallocate(mach_task_self(), buf, 2 * page());
}

TEST(Inherit, ForkWhileOtherThreadsAllocate) {
  std::atomic<bool> stop{false};
  std::thread t([&] {
    while (!stop) {
      mach_vm_address_t a = 0;
      if (mach_vm_allocate(mach_task_self(), &a, page(), VM_FLAGS_ANYWHERE) == KERN_SUCCESS) {
        touch_write(a);
        mach_vm_deallocate(mach_task_self(), a, page());
      }
    }
  });
  Alloc al(page());
  al.p()[0] = 'x';
  for (int i = 0; i < 10; ++i) EXPECT_EQ(child_status([&] { return al.p()[0] == 'x' ? 0 : 1; }), 0);
  stop = true;
  t.join();
}

}  // namespace
