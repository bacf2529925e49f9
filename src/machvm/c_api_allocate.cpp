// C ABI: allocate, deallocate, protect, inherit.
#include <mach/mach.h>

#include "machvm/c_api_call.h"
#include "machvm/vm_ops.h"

namespace mv = hvshim::machvm;
using mv::api_call;
using mv::fail;
using mv::require_self;

extern "C" {

HVSHIM_EXPORT kern_return_t mach_vm_allocate(vm_map_t target, mach_vm_address_t* address, mach_vm_size_t size,
                                             int flags) {
  const uint64_t in = address ? *address : 0;
  return api_call(
      "mach_vm_allocate",
      [&] {
        return fmt::format("task={:#x} addr={:#x} size={:#x} flags={:#x} -> addr={:#x}", target, in, size, flags,
                           address ? *address : 0);
      },
      [&]() -> kern_return_t {
        if (kern_return_t kr = require_self(target, "mach_vm_allocate"); kr != KERN_SUCCESS) return kr;
        if (!address) return fail(KERN_INVALID_ARGUMENT, "address is NULL");
        uint64_t a = *address;
        kern_return_t kr = mv::vm_allocate(a, size, flags);
        if (kr == KERN_SUCCESS) *address = a;
        return kr;
      });
}

HVSHIM_EXPORT kern_return_t vm_allocate(vm_map_t target, vm_address_t* address, vm_size_t size, int flags) {
  mv::CallAlias alias_("vm_allocate");
  mach_vm_address_t a = address ? *address : 0;
  kern_return_t kr = mach_vm_allocate(target, address ? &a : nullptr, size, flags);
  if (kr == KERN_SUCCESS && address) *address = static_cast<vm_address_t>(a);
  return kr;
}

HVSHIM_EXPORT kern_return_t mach_vm_deallocate(vm_map_t target, mach_vm_address_t address, mach_vm_size_t size) {
  return api_call(
      "mach_vm_deallocate", [&] { return fmt::format("task={:#x} addr={:#x} size={:#x}", target, address, size); },
      [&]() -> kern_return_t {
        if (kern_return_t kr = require_self(target, "mach_vm_deallocate"); kr != KERN_SUCCESS) return kr;
        return mv::vm_deallocate(address, size);
      });
}

HVSHIM_EXPORT kern_return_t vm_deallocate(vm_map_t target, vm_address_t address, vm_size_t size) {
  mv::CallAlias alias_("vm_deallocate");
  return mach_vm_deallocate(target, address, size);
}

HVSHIM_EXPORT kern_return_t mach_vm_protect(vm_map_t target, mach_vm_address_t address, mach_vm_size_t size,
                                            boolean_t set_maximum, vm_prot_t new_protection) {
  return api_call(
      "mach_vm_protect",
      [&] {
        return fmt::format("task={:#x} addr={:#x} size={:#x} set_max={} prot={:#x}", target, address, size,
                           set_maximum, new_protection);
      },
      [&]() -> kern_return_t {
        if (kern_return_t kr = require_self(target, "mach_vm_protect"); kr != KERN_SUCCESS) return kr;
        return mv::vm_protect(address, size, set_maximum != 0, new_protection);
      });
}

HVSHIM_EXPORT kern_return_t vm_protect(vm_map_t target, vm_address_t address, vm_size_t size, boolean_t set_maximum,
                                       vm_prot_t new_protection) {
  mv::CallAlias alias_("vm_protect");
  return mach_vm_protect(target, address, size, set_maximum, new_protection);
}

HVSHIM_EXPORT kern_return_t mach_vm_inherit(vm_map_t target, mach_vm_address_t address, mach_vm_size_t size,
                                            vm_inherit_t new_inheritance) {
  return api_call(
      "mach_vm_inherit",
      [&] { return fmt::format("task={:#x} addr={:#x} size={:#x} inherit={}", target, address, size, new_inheritance); },
      [&]() -> kern_return_t {
        if (kern_return_t kr = require_self(target, "mach_vm_inherit"); kr != KERN_SUCCESS) return kr;
        return mv::vm_inherit(address, size, new_inheritance);
      });
}

HVSHIM_EXPORT kern_return_t vm_inherit(vm_map_t target, vm_address_t address, vm_size_t size,
                                       vm_inherit_t new_inheritance) {
  mv::CallAlias alias_("vm_inherit");
  return mach_vm_inherit(target, address, size, new_inheritance);
}

}  // extern "C"
