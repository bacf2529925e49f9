// What the run loop does with a KVM exit it has no translation for: a VMX
// CPU would have handled it without telling the VMM (re-enter), it ends the
// guest as a triple fault would, or it is a real failure (HV_ERROR, with the
// reason; docs/vcpu.md lists them).
#pragma once

#include <cstdint>
#include <string>

struct kvm_run;

namespace hvshim::hv::vcpu {

enum class UntranslatedExit { Reenter, TripleFault, Error };

struct UntranslatedVerdict {
  UntranslatedExit action;
  std::string why;  // for Error: what hvshim_last_error() says
};

[[nodiscard]] UntranslatedVerdict judge_untranslated_exit(const kvm_run& run);

}  // namespace hvshim::hv::vcpu
