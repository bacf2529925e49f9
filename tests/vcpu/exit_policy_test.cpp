// KVM exits the run loop has no VMX translation for: those a VMX CPU would
// have handled silently re-enter, guest-ending ones become a triple fault,
// and only real failures are HV_ERROR (each with its reason).
#include <gtest/gtest.h>
#include <linux/kvm.h>

#include "hvapi/vcpu/exit_policy.h"

namespace {

using hvshim::hv::vcpu::judge_untranslated_exit;
using hvshim::hv::vcpu::UntranslatedExit;

UntranslatedExit judge(uint32_t reason, uint32_t sub = 0) {
  kvm_run r{};
  r.exit_reason = reason;
  if (reason == KVM_EXIT_SYSTEM_EVENT) r.system_event.type = sub;
  if (reason == KVM_EXIT_INTERNAL_ERROR) r.internal.suberror = sub;
  if (reason == 37) r.notify.flags = sub;
  return judge_untranslated_exit(r).action;
}

TEST(ExitPolicyTest, ExitsAVmxCpuHandlesItselfReenter) {
  EXPECT_EQ(judge(KVM_EXIT_SET_TPR), UntranslatedExit::Reenter);
  EXPECT_EQ(judge(KVM_EXIT_TPR_ACCESS), UntranslatedExit::Reenter);
  EXPECT_EQ(judge(KVM_EXIT_NMI), UntranslatedExit::Reenter);
  EXPECT_EQ(judge(KVM_EXIT_IOAPIC_EOI), UntranslatedExit::Reenter);
  EXPECT_EQ(judge(KVM_EXIT_X86_BUS_LOCK), UntranslatedExit::Reenter);
  EXPECT_EQ(judge(KVM_EXIT_DIRTY_RING_FULL), UntranslatedExit::Reenter);
  EXPECT_EQ(judge(37 /*NOTIFY*/, 0), UntranslatedExit::Reenter);
  EXPECT_EQ(judge(KVM_EXIT_SYSTEM_EVENT, 4 /*WAKEUP*/), UntranslatedExit::Reenter);
}

TEST(ExitPolicyTest, GuestEndingExitsAreTripleFaults) {
  EXPECT_EQ(judge(KVM_EXIT_SYSTEM_EVENT, KVM_SYSTEM_EVENT_SHUTDOWN), UntranslatedExit::TripleFault);
  EXPECT_EQ(judge(KVM_EXIT_SYSTEM_EVENT, KVM_SYSTEM_EVENT_RESET), UntranslatedExit::TripleFault);
  EXPECT_EQ(judge(KVM_EXIT_SYSTEM_EVENT, KVM_SYSTEM_EVENT_CRASH), UntranslatedExit::TripleFault);
  EXPECT_EQ(judge(KVM_EXIT_INTERNAL_ERROR, KVM_INTERNAL_ERROR_SIMUL_EX), UntranslatedExit::TripleFault);
  EXPECT_EQ(judge(37 /*NOTIFY*/, 1 /*context invalid*/), UntranslatedExit::TripleFault);
}

TEST(ExitPolicyTest, RealFailuresSayWhy) {
  kvm_run r{};
  r.exit_reason = KVM_EXIT_UNKNOWN;
  r.hw.hardware_exit_reason = 0x41;
  auto v = judge_untranslated_exit(r);
  EXPECT_EQ(v.action, UntranslatedExit::Error);
  EXPECT_NE(v.why.find("0x41"), std::string::npos) << v.why;
  EXPECT_EQ(judge(KVM_EXIT_INTERNAL_ERROR, KVM_INTERNAL_ERROR_DELIVERY_EV), UntranslatedExit::Error);
  EXPECT_EQ(judge(KVM_EXIT_HYPERV), UntranslatedExit::Error);
}

}  // namespace
