// A wall-clock budget per case group. A case that blocks forever (a guest
// access the library never resolves, a lost wakeup) must fail the run with
// the group's name, not hang CI. A thread, not SIGALRM: a vCPU thread stuck
// in a killable kernel wait (e.g. a userfaultfd fault taken inside KVM_RUN)
// never runs a signal handler.
#pragma once

namespace hvbench {

// Starts the watchdog thread (once). `seconds` = 0 disables it.
void watchdog_start(unsigned seconds);
// Arms the budget for `group` (a string with static storage).
void watchdog_arm(const char* group);
void watchdog_disarm();

}  // namespace hvbench
