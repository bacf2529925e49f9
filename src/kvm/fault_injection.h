// Test seam: make the Nth future call of a named ioctl fail with an errno,
// so tests can prove that callers leave their state unchanged on failure.
#pragma once

namespace hvshim::kvm::fault_injection {

// After `skip` successful matching calls, the next `count` calls of ioctl
// `name` (e.g. "KVM_SET_USER_MEMORY_REGION") fail with `err`.
void arm(const char* name, int err, int skip = 0, int count = 1);
void disarm();
// Returns the errno to inject for this call, or 0.
int should_fail(const char* name);

}  // namespace hvshim::kvm::fault_injection
