// Task ports of other processes (task_for_pid): read, write, region through
// process_vm_readv/writev and /proc/PID/maps; everything else refused.
#include <sys/mman.h>
#include <sys/prctl.h>

#include "machvm/vm_test_util.h"

using namespace vmtest;

namespace {

struct Child {
  pid_t pid = -1;
  int go[2] = {-1, -1};
  char* shared = nullptr;  // the child's buffer (same address in both)
  Child() {
    // A PROT_NONE page below, so the kernel cannot merge the buffer's VMA
    // with whatever anonymous mapping happens to lie next to it (the region
    // the child reports must be exactly the buffer's page).
    char* m = static_cast<char*>(mmap(nullptr, 3 * page(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    mprotect(m, page(), PROT_NONE);
    shared = m + page();
    std::strcpy(shared, "child memory");
    mprotect(shared + page(), page(), PROT_READ);
    EXPECT_EQ(pipe(go), 0);
    pid = fork();
    if (pid == 0) {
      char c;
      (void)!read(go[0], &c, 1);
      _exit(std::strcmp(shared, "written by parent") == 0 ? 0 : 1);
    }
    // The parent changes its own copy: reads must see the child's.
    std::strcpy(shared, "parent copy");
  }
  int finish() {
    (void)!write(go[1], "x", 1);
    int st = 0;
    waitpid(pid, &st, 0);
    close(go[0]);
    close(go[1]);
    munmap(shared - page(), 3 * page());
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }
};

TEST(RemoteTask, ReadWriteRegionOfAChild) {
  Child c;
  mach_port_t task = MACH_PORT_NULL;
  ASSERT_KR(KERN_SUCCESS, task_for_pid(mach_task_self(), c.pid, &task));
  ASSERT_NE(task, mach_task_self());
  uint64_t a = reinterpret_cast<uint64_t>(c.shared);

  vm_offset_t data = 0;
  mach_msg_type_number_t cnt = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_read(task, a, 13, &data, &cnt));
  EXPECT_STREQ(reinterpret_cast<char*>(data), "child memory");
  mach_vm_deallocate(mach_task_self(), data, cnt);

  char buf[32] = {};
  mach_vm_size_t out = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_read_overwrite(task, a, 13, reinterpret_cast<uint64_t>(buf), &out));
  EXPECT_STREQ(buf, "child memory");

  const char msg[] = "written by parent";
  ASSERT_KR(KERN_SUCCESS, mach_vm_write(task, a, reinterpret_cast<vm_offset_t>(msg), sizeof msg));
  EXPECT_KR(KERN_INVALID_ADDRESS, mach_vm_write(task, a + page(), reinterpret_cast<vm_offset_t>(msg), sizeof msg));
  EXPECT_KR(KERN_INVALID_ADDRESS, mach_vm_read(task, 0x10000, 16, &data, &cnt));

  mach_vm_address_t r = a;
  mach_vm_size_t s = 0;
  vm_region_basic_info_data_64_t info{};
  mach_msg_type_number_t count = VM_REGION_BASIC_INFO_COUNT_64;
  mach_port_t obj;
  ASSERT_KR(KERN_SUCCESS, mach_vm_region(task, &r, &s, VM_REGION_BASIC_INFO_64,
                                        reinterpret_cast<vm_region_info_t>(&info), &count, &obj));
  EXPECT_EQ(r, a);
  EXPECT_EQ(s, page());
  EXPECT_EQ(info.protection, VM_PROT_READ | VM_PROT_WRITE);

  // Calls we cannot perform on another process say so.
  mach_vm_address_t na = 0;
  EXPECT_KR(KERN_NOT_SUPPORTED, mach_vm_allocate(task, &na, page(), VM_FLAGS_ANYWHERE));
  EXPECT_KR(KERN_NOT_SUPPORTED, mach_vm_protect(task, a, page(), FALSE, VM_PROT_READ));
  EXPECT_KR(KERN_NOT_SUPPORTED, mach_vm_deallocate(task, a, page()));

  EXPECT_EQ(c.finish(), 0) << "the child did not see the parent's vm_write";
  EXPECT_KR(KERN_SUCCESS, mach_port_deallocate(mach_task_self(), task));
  EXPECT_KR(MACH_SEND_INVALID_DEST, mach_vm_read(task, a, 13, &data, &cnt));
}

TEST(RemoteTask, OwnPidIsTaskSelfAndBadPidsFail) {
  mach_port_t t = MACH_PORT_NULL;
  ASSERT_KR(KERN_SUCCESS, task_for_pid(mach_task_self(), getpid(), &t));
  EXPECT_EQ(t, mach_task_self());
  EXPECT_KR(KERN_FAILURE, task_for_pid(mach_task_self(), 0, &t));
  EXPECT_KR(KERN_FAILURE, task_for_pid(mach_task_self(), 0x7ffffff0, &t));
  EXPECT_KR(MACH_SEND_INVALID_DEST, task_for_pid(MACH_PORT_NULL, getpid(), &t));
}

TEST(RemoteTask, DeadProcessIsInvalidDest) {
  pid_t pid = fork();
  if (pid == 0) {
    pause();
    _exit(0);
  }
  mach_port_t task = MACH_PORT_NULL;
  ASSERT_KR(KERN_SUCCESS, task_for_pid(mach_task_self(), pid, &task));
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  char buf[8];
  mach_vm_size_t out;
  int local = 0;
  EXPECT_KR(MACH_SEND_INVALID_DEST, mach_vm_read_overwrite(task, reinterpret_cast<uint64_t>(&local), 4,
                                                           reinterpret_cast<uint64_t>(buf), &out));
  mach_port_deallocate(mach_task_self(), task);
}

}  // namespace
