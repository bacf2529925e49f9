// The Linux calls whose failure a Mach call must report, behind one seam so
// tests can make any one of them fail (ENOMEM, EMFILE, ENOSPC, ...) and check
// that the Mach call answers with the documented code and changes nothing.
//
// Calls that only release what we own (munmap of a whole mapping we made,
// hole punches of released pages, close) or only hint (madvise of paging
// behaviour) are made directly: the kernel cannot fail them for lack of a
// resource, and there would be nothing to undo.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include <mach/kern_return.h>

namespace hvshim::machvm::sys {

void* mmap(void* addr, size_t len, int prot, int flags, int fd, off_t off);
void* mremap(void* old_addr, size_t old_len, size_t new_len, int flags, void* new_addr);
int munmap(void* addr, size_t len);
int mprotect(void* addr, size_t len, int prot);
int madvise(void* addr, size_t len, int advice);
int mlock(const void* addr, size_t len);
int memfd_create(const char* name, unsigned flags);
int ftruncate(int fd, off_t len);
int open(const char* path, int flags);
ssize_t pwrite(int fd, const void* buf, size_t n, off_t off);
ssize_t copy_file_range(int in, loff_t* in_off, int out, loff_t* out_off, size_t len);

// The code for a failed resource call: KERN_NO_SPACE when the kernel found
// no room for an address it was to choose, KERN_RESOURCE_SHORTAGE otherwise.
kern_return_t resource_code(int err, bool kernel_chose_address = false);

}  // namespace hvshim::machvm::sys

namespace hvshim::machvm::testing {

enum SysCall : unsigned {
  kMmap = 1u << 0,
  kMremap = 1u << 1,
  kMunmap = 1u << 2,
  kMprotect = 1u << 3,
  kMadvise = 1u << 4,
  kMlock = 1u << 5,
  kMemfdCreate = 1u << 6,
  kFtruncate = 1u << 7,
  kOpen = 1u << 8,
  kPwrite = 1u << 9,
  kCopyFileRange = 1u << 10,
  kAllSysCalls = (1u << 11) - 1,
};

// On this thread, the (skip+1)-th following call of a kind in `calls` fails
// with `err` (once); the others run normally.
void inject_failure(unsigned calls, int skip, int err);
void clear_injection();

// What the armed injection saw: calls of the selected kinds made so far, and
// whether (and which one) was failed.
struct InjectionReport {
  int calls = 0;
  bool hit = false;
  SysCall which = kMmap;
  bool kernel_chose_address = false;  // the failed call was an mmap without MAP_FIXED*
};
InjectionReport injection_report();

const char* sys_call_name(SysCall c);

}  // namespace hvshim::machvm::testing
