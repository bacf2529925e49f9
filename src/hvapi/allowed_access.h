// KVM may report a guest access as MMIO although the page map allows it:
// while a memslot update is in flight (delete + create), or where the slot
// layout was left stricter than the page map because memslots ran out. The
// access is then completed against the host memory the page map names, and
// the guest never notices.
#pragma once

#include <cstdint>

#include "hvapi/space.h"

namespace hvshim::hv {

// For an access of `len` bytes at `gpa`: if the page map of `space` allows
// it, copies between the host page and `data` (to the host for a write,
// from it for a read) and returns true. Call with vm_mutex() held.
[[nodiscard]] bool complete_allowed_access(const Space& space, uint64_t gpa, unsigned len, bool is_write, uint8_t* data);

}  // namespace hvshim::hv
