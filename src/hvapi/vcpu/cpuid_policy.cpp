#include "hvapi/vcpu/cpuid_policy.h"

#include <algorithm>

namespace hvshim::hv::vcpu {
namespace {

constexpr uint32_t kLeaf1EcxX2apic = 1u << 21;

kvm_cpuid_entry2* find(std::vector<kvm_cpuid_entry2>& t, uint32_t fn, uint32_t idx) {
  for (auto& e : t)
    if (e.function == fn && (!(e.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e.index == idx)) return &e;
  return nullptr;
}

const kvm_cpuid_entry2* find(const std::vector<kvm_cpuid_entry2>& t, uint32_t fn, uint32_t idx) {
  return find(const_cast<std::vector<kvm_cpuid_entry2>&>(t), fn, idx);
}

uint64_t xcr0_mask(const kvm_cpuid_entry2& d0) { return d0.eax | (static_cast<uint64_t>(d0.edx) << 32); }

// Feature flags that are unusable once their XSAVE components are gone.
void drop_features_of(std::vector<kvm_cpuid_entry2>& t, unsigned component) {
  kvm_cpuid_entry2* l7 = find(t, 7, 0);
  if (!l7) return;
  switch (component) {
    case 5: case 6: case 7:  // opmask, ZMM_Hi256, Hi16_ZMM: AVX-512
      l7->ebx &= ~((1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) | (1u << 27) | (1u << 28) | (1u << 30) | (1u << 31));
      l7->ecx &= ~((1u << 1) | (1u << 6) | (1u << 11) | (1u << 12) | (1u << 14));
      l7->edx &= ~((1u << 2) | (1u << 3) | (1u << 8) | (1u << 23));
      break;
    case 9:  // PKRU
      l7->ecx &= ~(1u << 3);
      break;
    case 17: case 18:  // AMX tile config / data
      l7->edx &= ~((1u << 22) | (1u << 24) | (1u << 25));
      break;
    default: break;
  }
}

}  // namespace

uint32_t xsave_bytes(const std::vector<kvm_cpuid_entry2>& t) {
  const kvm_cpuid_entry2* d0 = find(t, 0xd, 0);
  if (!d0) return 0;
  uint64_t mask = xcr0_mask(*d0);
  uint32_t end = mask ? 576 : 0;
  for (unsigned i = 2; i < 64; ++i) {
    if (!((mask >> i) & 1)) continue;
    if (const kvm_cpuid_entry2* s = find(t, 0xd, i)) end = std::max(end, s->ebx + s->eax);
  }
  return end;
}

std::vector<kvm_cpuid_entry2> cpuid_for_vcpu(std::vector<kvm_cpuid_entry2> t, uint32_t apic_id) {
  if (kvm_cpuid_entry2* l1 = find(t, 1, 0)) {
    l1->ebx = (l1->ebx & 0x00ffffffu) | (apic_id << 24);
    l1->ecx &= ~kLeaf1EcxX2apic;
  }
  for (auto& e : t)
    if (e.function == 0xb || e.function == 0x1f) e.edx = apic_id;

  if (kvm_cpuid_entry2* d0 = find(t, 0xd, 0)) {
    // Drop the highest components until the image fits the fpstate buffer.
    while (xsave_bytes(t) > kFpstateBytes) {
      uint64_t mask = xcr0_mask(*d0);
      unsigned top = 63 - static_cast<unsigned>(__builtin_clzll(mask));
      if (top < 2) break;
      // XCR0 takes the AVX-512 and the AMX components only all together.
      uint64_t group = top >= 5 && top <= 7 ? 0xe0 : (top == 17 || top == 18) ? 0x60000 : 1ull << top;
      mask &= ~group;
      d0->eax = static_cast<uint32_t>(mask);
      d0->edx = static_cast<uint32_t>(mask >> 32);
      std::erase_if(t, [group](const kvm_cpuid_entry2& e) {
        return e.function == 0xd && e.index >= 2 && e.index < 64 && ((group >> e.index) & 1);
      });
      d0 = find(t, 0xd, 0);
      drop_features_of(t, top);
    }
    d0->ecx = xsave_bytes(t);
    d0->ebx = std::min(d0->ebx, d0->ecx);
  }
  return t;
}

}  // namespace hvshim::hv::vcpu
