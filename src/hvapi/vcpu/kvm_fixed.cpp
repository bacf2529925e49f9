#include "hvapi/vcpu/kvm_fixed.h"

#include <cerrno>
#include <cstring>

#include "kvm/ioctl.h"

namespace hvshim::hv::vcpu::kvmfix {
namespace {

// kvm_msrs / kvm_cpuid2 header: two u32 then the entries.
template <class E>
std::vector<uint8_t> with_header(uint32_t n, const E* entries) {
  std::vector<uint8_t> b(8 + n * sizeof(E), 0);
  memcpy(b.data(), &n, 4);
  if (n) memcpy(b.data() + 8, entries, n * sizeof(E));
  return b;
}

}  // namespace

kvm::Result<std::vector<kvm_cpuid_entry2>> supported_cpuid(int sys_fd) {
  constexpr uint32_t kMax = 256;
  std::vector<kvm_cpuid_entry2> e(kMax);
  memset(e.data(), 0, e.size() * sizeof(kvm_cpuid_entry2));
  auto b = with_header(kMax, e.data());
  auto r = kvm::xioctl(sys_fd, kGetSupportedCpuid, b.data(), "KVM_GET_SUPPORTED_CPUID");
  if (!r) return r.error();
  uint32_t n;
  memcpy(&n, b.data(), 4);
  e.resize(n);
  memcpy(e.data(), b.data() + 8, n * sizeof(kvm_cpuid_entry2));
  return e;
}

kvm::Status set_cpuid(int vcpu_fd, const std::vector<kvm_cpuid_entry2>& entries) {
  auto b = with_header(static_cast<uint32_t>(entries.size()), entries.data());
  auto r = kvm::xioctl(vcpu_fd, kSetCpuid2, b.data(), "KVM_SET_CPUID2");
  if (!r) return r.error();
  return {};
}

kvm::Result<std::vector<uint32_t>> msr_index_list(int sys_fd) {
  std::vector<uint32_t> b(1 + 1024, 0);
  b[0] = 1024;
  auto r = kvm::xioctl(sys_fd, kGetMsrIndexList, b.data(), "KVM_GET_MSR_INDEX_LIST");
  if (!r) return r.error();
  return std::vector<uint32_t>(b.begin() + 1, b.begin() + 1 + b[0]);
}

kvm::Result<int> get_msrs(int vcpu_fd, std::vector<kvm_msr_entry>& entries) {
  auto b = with_header(static_cast<uint32_t>(entries.size()), entries.data());
  auto r = kvm::xioctl(vcpu_fd, kGetMsrs, b.data(), "KVM_GET_MSRS");
  if (!r) return r.error();
  memcpy(entries.data(), b.data() + 8, entries.size() * sizeof(kvm_msr_entry));
  return *r;
}

kvm::Result<int> set_msrs(int vcpu_fd, const std::vector<kvm_msr_entry>& entries) {
  auto b = with_header(static_cast<uint32_t>(entries.size()), entries.data());
  auto r = kvm::xioctl(vcpu_fd, kSetMsrs, b.data(), "KVM_SET_MSRS");
  if (!r) return r.error();
  return *r;
}

kvm::Result<uint64_t> get_msr(int vcpu_fd, uint32_t index) {
  std::vector<kvm_msr_entry> e(1);
  memset(e.data(), 0, sizeof(kvm_msr_entry));
  e[0].index = index;
  auto r = get_msrs(vcpu_fd, e);
  if (!r) return r.error();
  if (*r != 1) return kvm::Error{ENOENT, "KVM_GET_MSRS"};
  return static_cast<uint64_t>(e[0].data);
}

kvm::Status set_msr(int vcpu_fd, uint32_t index, uint64_t value) {
  std::vector<kvm_msr_entry> e(1);
  memset(e.data(), 0, sizeof(kvm_msr_entry));
  e[0].index = index;
  e[0].data = value;
  auto r = set_msrs(vcpu_fd, e);
  if (!r) return r.error();
  if (*r != 1) return kvm::Error{EINVAL, "KVM_SET_MSRS"};
  return {};
}

kvm::Status set_signal_mask(int vcpu_fd, const void* sigset8) {
  uint8_t b[4 + 8];
  uint32_t len = 8;
  memcpy(b, &len, 4);
  memcpy(b + 4, sigset8, 8);
  auto r = kvm::xioctl(vcpu_fd, kSetSignalMask, b, "KVM_SET_SIGNAL_MASK");
  if (!r) return r.error();
  return {};
}

kvm::Result<kvm::XsaveArea> get_xsave(int vcpu_fd) {
  kvm::XsaveArea x{};
  auto r = kvm::xioctl(vcpu_fd, kGetXsave, &x, "KVM_GET_XSAVE");
  if (!r) return r.error();
  return x;
}

kvm::Status set_xsave(int vcpu_fd, const kvm::XsaveArea& x) {
  auto r = kvm::xioctl(vcpu_fd, kSetXsave, &x, "KVM_SET_XSAVE");
  if (!r) return r.error();
  return {};
}

}  // namespace hvshim::hv::vcpu::kvmfix
