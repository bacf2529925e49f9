// Correct numbers for the KVM ioctls whose argument struct ends in a flexible
// array. Under C++ the uapi header's __DECLARE_FLEX_ARRAY adds an empty
// member, so sizeof(kvm_cpuid2), sizeof(kvm_msrs), sizeof(kvm_xsave)... grow
// and _IOWR() encodes a size the kernel does not know: every such ioctl
// fails with EINVAL/ENOTTY. These wrappers use the sizes the kernel was
// built with (the C layout) and go through kvm::xioctl like everything else.
#pragma once

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cstdint>
#include <vector>

#include "kvm/result.h"
#include "kvm/vcpu.h"

namespace hvshim::hv::vcpu::kvmfix {

inline constexpr unsigned long kGetSupportedCpuid = _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x05, 8);
inline constexpr unsigned long kSetCpuid2 = _IOC(_IOC_WRITE, KVMIO, 0x90, 8);
inline constexpr unsigned long kGetMsrs = _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x88, 8);
inline constexpr unsigned long kSetMsrs = _IOC(_IOC_WRITE, KVMIO, 0x89, 8);
inline constexpr unsigned long kGetMsrIndexList = _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x02, 4);
inline constexpr unsigned long kSetSignalMask = _IOC(_IOC_WRITE, KVMIO, 0x8b, 4);
inline constexpr unsigned long kGetXsave = _IOC(_IOC_READ, KVMIO, 0xa4, 4096);
inline constexpr unsigned long kSetXsave = _IOC(_IOC_WRITE, KVMIO, 0xa5, 4096);

kvm::Result<std::vector<kvm_cpuid_entry2>> supported_cpuid(int sys_fd);
kvm::Status set_cpuid(int vcpu_fd, const std::vector<kvm_cpuid_entry2>& entries);
kvm::Result<std::vector<uint32_t>> msr_index_list(int sys_fd);
// Returns how many of the MSRs KVM processed (it stops at the first failure).
kvm::Result<int> get_msrs(int vcpu_fd, std::vector<kvm_msr_entry>& entries);
kvm::Result<int> set_msrs(int vcpu_fd, const std::vector<kvm_msr_entry>& entries);
kvm::Result<uint64_t> get_msr(int vcpu_fd, uint32_t index);
kvm::Status set_msr(int vcpu_fd, uint32_t index, uint64_t value);
kvm::Status set_signal_mask(int vcpu_fd, const void* sigset8);
kvm::Result<kvm::XsaveArea> get_xsave(int vcpu_fd);
kvm::Status set_xsave(int vcpu_fd, const kvm::XsaveArea& x);

}  // namespace hvshim::hv::vcpu::kvmfix
