// C ABI: map, remap, memory entries.
#include <mach/mach.h>

#include "machvm/c_api_call.h"
#include "machvm/vm_ops.h"

namespace mv = hvshim::machvm;
using mv::api_call;
using mv::fail;
using mv::require_self;

namespace {
kern_return_t remap_common(const char* name, vm_map_t target, mach_vm_address_t* address, mach_vm_size_t size,
                           mach_vm_offset_t mask, int flags, vm_map_t src_task, mach_vm_address_t src, boolean_t copy,
                           vm_prot_t* cur, vm_prot_t* max, vm_inherit_t inheritance, bool is_new) {
  const uint64_t in = address ? *address : 0;
  return api_call(
      name,
      [&] {
        return fmt::format(
            "task={:#x} addr={:#x} size={:#x} mask={:#x} flags={:#x} src_task={:#x} src={:#x} copy={} inherit={} -> "
            "addr={:#x} cur={:#x} max={:#x}",
            target, in, size, mask, flags, src_task, src, copy, inheritance, address ? *address : 0, cur ? *cur : 0,
            max ? *max : 0);
      },
      [&]() -> kern_return_t {
        if (kern_return_t kr = require_self(target, name); kr != KERN_SUCCESS) return kr;
        if (kern_return_t kr = require_self(src_task, name); kr != KERN_SUCCESS) return kr;
        if (!address || !cur || !max) return fail(KERN_INVALID_ARGUMENT, "NULL parameter");
        mv::RemapArgs a;
        a.size = size;
        a.mask = mask;
        a.flags = flags;
        a.src = src;
        a.copy = copy != 0;
        a.inherit = inheritance;
        a.is_new = is_new;
        uint64_t addr = *address;
        vm_prot_t c = is_new ? *cur : 0, m = is_new ? *max : 0;
        kern_return_t kr = mv::vm_remap(addr, a, c, m);
        if (kr != KERN_SUCCESS) return kr;
        *address = addr;
        *cur = c;
        *max = m;
        return KERN_SUCCESS;
      });
}
}  // namespace

