// <hvshim/hvshim.h> CPUID extension: the table a vCPU's guest sees.
#include <hvshim/hvshim.h>

#include <mutex>

#include "common/export.h"
#include "common/last_error.h"
#include "hvapi/api_trace.h"
#include "hvapi/vcpu/vcpu.h"

using namespace hvshim;
using namespace hvshim::hv;
using namespace hvshim::hv::vcpu;

extern "C" {

HVSHIM_EXPORT hv_return_t hvshim_vcpu_set_cpuid(hv_vcpuid_t vcpu, const hvshim_cpuid_entry_t* entries,
                                                uint32_t count) {
  return traced("hvshim_vcpu_set_cpuid", [&] { return fmt::format("{}, {}, {}", vcpu, static_cast<const void*>(entries), count); },
                [&]() -> hv_return_t {
                  hv_return_t err = HV_SUCCESS;
                  LogicalVcpu* v = owned_vcpu(vcpu, &err);
                  if (!v) return err;
                  if (!entries || count == 0 || count > 256) {
                    set_last_error("entries must point to 1 to 256 entries");
                    return HV_BAD_ARGUMENT;
                  }
                  std::vector<kvm_cpuid_entry2> t(count);
                  for (uint32_t i = 0; i < count; ++i) {
                    t[i].function = entries[i].function;
                    t[i].index = entries[i].index;
                    t[i].flags = (entries[i].flags & HVSHIM_CPUID_INDEX_SIGNIFICANT) ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
                    t[i].eax = entries[i].eax;
                    t[i].ebx = entries[i].ebx;
                    t[i].ecx = entries[i].ecx;
                    t[i].edx = entries[i].edx;
                  }
                  return v->set_cpuid(std::move(t));
                });
}

HVSHIM_EXPORT hv_return_t hvshim_vcpu_get_cpuid(hv_vcpuid_t vcpu, hvshim_cpuid_entry_t* entries, uint32_t* count) {
  return traced("hvshim_vcpu_get_cpuid", [&] { return fmt::format("{}, {}", vcpu, static_cast<void*>(entries)); },
                [&]() -> hv_return_t {
                  hv_return_t err = HV_SUCCESS;
                  LogicalVcpu* v = owned_vcpu(vcpu, &err);
                  if (!v) return err;
                  if (!count) {
                    set_last_error("count is null");
                    return HV_BAD_ARGUMENT;
                  }
                  const auto& t = v->cpuid();
                  uint32_t need = static_cast<uint32_t>(t.size());
                  if (*count < need || !entries) {
                    *count = need;
                    set_last_error(fmt::format("the table has {} entries", need));
                    return HV_NO_RESOURCES;
                  }
                  for (uint32_t i = 0; i < need; ++i) {
                    entries[i] = {t[i].function, t[i].index,
                                  (t[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ? HVSHIM_CPUID_INDEX_SIGNIFICANT : 0u,
                                  t[i].eax, t[i].ebx, t[i].ecx, t[i].edx};
                  }
                  *count = need;
                  return HV_SUCCESS;
                });
}

}  // extern "C"
