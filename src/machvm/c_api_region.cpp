// C ABI: region walking and page queries.
#include <mach/mach.h>

#include "machvm/c_api_call.h"
#include "machvm/remote_task.h"
#include "machvm/vm_ops.h"

namespace mv = hvshim::machvm;
using mv::api_call;
using mv::fail;
using mv::require_self;

namespace {
kern_return_t region_common(const char* name, vm_map_read_t task, mach_vm_address_t* address, mach_vm_size_t* size,
                            vm_region_flavor_t flavor, vm_region_info_t info, mach_msg_type_number_t* count,
                            mach_port_t* object_name) {
  const uint64_t in = address ? *address : 0;
  return api_call(
      name,
      [&] {
        return fmt::format("task={:#x} addr={:#x} flavor={} count={} -> addr={:#x} size={:#x}", task, in, flavor,
                           count ? *count : 0, address ? *address : 0, size ? *size : 0);
      },
      [&]() -> kern_return_t {
        mv::TaskTarget t = mv::resolve_task(task);
        if (t.kind == mv::TaskTarget::invalid) return fail(MACH_SEND_INVALID_DEST, "{:#x} is not a task port", task);
        if (!address || !size || !count) return fail(KERN_INVALID_ARGUMENT, "NULL out parameter");
        uint64_t a = *address, s = 0;
        unsigned c = *count;
        kern_return_t kr = t.kind == mv::TaskTarget::self ? mv::vm_region(a, s, flavor, info, c)
                                                          : mv::remote_region(t.pid, a, s, flavor, info, c);
        if (kr != KERN_SUCCESS) return kr;
        *address = a;
        *size = s;
        *count = c;
        if (object_name) *object_name = MACH_PORT_NULL;
        return KERN_SUCCESS;
      });
}

kern_return_t recurse_common(const char* name, vm_map_read_t task, mach_vm_address_t* address, mach_vm_size_t* size,
                             natural_t* depth, vm_region_recurse_info_t info, mach_msg_type_number_t* count,
                             bool legacy32) {
  const uint64_t in = address ? *address : 0;
  return api_call(
      name,
      [&] {
        return fmt::format("task={:#x} addr={:#x} count={} -> addr={:#x} size={:#x}", task, in, count ? *count : 0,
                           address ? *address : 0, size ? *size : 0);
      },
      [&]() -> kern_return_t {
        if (kern_return_t kr = require_self(task, name); kr != KERN_SUCCESS) return kr;
        if (!address || !size || !count || !depth) return fail(KERN_INVALID_ARGUMENT, "NULL out parameter");
        uint64_t a = *address, s = 0;
        unsigned c = *count, d = *depth;
        kern_return_t kr = mv::vm_region_recurse(a, s, d, info, c, legacy32);
        if (kr != KERN_SUCCESS) return kr;
        *address = a;
        *size = s;
        *count = c;
        *depth = d;
        return KERN_SUCCESS;
      });
}
}  // namespace

