// A userfaultfd used for write protection only: register ranges of shared
// memory, flip write protection per page, read fault messages. Plain Linux;
// the guest-memory layer decides what a fault means.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "kvm/result.h"
#include "kvm/unique_fd.h"

namespace hvshim::kvm {

struct UserfaultMsg {
  uint64_t address = 0;  // exact faulting address
  bool write = false;
  bool wp = false;       // a write-protect fault (else missing/minor)
  pid_t tid = 0;         // faulting thread
};

class Userfault {
 public:
  // Tries userfaultfd(2), then /dev/userfaultfd (which needs no
  // CAP_SYS_PTRACE when vm.unprivileged_userfaultfd is 0). Fails with the
  // errno of the last attempt when write protection of shared memory, the
  // faulting thread id or exact addresses are not offered.
  static Result<Userfault> open();

  int fd() const { return fd_.get(); }
  Status register_wp(uint64_t addr, uint64_t len);
  // `on`: protect; off: unprotect and wake threads blocked on the range.
  Status write_protect(uint64_t addr, uint64_t len, bool on);
  Status wake(uint64_t addr, uint64_t len);
  // Reads one message; EAGAIN when none is queued (the fd is non-blocking).
  Result<UserfaultMsg> read_msg();

 private:
  explicit Userfault(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace hvshim::kvm
