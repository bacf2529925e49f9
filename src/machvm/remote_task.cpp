#include "machvm/remote_task.h"

#include <signal.h>
#include <sys/uio.h>

#include <cstring>

#include <mach/message.h>
#include <mach/vm_region.h>
#include <mach/vm_statistics.h>

#include "machvm/fail.h"
#include "machvm/kernel_view.h"
#include "machvm/page.h"
#include "machvm/task.h"
#include "machvm/vm_ops.h"

namespace hvshim::machvm {

namespace {
// A task port names a process, not a pid slot: once the process is gone
// the port is dead, as on macOS.
kern_return_t check_alive(pid_t pid) {
  if (kill(pid, 0) != 0 && errno == ESRCH) return fail(MACH_SEND_INVALID_DEST, "pid {} is gone", pid);
  return KERN_SUCCESS;
}

kern_return_t check_remote(pid_t pid, uint64_t addr, uint64_t size, vm_prot_t need, const char* what) {
  if (kern_return_t kr = check_alive(pid); kr != KERN_SUCCESS) return kr;
  PageRange r;
  if (!page_range(addr, size, r)) return fail(KERN_INVALID_ADDRESS, "{}: range wraps", what);
  uint64_t at = r.start;
  while (at < r.end) {
    auto v = kernel_vma_at_or_after(pid, at);
    if (!v || v->start > at) return fail(KERN_INVALID_ADDRESS, "{}: pid {} has nothing mapped at {:#x}", what, pid, at);
    if ((v->prot & need) != need) {
      if (size < 2 * page_size())
        return fail(KERN_INVALID_ADDRESS, "{}: pid {} page {:#x} lacks access", what, pid, at);
      return fail(KERN_PROTECTION_FAILURE, "{}: pid {} page {:#x} lacks access", what, pid, at);
    }
    at = v->end;
  }
  return KERN_SUCCESS;
}

kern_return_t io_error(pid_t pid, const char* what) {
  int e = errno;
  if (e == ESRCH) return fail(MACH_SEND_INVALID_DEST, "{}: pid {} is gone", what, pid);
  if (e == EPERM) return fail(KERN_PROTECTION_FAILURE, "{}: no access to pid {}", what, pid);
  return fail(KERN_INVALID_ADDRESS, "{}: pid {}: {}", what, pid, errno_text(e));
}

kern_return_t transfer(pid_t pid, uint64_t local, uint64_t remote, uint64_t size, bool to_remote, const char* what) {
  while (size) {
    iovec l{reinterpret_cast<void*>(local), size}, r{reinterpret_cast<void*>(remote), size};
    ssize_t n = to_remote ? process_vm_writev(pid, &l, 1, &r, 1, 0) : process_vm_readv(pid, &l, 1, &r, 1, 0);
    if (n <= 0) return io_error(pid, what);
    local += static_cast<uint64_t>(n);
    remote += static_cast<uint64_t>(n);
    size -= static_cast<uint64_t>(n);
  }
  return KERN_SUCCESS;
}
}  // namespace

kern_return_t remote_region(pid_t pid, uint64_t& addr, uint64_t& size, int flavor, int* info, unsigned& count) {
  if (flavor != VM_REGION_BASIC_INFO_64 && flavor != VM_REGION_BASIC_INFO)
    return fail(KERN_NOT_SUPPORTED, "region flavor {} on another process", flavor);
  unsigned need = flavor == VM_REGION_BASIC_INFO_64 ? VM_REGION_BASIC_INFO_COUNT_64 : VM_REGION_BASIC_INFO_COUNT;
  if (count < need || !info) return fail(KERN_INVALID_ARGUMENT, "info count {} too small", count);
  if (kern_return_t kr = check_alive(pid); kr != KERN_SUCCESS) return kr;
  auto v = kernel_vma_at_or_after(pid, addr);
  if (!v || v->start >= user_va_end()) {
    return fail(KERN_INVALID_ADDRESS, "pid {}: no region at or above {:#x}", pid, addr);
  }
  if (flavor == VM_REGION_BASIC_INFO_64) {
    vm_region_basic_info_64 b{};
    b.protection = v->prot;
    b.max_protection = VM_PROT_ALL;
    b.inheritance = v->shared ? VM_INHERIT_SHARE : VM_INHERIT_COPY;
    b.shared = v->shared;
    b.offset = v->file_offset;
    std::memcpy(info, &b, sizeof b);
  } else {
    vm_region_basic_info b{};
    b.protection = v->prot;
    b.max_protection = VM_PROT_ALL;
    b.inheritance = v->shared ? VM_INHERIT_SHARE : VM_INHERIT_COPY;
    b.shared = v->shared;
    b.offset = static_cast<uint32_t>(v->file_offset);
    std::memcpy(info, &b, sizeof b);
  }
  count = need;
  addr = v->start;
  size = v->end - v->start;
  return KERN_SUCCESS;
}

kern_return_t remote_read(pid_t pid, uint64_t addr, uint64_t size, uint64_t& data, uint64_t& count) {
  if (kern_return_t kr = check_alive(pid); kr != KERN_SUCCESS) return kr;
  if (size == 0) {
    data = count = 0;
    return KERN_SUCCESS;
  }
  if (size > UINT32_MAX) return fail(KERN_INVALID_ARGUMENT, "size {:#x} does not fit a message", size);
  if (kern_return_t kr = check_remote(pid, addr, size, VM_PROT_READ, "vm_read"); kr != KERN_SUCCESS) return kr;
  uint64_t local = 0;
  if (kern_return_t kr = vm_allocate(local, size, 1 /* VM_FLAGS_ANYWHERE */); kr != KERN_SUCCESS) return kr;
  if (kern_return_t kr = transfer(pid, local, addr, size, false, "vm_read"); kr != KERN_SUCCESS) {
    vm_deallocate(local, size);
    return kr;
  }
  data = local;
  count = size;
  return KERN_SUCCESS;
}

kern_return_t remote_read_overwrite(pid_t pid, uint64_t addr, uint64_t size, uint64_t dst, uint64_t& outsize) {
  if (size == 0) {
    outsize = 0;
    return KERN_SUCCESS;
  }
  if (kern_return_t kr = check_remote(pid, addr, size, VM_PROT_READ, "vm_read_overwrite"); kr != KERN_SUCCESS)
    return kr;
  {
    Task& t = self_task();
    std::lock_guard lk(t.mu);
    PageRange r;
    if (!page_range(dst, size, r)) return fail(KERN_INVALID_ADDRESS, "destination wraps");
    if (kern_return_t kr = check_access(t, r.start, r.end, VM_PROT_WRITE, "vm_read_overwrite destination");
        kr != KERN_SUCCESS)
      return kr;
  }
  if (kern_return_t kr = transfer(pid, dst, addr, size, false, "vm_read_overwrite"); kr != KERN_SUCCESS) return kr;
  outsize = size;
  return KERN_SUCCESS;
}

kern_return_t remote_write(pid_t pid, uint64_t addr, uint64_t src, uint64_t count) {
  if (count == 0) return KERN_SUCCESS;
  {
    Task& t = self_task();
    std::lock_guard lk(t.mu);
    PageRange r;
    if (!page_range(src, count, r) || check_access(t, r.start, r.end, VM_PROT_READ, "vm_write data") != KERN_SUCCESS)
      return fail(MACH_SEND_INVALID_MEMORY, "vm_write: source buffer is not readable");
  }
  if (kern_return_t kr = check_remote(pid, addr, count, VM_PROT_WRITE, "vm_write"); kr != KERN_SUCCESS) return kr;
  return transfer(pid, src, addr, count, true, "vm_write");
}

}  // namespace hvshim::machvm
