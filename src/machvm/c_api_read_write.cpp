// C ABI: read, read_list, read_overwrite, write, copy.
#include <mach/mach.h>

#include "machvm/c_api_call.h"
#include "machvm/remote_task.h"
#include "machvm/vm_ops.h"

namespace mv = hvshim::machvm;
using mv::api_call;
using mv::fail;
using mv::require_self;

namespace {
kern_return_t resolve(vm_map_t task, mv::TaskTarget& t) {
  t = mv::resolve_task(task);
  if (t.kind == mv::TaskTarget::invalid) return fail(MACH_SEND_INVALID_DEST, "{:#x} is not a task port", task);
  return KERN_SUCCESS;
}

kern_return_t read_one(const mv::TaskTarget& t, uint64_t addr, uint64_t size, uint64_t& data, uint64_t& count) {
  return t.kind == mv::TaskTarget::self ? mv::vm_read(addr, size, data, count)
                                        : mv::remote_read(t.pid, addr, size, data, count);
}
}  // namespace

extern "C" {

HVSHIM_EXPORT kern_return_t mach_vm_read(vm_map_read_t task, mach_vm_address_t address, mach_vm_size_t size,
                                         vm_offset_t* data, mach_msg_type_number_t* dataCnt) {
  return api_call(
      "mach_vm_read",
      [&] {
        return fmt::format("task={:#x} addr={:#x} size={:#x} -> data={:#x} count={:#x}", task, address, size,
                           data ? *data : 0, dataCnt ? *dataCnt : 0);
      },
      [&]() -> kern_return_t {
        mv::TaskTarget t;
        if (kern_return_t kr = resolve(task, t); kr != KERN_SUCCESS) return kr;
        if (!data || !dataCnt) return fail(KERN_INVALID_ARGUMENT, "NULL out parameter");
        uint64_t d = 0, c = 0;
        kern_return_t kr = read_one(t, address, size, d, c);
        if (kr != KERN_SUCCESS) return kr;
        *data = static_cast<vm_offset_t>(d);
        *dataCnt = static_cast<mach_msg_type_number_t>(c);
        return KERN_SUCCESS;
      });
}

HVSHIM_EXPORT kern_return_t vm_read(vm_map_read_t task, vm_address_t address, vm_size_t size, vm_offset_t* data,
                                    mach_msg_type_number_t* dataCnt) {
  mv::CallAlias alias_("vm_read");
  return mach_vm_read(task, address, size, data, dataCnt);
}

HVSHIM_EXPORT kern_return_t mach_vm_read_list(vm_map_read_t task, mach_vm_read_entry_t data_list, natural_t count) {
  return api_call(
      "mach_vm_read_list", [&] { return fmt::format("task={:#x} count={}", task, count); },
      [&]() -> kern_return_t {
        mv::TaskTarget t;
        if (kern_return_t kr = resolve(task, t); kr != KERN_SUCCESS) return kr;
        if (count > VM_MAP_ENTRY_MAX) return fail(KERN_INVALID_ARGUMENT, "count {} exceeds VM_MAP_ENTRY_MAX", count);
        if (!data_list && count) return fail(KERN_INVALID_ARGUMENT, "data_list is NULL");
        // As XNU: every entry is read on its own, and the answer is the one
        // of the last entry with a size (earlier failures only zero their
        // entry; earlier successes stay mapped either way).
        kern_return_t last = KERN_SUCCESS;
        for (natural_t i = 0; i < count; ++i) {
          uint64_t d = 0, c = 0;
          kern_return_t kr = KERN_SUCCESS;
          if (data_list[i].size) last = kr = read_one(t, data_list[i].address, data_list[i].size, d, c);
          if (kr != KERN_SUCCESS || c == 0) {
            data_list[i].address = 0;
            data_list[i].size = 0;
            continue;
          }
          data_list[i].address = d;
          data_list[i].size = c;
        }
        return last;
      });
}

HVSHIM_EXPORT kern_return_t vm_read_list(vm_map_read_t task, vm_read_entry_t data_list, natural_t count) {
  mv::CallAlias alias_("vm_read_list");
  if (count > VM_MAP_ENTRY_MAX) return mach_vm_read_list(task, nullptr, count);
  mach_vm_read_entry_t wide;
  for (natural_t i = 0; i < count; ++i) wide[i] = {data_list[i].address, data_list[i].size};
  kern_return_t kr = mach_vm_read_list(task, wide, count);
  for (natural_t i = 0; i < count; ++i) {
    data_list[i].address = static_cast<vm_address_t>(wide[i].address);
    data_list[i].size = static_cast<vm_size_t>(wide[i].size);
  }
  return kr;
}

HVSHIM_EXPORT kern_return_t mach_vm_read_overwrite(vm_map_read_t task, mach_vm_address_t address,
                                                   mach_vm_size_t size, mach_vm_address_t data,
                                                   mach_vm_size_t* outsize) {
  return api_call(
      "mach_vm_read_overwrite",
      [&] { return fmt::format("task={:#x} addr={:#x} size={:#x} data={:#x}", task, address, size, data); },
      [&]() -> kern_return_t {
        mv::TaskTarget t;
        if (kern_return_t kr = resolve(task, t); kr != KERN_SUCCESS) return kr;
        uint64_t out = 0;
        kern_return_t kr = t.kind == mv::TaskTarget::self ? mv::vm_read_overwrite(address, size, data, out)
                                                          : mv::remote_read_overwrite(t.pid, address, size, data, out);
        if (kr == KERN_SUCCESS && outsize) *outsize = out;
        return kr;
      });
}

HVSHIM_EXPORT kern_return_t vm_read_overwrite(vm_map_read_t task, vm_address_t address, vm_size_t size,
                                              vm_address_t data, vm_size_t* outsize) {
  mv::CallAlias alias_("vm_read_overwrite");
  mach_vm_size_t o = 0;
  kern_return_t kr = mach_vm_read_overwrite(task, address, size, data, &o);
  if (kr == KERN_SUCCESS && outsize) *outsize = static_cast<vm_size_t>(o);
  return kr;
}

HVSHIM_EXPORT kern_return_t mach_vm_write(vm_map_t task, mach_vm_address_t address, vm_offset_t data,
                                          mach_msg_type_number_t dataCnt) {
  return api_call(
      "mach_vm_write",
      [&] { return fmt::format("task={:#x} addr={:#x} data={:#x} count={:#x}", task, address, data, dataCnt); },
      [&]() -> kern_return_t {
        mv::TaskTarget t;
        if (kern_return_t kr = resolve(task, t); kr != KERN_SUCCESS) return kr;
        return t.kind == mv::TaskTarget::self ? mv::vm_write(address, data, dataCnt)
                                              : mv::remote_write(t.pid, address, data, dataCnt);
      });
}

HVSHIM_EXPORT kern_return_t vm_write(vm_map_t task, vm_address_t address, vm_offset_t data,
                                     mach_msg_type_number_t dataCnt) {
  mv::CallAlias alias_("vm_write");
  return mach_vm_write(task, address, data, dataCnt);
}

HVSHIM_EXPORT kern_return_t mach_vm_copy(vm_map_t task, mach_vm_address_t source_address, mach_vm_size_t size,
                                         mach_vm_address_t dest_address) {
  return api_call(
      "mach_vm_copy",
      [&] { return fmt::format("task={:#x} src={:#x} size={:#x} dst={:#x}", task, source_address, size, dest_address); },
      [&]() -> kern_return_t {
        if (kern_return_t kr = require_self(task, "mach_vm_copy"); kr != KERN_SUCCESS) return kr;
        return mv::vm_copy(source_address, size, dest_address);
      });
}

HVSHIM_EXPORT kern_return_t vm_copy(vm_map_t task, vm_address_t source_address, vm_size_t size,
                                    vm_address_t dest_address) {
  mv::CallAlias alias_("vm_copy");
  return mach_vm_copy(task, source_address, size, dest_address);
}

}  // extern "C"
