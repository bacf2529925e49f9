// mach_memory_object_memory_entry(_64): a named entry made on the host port
// from a memory object. Only "internal" objects exist here (no pagers), so
// the call makes fresh anonymous memory, as XNU does for internal = TRUE
// with MEMORY_OBJECT_NULL.
#include <mach/mach.h>

#include "machvm/c_api_call.h"
#include "machvm/page.h"
#include "machvm/vm_ops.h"

namespace mv = hvshim::machvm;

namespace {

kern_return_t memory_object_entry(const char* call, host_t host, boolean_t internal, uint64_t size,
                                  vm_prot_t permission, memory_object_t pager, mach_port_t* entry_handle) {
  return mv::api_call(
      call,
      [&] {
        return fmt::format("host={:#x} internal={} size={:#x} permission={:#x} pager={:#x}", host, internal, size,
                           permission, pager);
      },
      [&]() -> kern_return_t {
        if (host == HOST_NULL) return mv::fail(KERN_INVALID_HOST, "{}: no host port", call);
        if (host != mv::kHostName && host != mv::kHostPrivName)
          return mv::fail(MACH_SEND_INVALID_DEST, "{}: {:#x} is not a host port", call, host);
        if (!entry_handle) return mv::fail(KERN_INVALID_ARGUMENT, "entry_handle is NULL");
        uint64_t rounded = 0;
        if (size == 0 || !mv::page_round(size, rounded))
          return mv::fail(KERN_INVALID_ARGUMENT, "size {:#x} is 0 or rounds to 0", size);
        if (pager != MEMORY_OBJECT_NULL)
          return mv::fail(KERN_INVALID_ARGUMENT, "{:#x} is not a memory object here (there are no pagers)", pager);
        if (!internal) return mv::fail(KERN_INVALID_ARGUMENT, "an external object needs a pager");
        uint64_t s = size;
        mach_port_t h = MACH_PORT_NULL;
        // Only the protection bits count; MAP_MEM_* flags are not checked here.
        vm_prot_t perm = (permission & VM_PROT_ALL) | MAP_MEM_NAMED_CREATE;
        if (kern_return_t kr = mv::vm_make_memory_entry(s, 0, perm, h, MACH_PORT_NULL); kr != KERN_SUCCESS) return kr;
        *entry_handle = h;
        return KERN_SUCCESS;
      });
}

}  // namespace

extern "C" {

HVSHIM_EXPORT kern_return_t mach_memory_object_memory_entry_64(host_t host, boolean_t internal,
                                                               memory_object_size_t size, vm_prot_t permission,
                                                               memory_object_t pager, mach_port_t* entry_handle) {
  return memory_object_entry("mach_memory_object_memory_entry_64", host, internal, size, permission, pager,
                             entry_handle);
}

HVSHIM_EXPORT kern_return_t mach_memory_object_memory_entry(host_t host, boolean_t internal, vm_size_t size,
                                                            vm_prot_t permission, memory_object_t pager,
                                                            mach_port_t* entry_handle) {
  return memory_object_entry("mach_memory_object_memory_entry", host, internal, size, permission, pager,
                             entry_handle);
}

}  // extern "C"
