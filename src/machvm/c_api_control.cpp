// C ABI: msync, behavior_set, purgable_control, wire, machine_attribute.
#include <mach/mach.h>

#include "machvm/c_api_call.h"
#include "machvm/vm_ops.h"

namespace mv = hvshim::machvm;
using mv::api_call;
using mv::fail;
using mv::require_self;

extern "C" {

HVSHIM_EXPORT kern_return_t mach_vm_msync(vm_map_t task, mach_vm_address_t address, mach_vm_size_t size,
                                          vm_sync_t sync_flags) {
  return api_call(
      "mach_vm_msync",
      [&] { return fmt::format("task={:#x} addr={:#x} size={:#x} flags={:#x}", task, address, size, sync_flags); },
      [&]() -> kern_return_t {
        if (kern_return_t kr = require_self(task, "mach_vm_msync"); kr != KERN_SUCCESS) return kr;
        return mv::vm_msync(address, size, sync_flags);
      });
}

HVSHIM_EXPORT kern_return_t vm_msync(vm_map_t task, vm_address_t address, vm_size_t size, vm_sync_t sync_flags) {
  mv::CallAlias alias_("vm_msync");
  return mach_vm_msync(task, address, size, sync_flags);
}

HVSHIM_EXPORT kern_return_t mach_vm_behavior_set(vm_map_t task, mach_vm_address_t address, mach_vm_size_t size,
                                                 vm_behavior_t new_behavior) {
  return api_call(
      "mach_vm_behavior_set",
      [&] { return fmt::format("task={:#x} addr={:#x} size={:#x} behavior={}", task, address, size, new_behavior); },
      [&]() -> kern_return_t {
        if (kern_return_t kr = require_self(task, "mach_vm_behavior_set"); kr != KERN_SUCCESS) return kr;
        return mv::vm_behavior_set(address, size, new_behavior);
      });
}

HVSHIM_EXPORT kern_return_t vm_behavior_set(vm_map_t task, vm_address_t address, vm_size_t size,
                                            vm_behavior_t new_behavior) {
  mv::CallAlias alias_("vm_behavior_set");
  return mach_vm_behavior_set(task, address, size, new_behavior);
}

HVSHIM_EXPORT kern_return_t mach_vm_purgable_control(vm_map_t task, mach_vm_address_t address, vm_purgable_t control,
                                                     int* state) {
  const int in = state ? *state : 0;
  return api_call(
      "mach_vm_purgable_control",
      [&] {
        return fmt::format("task={:#x} addr={:#x} control={} state={:#x} -> state={:#x}", task, address, control, in,
                           state ? *state : 0);
      },
      [&]() -> kern_return_t {
        if (kern_return_t kr = require_self(task, "mach_vm_purgable_control"); kr != KERN_SUCCESS) return kr;
        if (!state) return fail(KERN_INVALID_ARGUMENT, "state is NULL");
        int s = *state;
        kern_return_t kr = mv::vm_purgable_control(address, control, s);
        if (kr == KERN_SUCCESS) *state = s;
        return kr;
      });
}

HVSHIM_EXPORT kern_return_t vm_purgable_control(vm_map_t task, vm_address_t address, vm_purgable_t control,
                                                int* state) {
  mv::CallAlias alias_("vm_purgable_control");
  return mach_vm_purgable_control(task, address, control, state);
}

HVSHIM_EXPORT kern_return_t mach_vm_wire(host_priv_t host_priv, vm_map_t task, mach_vm_address_t address,
                                         mach_vm_size_t size, vm_prot_t desired_access) {
  return api_call(
      "mach_vm_wire",
      [&] {
        return fmt::format("host_priv={:#x} task={:#x} addr={:#x} size={:#x} access={:#x}", host_priv, task, address,
                           size, desired_access);
      },
      [&]() -> kern_return_t {
        if (host_priv != mv::kHostPrivName)
          return fail(KERN_INVALID_HOST, "{:#x} is not the privileged host port", host_priv);
        mv::TaskTarget t = mv::resolve_task(task);
        if (t.kind == mv::TaskTarget::invalid) return fail(KERN_INVALID_TASK, "{:#x} is not a task port", task);
        if (t.kind == mv::TaskTarget::remote)
          return fail(KERN_NOT_SUPPORTED, "wiring memory of another process (pid {})", t.pid);
        return mv::vm_wire(address, size, desired_access);
      });
}

HVSHIM_EXPORT kern_return_t vm_wire(host_priv_t host_priv, vm_map_t task, vm_address_t address, vm_size_t size,
                                    vm_prot_t desired_access) {
  mv::CallAlias alias_("vm_wire");
  return mach_vm_wire(host_priv, task, address, size, desired_access);
}

HVSHIM_EXPORT kern_return_t mach_vm_machine_attribute(vm_map_t task, mach_vm_address_t address, mach_vm_size_t size,
                                                      vm_machine_attribute_t attribute,
                                                      vm_machine_attribute_val_t* value) {
  return api_call(
      "mach_vm_machine_attribute",
      [&] {
        return fmt::format("task={:#x} addr={:#x} size={:#x} attribute={} value={}", task, address, size, attribute,
                           value ? *value : 0);
      },
      [&]() -> kern_return_t {
        if (kern_return_t kr = require_self(task, "mach_vm_machine_attribute"); kr != KERN_SUCCESS) return kr;
        if (!value) return fail(KERN_INVALID_ARGUMENT, "value is NULL");
        return mv::vm_machine_attribute(address, size, attribute, *value);
      });
}

HVSHIM_EXPORT kern_return_t vm_machine_attribute(vm_map_t task, vm_address_t address, vm_size_t size,
                                                 vm_machine_attribute_t attribute, vm_machine_attribute_val_t* value) {
  mv::CallAlias alias_("vm_machine_attribute");
  return mach_vm_machine_attribute(task, address, size, attribute, value);
}

}  // extern "C"