extern "C" {

HVSHIM_EXPORT kern_return_t mach_vm_region(vm_map_read_t task, mach_vm_address_t* address, mach_vm_size_t* size,
                                           vm_region_flavor_t flavor, vm_region_info_t info,
                                           mach_msg_type_number_t* count, mach_port_t* object_name) {
  // XNU answers the 32-bit basic flavor with the 64-bit layout here.
  if (flavor == VM_REGION_BASIC_INFO) flavor = VM_REGION_BASIC_INFO_64;
  // A walk's step, answered without the general call machinery (which
  // costs more than the lookup): basic info of our own memory, not logged.
  if (flavor == VM_REGION_BASIC_INFO_64 && task == mv::kTaskSelfName && address && size && info && count &&
      *count >= VM_REGION_BASIC_INFO_COUNT_64 && !hvshim::log::enabled(hvshim::log::Level::debug)) {
    uint64_t a = *address, s = 0;
    if (mv::region_basic64_in_ours(a, s, info)) {
      *address = a;
      *size = s;
      *count = VM_REGION_BASIC_INFO_COUNT_64;
      if (object_name) *object_name = MACH_PORT_NULL;
      return KERN_SUCCESS;
    }
  }
  return region_common("mach_vm_region", task, address, size, flavor, info, count, object_name);
}

HVSHIM_EXPORT kern_return_t vm_region_64(vm_map_read_t task, vm_address_t* address, vm_size_t* size,
                                         vm_region_flavor_t flavor, vm_region_info_t info,
                                         mach_msg_type_number_t* count, mach_port_t* object_name) {
  mv::CallAlias alias_("vm_region_64");
  if (flavor == VM_REGION_BASIC_INFO) flavor = VM_REGION_BASIC_INFO_64;
  mach_vm_address_t a = address ? *address : 0;
  mach_vm_size_t s = size ? *size : 0;
  kern_return_t kr = region_common("vm_region_64", task, address ? &a : nullptr, size ? &s : nullptr, flavor, info,
                                   count, object_name);
  if (kr == KERN_SUCCESS) {
    *address = a;
    *size = s;
  }
  return kr;
}

HVSHIM_EXPORT kern_return_t vm_region(vm_map_read_t task, vm_address_t* address, vm_size_t* size,
                                      vm_region_flavor_t flavor, vm_region_info_t info,
                                      mach_msg_type_number_t* count, mach_port_t* object_name) {
  mv::CallAlias alias_("vm_region");
  mach_vm_address_t a = address ? *address : 0;
  mach_vm_size_t s = size ? *size : 0;
  kern_return_t kr = region_common("vm_region", task, address ? &a : nullptr, size ? &s : nullptr, flavor, info,
                                   count, object_name);
  if (kr == KERN_SUCCESS) {
    *address = a;
    *size = s;
  }
  return kr;
}

HVSHIM_EXPORT kern_return_t mach_vm_region_recurse(vm_map_read_t task, mach_vm_address_t* address,
                                                   mach_vm_size_t* size, natural_t* depth,
                                                   vm_region_recurse_info_t info, mach_msg_type_number_t* count) {
  return recurse_common("mach_vm_region_recurse", task, address, size, depth, info, count, false);
}

HVSHIM_EXPORT kern_return_t vm_region_recurse_64(vm_map_read_t task, vm_address_t* address, vm_size_t* size,
                                                 natural_t* depth, vm_region_recurse_info_t info,
                                                 mach_msg_type_number_t* count) {
  mv::CallAlias alias_("vm_region_recurse_64");
  mach_vm_address_t a = address ? *address : 0;
  mach_vm_size_t s = size ? *size : 0;
  kern_return_t kr = recurse_common("vm_region_recurse_64", task, address ? &a : nullptr, size ? &s : nullptr,
                                    depth, info, count, false);
  if (kr == KERN_SUCCESS) {
    *address = a;
    *size = s;
  }
  return kr;
}

HVSHIM_EXPORT kern_return_t vm_region_recurse(vm_map_read_t task, vm_address_t* address, vm_size_t* size,
                                              natural_t* depth, vm_region_recurse_info_t info,
                                              mach_msg_type_number_t* count) {
  mv::CallAlias alias_("vm_region_recurse");
  mach_vm_address_t a = address ? *address : 0;
  mach_vm_size_t s = size ? *size : 0;
  kern_return_t kr = recurse_common("vm_region_recurse", task, address ? &a : nullptr, size ? &s : nullptr, depth,
                                    info, count, true);
  if (kr == KERN_SUCCESS) {
    *address = a;
    *size = s;
  }
  return kr;
}

HVSHIM_EXPORT kern_return_t mach_vm_page_query(vm_map_read_t task, mach_vm_offset_t offset, integer_t* disposition,
                                               integer_t* ref_count) {
  return api_call(
      "mach_vm_page_query",
      [&] {
        return fmt::format("task={:#x} addr={:#x} -> disposition={:#x} ref_count={}", task, offset,
                           disposition ? *disposition : 0, ref_count ? *ref_count : 0);
      },
      [&]() -> kern_return_t {
        if (kern_return_t kr = require_self(task, "mach_vm_page_query"); kr != KERN_SUCCESS) return kr;
        if (!disposition || !ref_count) return fail(KERN_INVALID_ARGUMENT, "NULL out parameter");
        return mv::vm_page_query(offset, *disposition, *ref_count);
      });
}

HVSHIM_EXPORT kern_return_t vm_map_page_query(vm_map_read_t task, vm_offset_t offset, integer_t* disposition,
                                              integer_t* ref_count) {
  mv::CallAlias alias_("vm_map_page_query");
  return mach_vm_page_query(task, offset, disposition, ref_count);
}

HVSHIM_EXPORT kern_return_t mach_vm_page_info(vm_map_read_t task, mach_vm_address_t address,
                                              vm_page_info_flavor_t flavor, vm_page_info_t info,
                                              mach_msg_type_number_t* count) {
  return api_call(
      "mach_vm_page_info",
      [&] { return fmt::format("task={:#x} addr={:#x} flavor={}", task, address, flavor); },
      [&]() -> kern_return_t {
        if (kern_return_t kr = require_self(task, "mach_vm_page_info"); kr != KERN_SUCCESS) return kr;
        if (!count) return fail(KERN_INVALID_ARGUMENT, "count is NULL");
        unsigned c = *count;
        kern_return_t kr = mv::vm_page_info(address, flavor, info, c);
        if (kr == KERN_SUCCESS) *count = c;
        return kr;
      });
}

}  // extern "C"
