#include "hvapi/vcpu/state_io.h"

#include <linux/kvm.h>

#include <cstring>
#include <mutex>

#include "kvm/ioctl.h"

namespace hvshim::hv::vcpu {
namespace {

std::vector<uint32_t> saveable(const kvm::System& sys) {
  static std::once_flag once;
  static std::vector<uint32_t> list;
  std::call_once(once, [&] {
    if (auto l = sys.msr_index_list(); l) {
      for (uint32_t m : *l)
        if (m != 0x4b564d06) list.push_back(m);  // MSR_KVM_ASYNC_PF_INT cannot be written back
    }
  });
  return list;
}


}  // namespace

kvm::Status get_all_msrs(const kvm::System& sys, const kvm::Vcpu& v, std::vector<std::pair<uint32_t, uint64_t>>* out) {
  auto list = saveable(sys);
  std::vector<kvm_msr_entry> e(list.size());
  memset(e.data(), 0, e.size() * sizeof(kvm_msr_entry));
  for (size_t i = 0; i < list.size(); ++i) e[i].index = list[i];
  auto r = v.get_msrs(e);
  if (!r) return r.error();
  for (int i = 0; i < *r; ++i) out->emplace_back(e[i].index, e[i].data);
  return {};
}

int set_msrs(kvm::Vcpu& v, const std::vector<std::pair<uint32_t, uint64_t>>& msrs) {
  int ok = 0;
  size_t i = 0;
  // KVM stops at the first MSR it refuses; skip it and go on.
  while (i < msrs.size()) {
    std::vector<kvm_msr_entry> e(msrs.size() - i);
    memset(e.data(), 0, e.size() * sizeof(kvm_msr_entry));
    for (size_t j = i; j < msrs.size(); ++j) {
      e[j - i].index = msrs[j].first;
      e[j - i].data = msrs[j].second;
    }
    auto r = v.set_msrs(e);
    int n = r ? *r : 0;
    ok += n;
    i += static_cast<size_t>(n) + 1;
  }
  return ok;
}

}  // namespace hvshim::hv::vcpu
