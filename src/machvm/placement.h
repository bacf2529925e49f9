// Putting a list of object pieces at an address chosen the way mach_vm_map
// / mach_vm_allocate / mach_vm_remap choose it, all-or-nothing.
#pragma once

#include <cstdint>
#include <vector>

#include <mach/kern_return.h>
#include <mach/vm_inherit.h>
#include <mach/vm_prot.h>

#include "machvm/ports.h"
#include "machvm/task.h"

namespace hvshim::machvm {

struct PlaceRequest {
  uint64_t addr = 0;  // page aligned: FIXED target, or ANYWHERE hint
  uint64_t mask = 0;  // (result & mask) == 0
  bool anywhere = false;
  bool use_hint = false;  // mach_vm_map/remap search upward from addr; allocate lets the kernel choose
  bool overwrite = false;
  std::vector<Piece> pieces;
  vm_prot_t cur = VM_PROT_DEFAULT, max = VM_PROT_ALL;
  vm_inherit_t inherit = VM_INHERIT_DEFAULT;
  unsigned tag = 0;
  bool permanent = false;
  uint64_t view = 0;  // 0: a fresh view
};

// Lock held. On success `out` is the start of the new range and the table
// holds the new entries; on failure nothing visible changed.
kern_return_t place(Task& t, const PlaceRequest& r, uint64_t& out);

// place()'s common case, callable without building a request (what most
// mach_vm_allocate calls are): ANYWHERE, no hint, no alignment, one piece;
// the kernel picks the address and maps the piece in one call.
kern_return_t place_anywhere(Task& t, Piece pc, vm_prot_t cur, vm_prot_t max, vm_inherit_t inherit, unsigned tag,
                             bool permanent, uint64_t& out);

}  // namespace hvshim::machvm
