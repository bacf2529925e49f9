// Bulk MSR transfer between KVM vCPUs (used when a vCPU changes space).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "kvm/result.h"
#include "kvm/system.h"
#include "kvm/vcpu.h"

namespace hvshim::hv::vcpu {

// Reads every MSR KVM lists as saveable (minus those it cannot restore).
[[nodiscard]] kvm::Status get_all_msrs(const kvm::System& sys, const kvm::Vcpu& v, std::vector<std::pair<uint32_t, uint64_t>>* out);
// Writes them; returns how many KVM accepted.
[[nodiscard]] int set_msrs(kvm::Vcpu& v, const std::vector<std::pair<uint32_t, uint64_t>>& msrs);

}  // namespace hvshim::hv::vcpu
