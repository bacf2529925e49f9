#include "hvapi/vcpu/msr_filter.h"

#include <linux/kvm.h>

#include <cstring>
#include <vector>

#include "common/log.h"
#include "kvm/ioctl.h"

namespace hvshim::hv::vcpu {

bool apply_msr_filter(kvm::Vm& vm, const std::set<uint32_t>& native) {
  if (vm.check_extension(KVM_CAP_X86_USER_SPACE_MSR) <= 0 || vm.check_extension(KVM_CAP_X86_MSR_FILTER) <= 0)
    return false;
  if (auto st = vm.enable_cap(KVM_CAP_X86_USER_SPACE_MSR,
                              KVM_MSR_EXIT_REASON_FILTER | KVM_MSR_EXIT_REASON_UNKNOWN | KVM_MSR_EXIT_REASON_INVAL);
      !st) {
    log::debug("KVM_CAP_X86_USER_SPACE_MSR: {}", st.error().describe());
    return false;
  }
  // One range per cluster of native MSRs (a bitmap of up to 64 MSRs each).
  static thread_local std::vector<std::vector<uint8_t>> bitmaps;
  bitmaps.clear();
  kvm_msr_filter f{};
  f.flags = KVM_MSR_FILTER_DEFAULT_DENY;
  unsigned n = 0;
  for (auto it = native.begin(); it != native.end();) {
    if (n == KVM_MSR_FILTER_MAX_RANGES) {
      log::warn("more native MSR clusters than KVM filter ranges; allowing all MSRs");
      f.flags = KVM_MSR_FILTER_DEFAULT_ALLOW;
      n = 0;
      break;
    }
    uint32_t base = *it;
    bitmaps.emplace_back(8, 0);
    while (it != native.end() && *it - base < 64) {
      bitmaps.back()[(*it - base) / 8] |= static_cast<uint8_t>(1u << ((*it - base) % 8));
      ++it;
    }
    auto& r = f.ranges[n++];
    r.flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE;
    r.base = base;
    r.nmsrs = 64;
    r.bitmap = bitmaps.back().data();
  }
  if (f.flags == KVM_MSR_FILTER_DEFAULT_ALLOW) memset(f.ranges, 0, sizeof f.ranges);
  if (f.flags == KVM_MSR_FILTER_DEFAULT_DENY && n == 0) {
    // KVM refuses a deny-all filter without ranges: add one that allows nothing.
    bitmaps.emplace_back(8, 0);
    f.ranges[0].flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE;
    f.ranges[0].base = 0;
    f.ranges[0].nmsrs = 1;
    f.ranges[0].bitmap = bitmaps.back().data();
  }
  auto r = kvm::xioctl(vm.fd(), KVM_X86_SET_MSR_FILTER, &f, "KVM_X86_SET_MSR_FILTER");
  if (!r) {
    log::warn("KVM_X86_SET_MSR_FILTER: {}", r.error().describe());
    return false;
  }
  return true;
}

}  // namespace hvshim::hv::vcpu
