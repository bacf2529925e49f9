#include "machvm/sys.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

namespace hvshim::machvm {

namespace {
// Per thread: a test arming the seam must not fail calls other threads
// (sanitizer runtimes, other suites' workers) make at the same time.
struct Armed {
  unsigned calls = 0;  // 0: disarmed
  int skip = 0;
  int err = 0;
  testing::InjectionReport report;
};
thread_local Armed t_armed;

// True when this call is the one to fail (errno is then set).
bool injected(testing::SysCall c, bool kernel_chose_address = false) {
  Armed& a = t_armed;
  if (!(a.calls & c) || a.report.hit) return false;
  if (a.report.calls++ < a.skip) return false;
  a.report.hit = true;
  a.report.which = c;
  a.report.kernel_chose_address = kernel_chose_address;
  errno = a.err;
  return true;
}
}  // namespace

namespace sys {

void* mmap(void* addr, size_t len, int prot, int flags, int fd, off_t off) {
  if (injected(testing::kMmap, !(flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)))) return MAP_FAILED;
  return ::mmap(addr, len, prot, flags, fd, off);
}

void* mremap(void* old_addr, size_t old_len, size_t new_len, int flags, void* new_addr) {
  if (injected(testing::kMremap)) return MAP_FAILED;
  return ::mremap(old_addr, old_len, new_len, flags, new_addr);
}

int munmap(void* addr, size_t len) {
  if (injected(testing::kMunmap)) return -1;
  return ::munmap(addr, len);
}

int mprotect(void* addr, size_t len, int prot) {
  if (injected(testing::kMprotect)) return -1;
  return ::mprotect(addr, len, prot);
}

int madvise(void* addr, size_t len, int advice) {
  if (injected(testing::kMadvise)) return -1;
  return ::madvise(addr, len, advice);
}

int mlock(const void* addr, size_t len) {
  if (injected(testing::kMlock)) return -1;
  return ::mlock(addr, len);
}

int memfd_create(const char* name, unsigned flags) {
  if (injected(testing::kMemfdCreate)) return -1;
  return ::memfd_create(name, flags);
}

int ftruncate(int fd, off_t len) {
  if (injected(testing::kFtruncate)) return -1;
  return ::ftruncate(fd, len);
}

int open(const char* path, int flags) {
  if (injected(testing::kOpen)) return -1;
  return ::open(path, flags);
}

ssize_t pwrite(int fd, const void* buf, size_t n, off_t off) {
  if (injected(testing::kPwrite)) return -1;
  // The raw system call: `buf` is whatever task memory the caller named
  // (mach_vm_read/copy of any mapped range, as the kernel would copy it).
  // A sanitizer's pwrite interceptor would check it as if it were an object
  // of ours and report reads of its own heap or redzones as errors.
  return ::syscall(SYS_pwrite64, fd, buf, n, off);
}

ssize_t copy_file_range(int in, loff_t* in_off, int out, loff_t* out_off, size_t len) {
  if (injected(testing::kCopyFileRange)) return -1;
  return ::copy_file_range(in, in_off, out, out_off, len, 0);
}

kern_return_t resource_code(int err, bool kernel_chose_address) {
  if (kernel_chose_address && err == ENOMEM) return KERN_NO_SPACE;
  return KERN_RESOURCE_SHORTAGE;
}

}  // namespace sys

namespace testing {

void inject_failure(unsigned calls, int skip, int err) { t_armed = Armed{calls, skip, err, {}}; }

void clear_injection() { t_armed = Armed{}; }

InjectionReport injection_report() { return t_armed.report; }

const char* sys_call_name(SysCall c) {
  switch (c) {
    case kMmap: return "mmap";
    case kMremap: return "mremap";
    case kMunmap: return "munmap";
    case kMprotect: return "mprotect";
    case kMadvise: return "madvise";
    case kMlock: return "mlock";
    case kMemfdCreate: return "memfd_create";
    case kFtruncate: return "ftruncate";
    case kOpen: return "open";
    case kPwrite: return "pwrite";
    case kCopyFileRange: return "copy_file_range";
    default: return "?";
  }
}

}  // namespace testing

}  // namespace hvshim::machvm
