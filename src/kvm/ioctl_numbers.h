// Numbers of the KVM ioctls whose argument struct ends in a flexible array.
// Compiled as C++, the uapi header's __DECLARE_FLEX_ARRAY adds an empty
// member, so sizeof(kvm_cpuid2), sizeof(kvm_msrs), sizeof(kvm_xsave)... grow
// and the _IOWR() numbers encode sizes the kernel does not know (EINVAL or
// ENOTTY). These use the C layout the kernel was built with.
#pragma once

#include <linux/kvm.h>
#include <sys/ioctl.h>

namespace hvshim::kvm::nr {

inline constexpr unsigned long kGetMsrIndexList = _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x02, 4);
inline constexpr unsigned long kGetSupportedCpuid = _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x05, 8);
inline constexpr unsigned long kGetMsrs = _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x88, 8);
inline constexpr unsigned long kSetMsrs = _IOC(_IOC_WRITE, KVMIO, 0x89, 8);
inline constexpr unsigned long kSetSignalMask = _IOC(_IOC_WRITE, KVMIO, 0x8b, 4);
inline constexpr unsigned long kSetCpuid2 = _IOC(_IOC_WRITE, KVMIO, 0x90, 8);
inline constexpr unsigned long kGetXsave = _IOC(_IOC_READ, KVMIO, 0xa4, 4096);
inline constexpr unsigned long kSetXsave = _IOC(_IOC_WRITE, KVMIO, 0xa5, 4096);

}  // namespace hvshim::kvm::nr
