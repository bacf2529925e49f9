// One KVM vCPU with its mapped kvm_run page. Each state ioctl is wrapped
// once here; interpretation of the state belongs to the layers above.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

#include "kvm/result.h"
#include "kvm/system.h"
#include "kvm/unique_fd.h"

namespace hvshim::kvm {

class Vm;

// The legacy 4 KiB XSAVE area (KVM_GET/SET_XSAVE). <linux/kvm.h>'s kvm_xsave
// ends in a flexible array, which cannot live inside a value type.
struct XsaveArea {
  uint32_t region[1024];
};

class Vcpu {
 public:
  static Result<Vcpu> create(const System& sys, const Vm& vm, unsigned id);
  Vcpu(Vcpu&& o) noexcept;
  Vcpu& operator=(Vcpu&& o) noexcept;
  Vcpu(const Vcpu&) = delete;
  Vcpu& operator=(const Vcpu&) = delete;
  ~Vcpu();

  int fd() const { return fd_.get(); }
  unsigned id() const { return id_; }
  kvm_run* run_page() const { return run_; }

  // KVM_RUN. EINTR (a kick) comes back as Error{EINTR}.
  Status run();

  Result<kvm_regs> get_regs() const;
  Status set_regs(const kvm_regs& r);
  Result<kvm_sregs> get_sregs() const;
  Status set_sregs(const kvm_sregs& s);
  Result<kvm_fpu> get_fpu() const;
  Status set_fpu(const kvm_fpu& f);
  Result<XsaveArea> get_xsave() const;
  Status set_xsave(const XsaveArea& x);
  Result<kvm_xcrs> get_xcrs() const;
  Status set_xcrs(const kvm_xcrs& x);
  Result<kvm_vcpu_events> get_events() const;
  Status set_events(const kvm_vcpu_events& e);
  Result<kvm_debugregs> get_debugregs() const;
  Status set_debugregs(const kvm_debugregs& d);
  Result<kvm_mp_state> get_mp_state() const;
  Status set_mp_state(const kvm_mp_state& m);
  Status set_cpuid(const std::vector<kvm_cpuid_entry2>& entries);
  // Reads/writes a batch of MSRs; returns how many KVM processed (it stops
  // at the first it refuses).
  Result<int> get_msrs(std::vector<kvm_msr_entry>& entries) const;
  Result<int> set_msrs(const std::vector<kvm_msr_entry>& entries);
  // Reads/writes one MSR; Error{ENOENT} when KVM does not know it.
  Result<uint64_t> get_msr(uint32_t index) const;
  Status set_msr(uint32_t index, uint64_t value);
  Result<kvm_translation> translate(uint64_t gva) const;
  Status set_guest_debug(const kvm_guest_debug& d);
  // Signals blocked outside KVM_RUN but delivered inside it (kick signal).
  Status set_signal_mask(const void* sigset, unsigned len);

 private:
  Vcpu(UniqueFd fd, kvm_run* run, size_t run_size, unsigned id)
      : fd_(std::move(fd)), run_(run), run_size_(run_size), id_(id) {}
  void unmap();
  UniqueFd fd_;
  kvm_run* run_ = nullptr;
  size_t run_size_ = 0;
  unsigned id_ = 0;
};

}  // namespace hvshim::kvm
