// Task, host and port names; the page-size globals.
#include <fcntl.h>
#include <unistd.h>

#include <mach/mach.h>

#include "machvm/c_api_call.h"
#include "machvm/page.h"
#include "machvm/self_pid.h"
#include "machvm/task.h"

namespace hvshim::machvm {

TaskTarget resolve_task(mach_port_t port) {
  if (port == kTaskSelfName) return {TaskTarget::self, 0};  // nearly every call
  auto ref = port_lookup(port);
  if (!ref) return {};
  if (ref->kind == PortKind::task_self) return {TaskTarget::self, 0};
  if (ref->kind == PortKind::remote_task) {
    if (ref->pid == self_pid()) return {TaskTarget::self, 0};
    return {TaskTarget::remote, ref->pid};
  }
  return {};
}

kern_return_t require_self(mach_port_t port, const char* call) {
  TaskTarget t = resolve_task(port);
  if (t.kind == TaskTarget::invalid) return fail(MACH_SEND_INVALID_DEST, "{}: {:#x} is not a task port", call, port);
  if (t.kind == TaskTarget::remote)
    return fail(KERN_NOT_SUPPORTED, "{}: not supported on another process (pid {})", call, t.pid);
  return KERN_SUCCESS;
}

}  // namespace hvshim::machvm

namespace mv = hvshim::machvm;
using mv::api_call;
using mv::fail;
using mv::require_self;
using mv::kTaskSelfName;
using mv::kHostName;
using mv::kHostPrivName;
using mv::errno_text;

extern "C" {

HVSHIM_EXPORT mach_port_t mach_task_self_ = kTaskSelfName;
HVSHIM_EXPORT vm_size_t vm_page_size = 4096;
HVSHIM_EXPORT vm_size_t vm_page_mask = 4095;
HVSHIM_EXPORT int vm_page_shift = 12;
HVSHIM_EXPORT vm_size_t vm_kernel_page_size = 4096;
HVSHIM_EXPORT vm_size_t vm_kernel_page_mask = 4095;
HVSHIM_EXPORT int vm_kernel_page_shift = 12;

// Before any user constructor that might allocate.
__attribute__((constructor(101))) static void hvshim_init_page_size() {
  vm_page_size = vm_kernel_page_size = mv::page_size();
  vm_page_mask = vm_kernel_page_mask = mv::page_size() - 1;
  vm_page_shift = vm_kernel_page_shift = __builtin_ctzll(mv::page_size());
  // Fork handlers must be in place before the first fork, whichever call
  // came first (a memory entry alone must already not be inherited).
  (void)mv::self_task();
}

HVSHIM_EXPORT mach_port_t mach_host_self(void) { return kHostName; }

HVSHIM_EXPORT kern_return_t host_get_host_priv_port(host_t host, host_priv_t* host_priv) {
  return api_call(
      "host_get_host_priv_port", [&] { return fmt::format("host={:#x}", host); },
      [&]() -> kern_return_t {
        if (host != kHostName) return fail(KERN_INVALID_ARGUMENT, "{:#x} is not the host port", host);
        if (!host_priv) return fail(KERN_INVALID_ARGUMENT, "host_priv is NULL");
        if (geteuid() != 0) return fail(KERN_INVALID_ARGUMENT, "the privileged host port needs root");
        *host_priv = kHostPrivName;
        return KERN_SUCCESS;
      });
}

HVSHIM_EXPORT kern_return_t mach_port_deallocate(ipc_space_t task, mach_port_name_t name) {
  return api_call(
      "mach_port_deallocate", [&] { return fmt::format("task={:#x} name={:#x}", task, name); },
      [&]() -> kern_return_t {
        if (kern_return_t kr = require_self(task, "mach_port_deallocate"); kr != KERN_SUCCESS) return kr;
        return mv::port_deallocate(name);
      });
}

HVSHIM_EXPORT kern_return_t task_for_pid(mach_port_name_t target_tport, int pid, mach_port_name_t* t) {
  return api_call(
      "task_for_pid", [&] { return fmt::format("target={:#x} pid={}", target_tport, pid); },
      [&]() -> kern_return_t {
        if (kern_return_t kr = require_self(target_tport, "task_for_pid"); kr != KERN_SUCCESS) return kr;
        if (!t) return fail(KERN_INVALID_ARGUMENT, "t is NULL");
        if (pid <= 0) return fail(KERN_FAILURE, "pid {} is not a process we can control", pid);
        if (pid == mv::self_pid()) {
          *t = kTaskSelfName;
          return KERN_SUCCESS;
        }
        // Same test the kernel applies to process_vm_readv: ptrace access.
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/mem", pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return fail(KERN_FAILURE, "task_for_pid({}): open {}: {}", pid, path, errno_text(errno));
        close(fd);
        *t = mv::port_add_task(pid);
        return KERN_SUCCESS;
      });
}

}  // extern "C"
