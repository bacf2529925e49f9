// Everything a VMM process holds while it runs guests, built and left
// alive for the process-exit tests: the VM with a second address space, a
// vCPU on the calling thread that has run and visited the other space, a
// vCPU on a thread of its own, and Mach memory-entry RAM mapped into the
// guest.
// Meant for a forked child that then exits without cleaning up.
#pragma once

#include <string>
#include <vector>

namespace stress {

// The second vCPU's thread: none; parked (owns the vCPU, never runs it);
// in the guest (hv_vcpu_run of a loop that never exits); busy (a guest loop
// that exits to the library on every iteration, so library code runs all
// the time).
enum class VcpuThread { None, Parked, InGuest, Busy };

// Builds it all in this process; false with *err when something failed.
// Nothing is ever torn down.
bool build_live_vm(VcpuThread thread, std::string* err);

// What of KVM this process holds right now, as "fds: ...; maps: ...".
std::string kvm_holdings();

}  // namespace stress
