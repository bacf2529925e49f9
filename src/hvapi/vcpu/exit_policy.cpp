#include "hvapi/vcpu/exit_policy.h"

#include <fmt/format.h>
#include <linux/kvm.h>

namespace hvshim::hv::vcpu {
namespace {

// Newer than some installed uapi headers.
constexpr uint32_t kExitNotify = 37;
constexpr uint32_t kNotifyContextInvalid = 1u << 0;
constexpr uint32_t kExitMemoryFault = 39;

}  // namespace

UntranslatedVerdict judge_untranslated_exit(const kvm_run& run) {
  switch (run.exit_reason) {
    // The TPR is already in CR8 of the sync area; a VMX CPU with a TPR
    // shadow updates it silently.
    case KVM_EXIT_SET_TPR:
    case KVM_EXIT_TPR_ACCESS:
    // Host NMI or host-side bookkeeping: the guest never saw anything.
    case KVM_EXIT_NMI:
    case KVM_EXIT_IOAPIC_EOI:
    case KVM_EXIT_X86_BUS_LOCK:
    case KVM_EXIT_DIRTY_RING_FULL:
      return {UntranslatedExit::Reenter, {}};
    case kExitNotify:
      if (run.notify.flags & kNotifyContextInvalid) return {UntranslatedExit::TripleFault, {}};
      return {UntranslatedExit::Reenter, {}};
    case KVM_EXIT_SYSTEM_EVENT:
      switch (run.system_event.type) {
        case KVM_SYSTEM_EVENT_SHUTDOWN:
        case KVM_SYSTEM_EVENT_RESET:
        case KVM_SYSTEM_EVENT_CRASH:
          return {UntranslatedExit::TripleFault, {}};
        default:
          return {UntranslatedExit::Reenter, {}};
      }
    case KVM_EXIT_UNKNOWN:
      return {UntranslatedExit::Error,
              fmt::format("KVM does not know the hardware exit reason {:#x}", run.hw.hardware_exit_reason)};
    case KVM_EXIT_INTERNAL_ERROR:
      switch (run.internal.suberror) {
        case KVM_INTERNAL_ERROR_SIMUL_EX:
          // Exceptions while delivering a double fault: VMX shuts down.
          return {UntranslatedExit::TripleFault, {}};
        case KVM_INTERNAL_ERROR_DELIVERY_EV:
          return {UntranslatedExit::Error,
                  "KVM cannot complete an event delivery that hit MMIO (e.g. a guest stack or IDT outside RAM)"};
        default:
          return {UntranslatedExit::Error, fmt::format("KVM internal error, suberror {}", run.internal.suberror)};
      }
    case kExitMemoryFault:
      return {UntranslatedExit::Error, "KVM could not access guest memory backing (memory fault)"};
    default:
      return {UntranslatedExit::Error, fmt::format("KVM exit {} that this library never enables", run.exit_reason)};
  }
}

}  // namespace hvshim::hv::vcpu
