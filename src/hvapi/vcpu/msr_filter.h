// RDMSR/WRMSR exits for non-native MSRs: KVM's MSR filter (default deny)
// with user-space MSR exits, so every guest access to an MSR the VMM has
// not made native with hv_vcpu_enable_native_msr() exits to the VMM as on
// Hypervisor.framework. KVM filters are per VM (= per address space), so the
// allow list is the union of the native MSRs of all vCPUs.
#pragma once

#include <cstdint>
#include <set>

#include "kvm/vm.h"

namespace hvshim::hv::vcpu {

// Turns on user-space MSR exits and installs a default-deny filter that
// allows `native`. Returns false when KVM lacks either capability.
[[nodiscard]] bool apply_msr_filter(kvm::Vm& vm, const std::set<uint32_t>& native);

}  // namespace hvshim::hv::vcpu
