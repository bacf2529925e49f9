// Write protection of guest pages without memslot changes (see README,
// "Fast write protection"). Guest memory that lives in shared host memory is
// reached through an alias registered with one userfaultfd; a page the
// guest may not write is write-protected there. A guest write then blocks
// in KVM on a userfaultfd message, which this router turns into what
// Hypervisor.framework promises: the vCPU leaves KVM_RUN before the write
// happens, and the VMM gets an EPT-violation exit with the GPA.
//
// KVM itself also writes guest memory, e.g. its instruction emulator (every
// instruction of a non-native guest mode on PVM) and shadow-paging A/D-bit
// updates. A signal cannot interrupt those kernel accesses, so:
//  * for a vCPU that entered KVM_RUN in an emulated mode, and for threads
//    that are not vCPUs of ours, the page is "demoted": its alias page is
//    made read-only with mprotect and the access retried, which makes KVM's
//    own write fail and surface as an MMIO exit before anything is written;
//  * for a native vCPU that faults again on the same page after the kick
//    (only a kernel access does), the page is demoted too: KVM's emulator
//    then reports the write as MMIO, and its shadow page walker queues a
//    guest #PF that the vCPU withdraws and reports as the EPT violation.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "kvm/userfault.h"

namespace hvshim::hv {

// Per vCPU thread; shared between the router and that vCPU's run loop.
struct VcpuFaultSlot {
  pid_t tid = 0;
  int kick_signal = 0;
  // Written by the vCPU before each KVM_RUN.
  std::atomic<bool> emulated{false};
  // Address of the write fault the vCPU was kicked for (0: none).
  std::atomic<uint64_t> fault_addr{0};
  // A kernel write (KVM's) into the page faulted again and was refused.
  std::atomic<bool> kernel_write_refused{false};
  int users = 0;  // vCPUs of this thread (router's lock)
  std::mutex mu;
};

struct WriteFault {
  uint64_t alias_addr = 0;
  bool kernel_write_refused = false;  // KVM's own write was made to fail
};

class FaultRouter {
 public:
  // Null when userfaultfd write protection is not available; `why` says so.
  static std::unique_ptr<FaultRouter> create(std::string* why);
  ~FaultRouter();

  kvm::Userfault& uffd() { return uffd_; }

  std::shared_ptr<VcpuFaultSlot> attach(pid_t tid, int kick_signal);
  void detach(pid_t tid);

  // After every KVM_RUN: puts demoted pages back under userfaultfd control.
  // True when there were any (a vCPU whose access KVM made through GUP,
  // not its emulator, gets EFAULT from a demoted page and may run again).
  [[nodiscard]] bool restore_demoted();
  // After KVM_RUN returned EINTR: the write fault the vCPU was kicked for.
  std::optional<WriteFault> take_fault(VcpuFaultSlot& slot);
  // After KVM_RUN returned an MMIO exit: that exit ends the access a kick
  // may have been sent for, so its fault record is dropped.
  void end_access(VcpuFaultSlot& slot);

  // The alias range is going away: forget its demoted pages first.
  void forget(uint64_t alias, uint64_t len);
  // The range becomes writable: demoted pages in it get their access back.
  void undemote(uint64_t alias, uint64_t len);

 private:
  explicit FaultRouter(kvm::Userfault uffd, int stop_fd) : uffd_(std::move(uffd)), stop_fd_(stop_fd) {}
  void loop();
  void on_fault(const kvm::UserfaultMsg& m);
  void demote(uint64_t page);

  kvm::Userfault uffd_;
  int stop_fd_;
  pid_t owner_pid_ = 0;
  pthread_t thread_{};
  bool started_ = false;

  mutable std::mutex mu_;  // guards everything below
  std::map<pid_t, std::shared_ptr<VcpuFaultSlot>> slots_;
  std::vector<uint64_t> demoted_;
  std::atomic<size_t> demoted_count_{0};
};

}  // namespace hvshim::hv
