// /dev/kvm: the system fd, capability queries and per-host facts.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "kvm/result.h"
#include "kvm/unique_fd.h"

namespace hvshim::kvm {

// Capabilities newer than the installed <linux/kvm.h> may be missing from it;
// they are probed at run time by number.
inline constexpr unsigned kCapDisableQuirks2 = 213;
inline constexpr uint64_t kQuirkSlotZapAll = 1ull << 7;
inline constexpr uint64_t kQuirkFixHypercallInsn = 1ull << 5;
inline constexpr unsigned kCapSyncRegs = 74;
inline constexpr unsigned kCapNrMemslots = 10;
inline constexpr unsigned kCapMultiAddressSpace = 118;
inline constexpr unsigned kCapReadonlyMem = 81;
inline constexpr unsigned kCapMaxVcpus = 66;
inline constexpr unsigned kCapXsave2 = 208;

class System {
 public:
  static Result<System> open(const char* path = "/dev/kvm");
  // Whether `e` (from open) means the device itself is missing, refused or not KVM.
  static bool is_device_error(const Error& e);

  int fd() const { return fd_.get(); }
  int api_version() const { return api_version_; }
  // KVM_CHECK_EXTENSION on the system fd; 0 when absent or on error.
  int check_extension(unsigned cap) const;
  Result<int> vcpu_mmap_size() const;
  // KVM_GET_SUPPORTED_CPUID; entries the host can present to guests.
  Result<std::vector<kvm_cpuid_entry2>> supported_cpuid() const;
  Result<std::vector<uint32_t>> msr_index_list() const;

 private:
  explicit System(UniqueFd fd, int api) : fd_(std::move(fd)), api_version_(api) {}
  UniqueFd fd_;
  int api_version_ = 0;
};

}  // namespace hvshim::kvm
