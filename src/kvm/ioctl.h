// The single place where the library talks to /dev/kvm: every wrapper goes
// through here so tracing and the fault-injection test seam see all of it.
#pragma once

#include "kvm/result.h"

namespace hvshim::kvm {

// Returns the ioctl's non-negative result or Error{errno, name}.
Result<int> xioctl(int fd, unsigned long req, unsigned long arg, const char* name);

inline Result<int> xioctl(int fd, unsigned long req, const void* arg, const char* name) {
  return xioctl(fd, req, reinterpret_cast<unsigned long>(arg), name);
}

}  // namespace hvshim::kvm
