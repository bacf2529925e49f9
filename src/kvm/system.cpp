#include "kvm/system.h"

#include <fcntl.h>

#include <cstdlib>

#include "kvm/ioctl.h"

namespace hvshim::kvm {

Result<System> System::open(const char* path) {
  // Lets tests and users point the library at another device node (or a
  // missing one, to see HV_NO_DEVICE).
  if (const char* env = getenv("HVSHIM_KVM_DEVICE"); env && *env) path = env;
  int fd = ::open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) return Error{errno, "open(/dev/kvm)"};
  UniqueFd ufd(fd);
  auto v = xioctl(fd, KVM_GET_API_VERSION, 0ul, "KVM_GET_API_VERSION");
  if (!v) return v.error();
  if (*v != KVM_API_VERSION) return Error{ENOTSUP, "KVM_GET_API_VERSION"};
  return System(std::move(ufd), *v);
}

int System::check_extension(unsigned cap) const {
  auto r = xioctl(fd(), KVM_CHECK_EXTENSION, static_cast<unsigned long>(cap), "KVM_CHECK_EXTENSION");
  return r ? *r : 0;
}

Result<int> System::vcpu_mmap_size() const {
  return xioctl(fd(), KVM_GET_VCPU_MMAP_SIZE, 0ul, "KVM_GET_VCPU_MMAP_SIZE");
}

Result<std::vector<kvm_cpuid_entry2>> System::supported_cpuid() const {
  for (size_t n = 64; n <= 4096; n *= 2) {
    std::vector<unsigned char> buf(sizeof(kvm_cpuid2) + n * sizeof(kvm_cpuid_entry2));
    auto* c = reinterpret_cast<kvm_cpuid2*>(buf.data());
    c->nent = static_cast<uint32_t>(n);
    auto r = xioctl(fd(), KVM_GET_SUPPORTED_CPUID, c, "KVM_GET_SUPPORTED_CPUID");
    if (!r && r.error().err == E2BIG) continue;
    if (!r) return r.error();
    return std::vector<kvm_cpuid_entry2>(c->entries, c->entries + c->nent);
  }
  return Error{E2BIG, "KVM_GET_SUPPORTED_CPUID"};
}

Result<std::vector<uint32_t>> System::msr_index_list() const {
  kvm_msr_list probe{};
  auto r = xioctl(fd(), KVM_GET_MSR_INDEX_LIST, &probe, "KVM_GET_MSR_INDEX_LIST");
  if (r) return std::vector<uint32_t>{};
  if (r.error().err != E2BIG) return r.error();
  std::vector<uint32_t> buf(probe.nmsrs + 1);
  auto* l = reinterpret_cast<kvm_msr_list*>(buf.data());
  l->nmsrs = probe.nmsrs;
  r = xioctl(fd(), KVM_GET_MSR_INDEX_LIST, l, "KVM_GET_MSR_INDEX_LIST");
  if (!r) return r.error();
  return std::vector<uint32_t>(l->indices, l->indices + l->nmsrs);
}

}  // namespace hvshim::kvm
