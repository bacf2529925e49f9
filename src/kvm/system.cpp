#include "kvm/system.h"

#include <fcntl.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "kvm/ioctl.h"
#include "kvm/ioctl_numbers.h"

namespace hvshim::kvm {

Result<System> System::open(const char* path) {
  // Lets tests and users point the library at another device node (or a
  // missing one, to see HV_NO_DEVICE).
  if (const char* env = getenv("HVSHIM_KVM_DEVICE"); env && *env) path = env;
  int fd = ::open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) return Error{errno, "open"};
  UniqueFd ufd(fd);
  auto v = xioctl(fd, KVM_GET_API_VERSION, 0ul, "KVM_GET_API_VERSION");
  if (!v) return v.error();
  if (*v != KVM_API_VERSION) return Error{ENOTSUP, "KVM_GET_API_VERSION"};
  return System(std::move(ufd), *v);
}

bool System::is_device_error(const Error& e) {
  // Running out of descriptors or memory while opening is not the device's
  // fault: that stays a resource error, with no advice about the device.
  if (e.err == ENOMEM || e.err == EMFILE || e.err == ENFILE || e.err == ENOSPC) return false;
  return strcmp(e.op, "open") == 0 || strcmp(e.op, "KVM_GET_API_VERSION") == 0;
}

int System::check_extension(unsigned cap) const {
  auto r = xioctl(fd(), KVM_CHECK_EXTENSION, static_cast<unsigned long>(cap), "KVM_CHECK_EXTENSION");
  return r ? *r : 0;
}

Result<int> System::vcpu_mmap_size() const {
  return xioctl(fd(), KVM_GET_VCPU_MMAP_SIZE, 0ul, "KVM_GET_VCPU_MMAP_SIZE");
}

// The flexible arrays of kvm_cpuid2 / kvm_msr_list are not at the C offsets
// when the uapi header is compiled as C++ (see ioctl_numbers.h), so the
// buffers are laid out by hand: a header of `hdr` bytes, then the entries.
Result<std::vector<kvm_cpuid_entry2>> System::supported_cpuid() const {
  constexpr size_t hdr = 8;  // nent, padding
  for (uint32_t n = 64; n <= 4096; n *= 2) {
    std::vector<unsigned char> buf(hdr + n * sizeof(kvm_cpuid_entry2));
    memcpy(buf.data(), &n, 4);
    auto r = xioctl(fd(), nr::kGetSupportedCpuid, buf.data(), "KVM_GET_SUPPORTED_CPUID");
    if (!r && r.error().err == E2BIG) continue;
    if (!r) return r.error();
    uint32_t got;
    memcpy(&got, buf.data(), 4);
    std::vector<kvm_cpuid_entry2> out(got);
    memcpy(out.data(), buf.data() + hdr, got * sizeof(kvm_cpuid_entry2));
    return out;
  }
  return Error{E2BIG, "KVM_GET_SUPPORTED_CPUID"};
}

Result<std::vector<uint32_t>> System::msr_index_list() const {
  uint32_t n = 0;
  auto r = xioctl(fd(), nr::kGetMsrIndexList, &n, "KVM_GET_MSR_INDEX_LIST");
  if (r) return std::vector<uint32_t>{};
  if (r.error().err != E2BIG) return r.error();
  std::vector<uint32_t> buf(n + 1);
  buf[0] = n;
  r = xioctl(fd(), nr::kGetMsrIndexList, buf.data(), "KVM_GET_MSR_INDEX_LIST");
  if (!r) return r.error();
  return std::vector<uint32_t>(buf.begin() + 1, buf.begin() + 1 + buf[0]);
}

}  // namespace hvshim::kvm
