// The CPUID table one vCPU gets by default: KVM's supported CPUID made
// consistent with what this library delivers (docs/porting.md, "CPUID").
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

namespace hvshim::hv::vcpu {

// hv_vcpu_read/write_fpstate move at most this many bytes of XSAVE image.
inline constexpr uint32_t kFpstateBytes = 4096;

// `base` (KVM's supported CPUID) for the vCPU whose initial APIC id is
// `apic_id`: that id in leaf 1 EBX[31:24] and as x2APIC id in leaves 0xB
// and 0x1F; no x2APIC, as there is no in-kernel local APIC; no XSAVE
// component beyond kFpstateBytes (and no feature flag that needs one).
[[nodiscard]] std::vector<kvm_cpuid_entry2> cpuid_for_vcpu(std::vector<kvm_cpuid_entry2> base, uint32_t apic_id);

// Largest end of an XSAVE component the table enables (0xD.0 EAX/EDX with
// the sizes and offsets of its sub-leaves), at least the 576-byte legacy
// area plus header when XSAVE is there at all.
[[nodiscard]] uint32_t xsave_bytes(const std::vector<kvm_cpuid_entry2>& t);

}  // namespace hvshim::hv::vcpu
