// Faults as a program sees them, where Linux differs from macOS (the
// documented deviations in docs/machvm.md):
// - x86-64 and arm64 page tables cannot express write-only, so a
//   VM_PROT_WRITE page is readable by loads on Linux (macOS reports
//   VM_PROT_WRITE and a load dies with SIGBUS). The Mach calls that read
//   memory still refuse it, as XNU does.
// - A load from a page we hold with VM_PROT_NONE dies with SIGSEGV /
//   SEGV_ACCERR (macOS: SIGBUS); from an unmapped page with SIGSEGV /
//   SEGV_MAPERR, as on macOS. The si_code carries what macOS's choice of
//   signal does.
#include <sys/mman.h>

#include "machvm/vm_test_util.h"

using namespace vmtest;

namespace {

int child_fault_code(uint64_t addr) {
  int p[2];
  if (pipe(p) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    static int fd;
    fd = p[1];
    struct sigaction sa {};
    sa.sa_flags = SA_SIGINFO;
    sa.sa_sigaction = [](int sig, siginfo_t* si, void*) {
      int v[2] = {sig, si->si_code};
      (void)!write(fd, v, sizeof v);
      _exit(0);
    };
    sigaction(SIGSEGV, &sa, nullptr);
    sigaction(SIGBUS, &sa, nullptr);
    touch_read(addr);
    _exit(3);
  }
  close(p[1]);
  int v[2] = {0, 0};
  ssize_t n = read(p[0], v, sizeof v);
  close(p[0]);
  waitpid(pid, nullptr, 0);
  if (n != sizeof v) return 0;  // the load did not fault
  return v[0] * 1000 + v[1];
}

TEST(FaultSignals, WriteOnlyPageIsReadableOnLinuxButMachReadsRefuseIt) {
  Alloc a(2 * page());
  a.p()[5] = 'w';
  ASSERT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), a.addr, 2 * page(), FALSE, VM_PROT_WRITE));
  mach_vm_address_t r = a.addr;
  mach_vm_size_t rs = 0;
  auto info = basic_info(r, rs);
  EXPECT_EQ(info.protection, VM_PROT_WRITE) << "the region reports what was asked";
  a.p()[6] = 'x';  // stores work, as on macOS
  EXPECT_EQ(child_fault_code(a.addr), 0) << "documented: a load from a write-only page does not fault on Linux";
  vm_offset_t data = 0;
  mach_msg_type_number_t cnt = 0;
  EXPECT_KR(KERN_PROTECTION_FAILURE, mach_vm_read(mach_task_self(), a.addr, 2 * page(), &data, &cnt));
  EXPECT_KR(KERN_INVALID_ADDRESS, mach_vm_read(mach_task_self(), a.addr, 16, &data, &cnt)) << "small reads, as XNU";
}

TEST(FaultSignals, NoAccessIsAccessErrorUnmappedIsMapError) {
  Alloc a(2 * page());
  ASSERT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), a.addr, page(), FALSE, VM_PROT_NONE));
  EXPECT_EQ(child_fault_code(a.addr), SIGSEGV * 1000 + SEGV_ACCERR);
  ASSERT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), a.addr + page(), page()));
  EXPECT_EQ(child_fault_code(a.addr + page()), SIGSEGV * 1000 + SEGV_MAPERR);
}

}  // namespace
