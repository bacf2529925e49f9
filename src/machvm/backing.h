// Internal: which object backs an address, as (fd, offset). For layers
// that need to alias memory allocated through mach_vm_allocate (e.g. guest
// RAM handed to the hypervisor). The fd stays owned by machvm and valid
// while the range stays mapped.
#pragma once

#include <cstdint>

#include <mach/kern_return.h>

namespace hvshim::machvm {

struct Backing {
  int fd = -1;
  uint64_t offset = 0;     // file offset of the queried address
  uint64_t length = 0;     // bytes from the address that stay in this object
  uint64_t object_id = 0;  // stable identity of the object
  bool anonymous = true;
};

// KERN_INVALID_ADDRESS if addr is not in memory this library mapped.
kern_return_t backing_of(uint64_t addr, Backing& out);

}  // namespace hvshim::machvm
