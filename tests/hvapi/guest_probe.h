// A tiny guest that tells the test what it can do with guest-physical
// memory: read a word, write a word, or jump into a page and run the stub
// there. Each probe is one KVM_RUN of a 32-bit flat protected-mode vCPU
// created directly on the space's KVM VM (the hv_vcpu API is tested
// separately); the guest reports success through port I/O, a blocked access
// shows as the exit KVM gives for it.
#pragma once

#include <Hypervisor/hv.h>

#include <cstdint>
#include <memory>
#include <string>

#include "kvm/vcpu.h"
#include "support/kvm_test_support.h"

namespace hvtest {

inline constexpr uint64_t kProbeCodeGpa = 0x1000;

struct Probe {
  enum Kind { Value, ReadFault, WriteFault, FetchFault, Other } kind = Other;
  uint32_t value = 0;      // for Value
  uint64_t gpa = 0;        // for Read/WriteFault
  uint32_t exit_reason = 0;
  bool ok() const { return kind == Value; }
};
std::string to_string(const Probe& p);

class GuestProbe {
 public:
  // Maps the probe's code page at kProbeCodeGpa (R|X) into `space` and
  // creates the vCPU. Call after hv_vm_create.
  static std::unique_ptr<GuestProbe> create(hv_vm_space_t space = HV_VM_SPACE_DEFAULT);
  ~GuestProbe();

  Probe read32(uint64_t gpa);
  Probe write32(uint64_t gpa, uint32_t value);
  Probe exec(uint64_t gpa);  // the page must start with an exec stub

  // What the guest can do with the page at gpa, as "rwx"/"r-x"/"---"...
  // Non-destructive: the write writes back the word it read (or 0 when the
  // read failed). Exec is only attempted when the page holds a stub.
  std::string access(uint64_t gpa, bool try_exec = false);

  // Accesses KVM reported as MMIO that the page map allowed (completed).
  unsigned completed_accesses() const { return completed_; }

  // Writes `mov eax, tag; out 0x12, eax; hlt` at host address `p`.
  static void place_exec_stub(void* p, uint32_t tag);

 private:
  GuestProbe() = default;
  bool make_vcpu();
  Probe run_stub(uint64_t rip, uint64_t rbx, uint64_t rcx);

  hv_vm_space_t space_ = 0;
  unsigned completed_ = 0;
  void* code_ = nullptr;
  std::unique_ptr<hvshim::kvm::Vcpu> vcpu_;
};

using testsupport::kvm_usable;

}  // namespace hvtest