extern "C" {

HVSHIM_EXPORT kern_return_t mach_vm_map(vm_map_t target, mach_vm_address_t* address, mach_vm_size_t size,
                                        mach_vm_offset_t mask, int flags, mem_entry_name_port_t object,
                                        memory_object_offset_t offset, boolean_t copy, vm_prot_t cur_protection,
                                        vm_prot_t max_protection, vm_inherit_t inheritance) {
  const uint64_t in = address ? *address : 0;
  return api_call(
      "mach_vm_map",
      [&] {
        return fmt::format(
            "task={:#x} addr={:#x} size={:#x} mask={:#x} flags={:#x} object={:#x} offset={:#x} copy={} cur={:#x} "
            "max={:#x} inherit={} -> addr={:#x}",
            target, in, size, mask, flags, object, offset, copy, cur_protection, max_protection, inheritance,
            address ? *address : 0);
      },
      [&]() -> kern_return_t {
        if (kern_return_t kr = require_self(target, "mach_vm_map"); kr != KERN_SUCCESS) return kr;
        if (!address) return fail(KERN_INVALID_ARGUMENT, "address is NULL");
        mv::MapArgs a;
        a.size = size;
        a.mask = mask;
        a.flags = flags;
        a.object = object;
        a.offset = offset;
        a.copy = copy != 0;
        a.cur = cur_protection;
        a.max = max_protection;
        a.inherit = inheritance;
        uint64_t addr = *address;
        kern_return_t kr = mv::vm_map(addr, a);
        if (kr == KERN_SUCCESS) *address = addr;
        return kr;
      });
}

HVSHIM_EXPORT kern_return_t vm_map_64(vm_map_t target, vm_address_t* address, vm_size_t size, vm_address_t mask,
                                      int flags, mem_entry_name_port_t object, memory_object_offset_t offset,
                                      boolean_t copy, vm_prot_t cur, vm_prot_t max, vm_inherit_t inheritance) {
  mv::CallAlias alias_("vm_map_64");
  mach_vm_address_t a = address ? *address : 0;
  kern_return_t kr =
      mach_vm_map(target, address ? &a : nullptr, size, mask, flags, object, offset, copy, cur, max, inheritance);
  if (kr == KERN_SUCCESS) *address = static_cast<vm_address_t>(a);
  return kr;
}

HVSHIM_EXPORT kern_return_t vm_map(vm_map_t target, vm_address_t* address, vm_size_t size, vm_address_t mask,
                                   int flags, mem_entry_name_port_t object, vm_offset_t offset, boolean_t copy,
                                   vm_prot_t cur, vm_prot_t max, vm_inherit_t inheritance) {
  mv::CallAlias alias_("vm_map");
  return vm_map_64(target, address, size, mask, flags, object, offset, copy, cur, max, inheritance);
}

HVSHIM_EXPORT kern_return_t mach_vm_remap(vm_map_t target, mach_vm_address_t* address, mach_vm_size_t size,
                                          mach_vm_offset_t mask, int flags, vm_map_t src_task,
                                          mach_vm_address_t src_address, boolean_t copy, vm_prot_t* cur,
                                          vm_prot_t* max, vm_inherit_t inheritance) {
  return remap_common("mach_vm_remap", target, address, size, mask, flags, src_task, src_address, copy, cur, max,
                      inheritance, false);
}

HVSHIM_EXPORT kern_return_t mach_vm_remap_new(vm_map_t target, mach_vm_address_t* address, mach_vm_size_t size,
                                              mach_vm_offset_t mask, int flags, vm_map_read_t src_task,
                                              mach_vm_address_t src_address, boolean_t copy, vm_prot_t* cur,
                                              vm_prot_t* max, vm_inherit_t inheritance) {
  return remap_common("mach_vm_remap_new", target, address, size, mask, flags, src_task, src_address, copy, cur, max,
                      inheritance, true);
}

HVSHIM_EXPORT kern_return_t vm_remap(vm_map_t target, vm_address_t* address, vm_size_t size, vm_address_t mask,
                                     int flags, vm_map_t src_task, vm_address_t src_address, boolean_t copy,
                                     vm_prot_t* cur, vm_prot_t* max, vm_inherit_t inheritance) {
  mv::CallAlias alias_("vm_remap");
  mach_vm_address_t a = address ? *address : 0;
  kern_return_t kr = remap_common("vm_remap", target, address ? &a : nullptr, size, mask, flags, src_task,
                                  src_address, copy, cur, max, inheritance, false);
  if (kr == KERN_SUCCESS) *address = static_cast<vm_address_t>(a);
  return kr;
}

HVSHIM_EXPORT kern_return_t vm_remap_new(vm_map_t target, vm_address_t* address, vm_size_t size, vm_address_t mask,
                                         int flags, vm_map_read_t src_task, vm_address_t src_address, boolean_t copy,
                                         vm_prot_t* cur, vm_prot_t* max, vm_inherit_t inheritance) {
  mv::CallAlias alias_("vm_remap_new");
  mach_vm_address_t a = address ? *address : 0;
  kern_return_t kr = remap_common("vm_remap_new", target, address ? &a : nullptr, size, mask, flags, src_task,
                                  src_address, copy, cur, max, inheritance, true);
  if (kr == KERN_SUCCESS) *address = static_cast<vm_address_t>(a);
  return kr;
}

HVSHIM_EXPORT kern_return_t mach_make_memory_entry_64(vm_map_t target, memory_object_size_t* size,
                                                      memory_object_offset_t offset, vm_prot_t permission,
                                                      mach_port_t* object_handle, mem_entry_name_port_t parent) {
  const uint64_t in = size ? *size : 0;
  return api_call(
      "mach_make_memory_entry_64",
      [&] {
        return fmt::format("task={:#x} size={:#x} offset={:#x} permission={:#x} parent={:#x} -> size={:#x} handle={:#x}",
                           target, in, offset, permission, parent, size ? *size : 0,
                           object_handle ? *object_handle : 0);
      },
      [&]() -> kern_return_t {
        if (kern_return_t kr = require_self(target, "mach_make_memory_entry_64"); kr != KERN_SUCCESS) return kr;
        if (!size || !object_handle) return fail(KERN_INVALID_ARGUMENT, "NULL parameter");
        uint64_t s = *size;
        mach_port_t h = MACH_PORT_NULL;
        kern_return_t kr = mv::vm_make_memory_entry(s, offset, permission, h, parent);
        if (kr != KERN_SUCCESS) return kr;
        *size = s;
        *object_handle = h;
        return KERN_SUCCESS;
      });
}

HVSHIM_EXPORT kern_return_t mach_make_memory_entry(vm_map_t target, vm_size_t* size, vm_offset_t offset,
                                                   vm_prot_t permission, mem_entry_name_port_t* object_handle,
                                                   mem_entry_name_port_t parent) {
  mv::CallAlias alias_("mach_make_memory_entry");
  memory_object_size_t s = size ? *size : 0;
  kern_return_t kr = mach_make_memory_entry_64(target, size ? &s : nullptr, offset, permission, object_handle, parent);
  if (kr == KERN_SUCCESS) *size = static_cast<vm_size_t>(s);
  return kr;
}

}  // extern "C"
