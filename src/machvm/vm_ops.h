// The C++ core behind the C ABI, one function per Mach call, for the calling
// process. Arguments are already widened to 64 bits; results are XNU's codes.
#pragma once

#include <cstdint>

#include <mach/kern_return.h>
#include <mach/memory_object_types.h>
#include <mach/vm_attributes.h>
#include <mach/vm_behavior.h>
#include <mach/vm_inherit.h>
#include <mach/vm_prot.h>
#include <mach/vm_purgable.h>
#include <mach/vm_region.h>
#include <mach/vm_sync.h>

#include "machvm/ports.h"

namespace hvshim::machvm {

kern_return_t vm_allocate(uint64_t& addr, uint64_t size, int flags);
kern_return_t vm_deallocate(uint64_t addr, uint64_t size);
kern_return_t vm_protect(uint64_t addr, uint64_t size, bool set_max, vm_prot_t prot);
kern_return_t vm_inherit(uint64_t addr, uint64_t size, vm_inherit_t inh);

struct MapArgs {
  uint64_t size = 0, mask = 0;
  int flags = 0;
  mach_port_t object = 0;
  uint64_t offset = 0;
  bool copy = false;
  vm_prot_t cur = 0, max = 0;
  vm_inherit_t inherit = 0;
};
kern_return_t vm_map(uint64_t& addr, const MapArgs& a);

struct RemapArgs {
  uint64_t size = 0, mask = 0;
  int flags = 0;
  uint64_t src = 0;
  bool copy = false;
  vm_inherit_t inherit = 0;
  bool is_new = false;  // mach_vm_remap_new: cur/max are requirements
};
kern_return_t vm_remap(uint64_t& addr, const RemapArgs& a, vm_prot_t& cur, vm_prot_t& max);

// vm_read: a new allocation holding a snapshot of [addr, addr+size).
kern_return_t vm_read(uint64_t addr, uint64_t size, uint64_t& data, uint64_t& count);
kern_return_t vm_read_overwrite(uint64_t addr, uint64_t size, uint64_t dst, uint64_t& outsize);
kern_return_t vm_write(uint64_t addr, uint64_t src, uint64_t count);
kern_return_t vm_copy(uint64_t src, uint64_t size, uint64_t dst);

kern_return_t vm_region(uint64_t& addr, uint64_t& size, int flavor, int* info, unsigned& count);
// VM_REGION_BASIC_INFO_64 when addr lies in one of our entries; false (and
// nothing written) otherwise, for vm_region to answer.
bool region_basic64_in_ours(uint64_t& addr, uint64_t& size, int* info);
kern_return_t vm_region_recurse(uint64_t& addr, uint64_t& size, unsigned& depth, int* info, unsigned& count,
                                bool legacy32);
kern_return_t vm_page_info(uint64_t addr, int flavor, int* info, unsigned& count);
kern_return_t vm_page_query(uint64_t addr, int& disposition, int& ref_count);

kern_return_t vm_make_memory_entry(uint64_t& size, uint64_t offset, vm_prot_t permission, mach_port_t& handle,
                                   mach_port_t parent);

kern_return_t vm_purgable_control(uint64_t addr, vm_purgable_t control, int& state);
kern_return_t vm_msync(uint64_t addr, uint64_t size, vm_sync_t flags);
kern_return_t vm_behavior_set(uint64_t addr, uint64_t size, vm_behavior_t b);
kern_return_t vm_machine_attribute(uint64_t addr, uint64_t size, vm_machine_attribute_t attr,
                                   vm_machine_attribute_val_t& value);
kern_return_t vm_wire(uint64_t addr, uint64_t size, vm_prot_t access);

// Shared by the calls above.
kern_return_t new_anonymous_piece(uint64_t size, bool purgeable, Piece& out);
kern_return_t check_superpage(int flags, uint64_t& align_mask);

}  // namespace hvshim::machvm
