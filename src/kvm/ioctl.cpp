#include "kvm/ioctl.h"

#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "kvm/fault_injection.h"

namespace hvshim::kvm {

std::string Error::describe() const { return fmt::format("{}: {} ({})", op, strerror(err), err); }

Result<int> xioctl(int fd, unsigned long req, unsigned long arg, const char* name) {
  if (int inj = fault_injection::should_fail(name)) {
    log::trace("ioctl {}(fd={}) -> injected {}", name, fd, strerror(inj));
    return Error{inj, name};
  }
  // EINTR is passed up: for KVM_RUN it is how a kicked vCPU returns.
  int r = ::ioctl(fd, req, arg);
  if (r < 0) {
    int e = errno;
    log::trace("ioctl {}(fd={}) -> {}", name, fd, strerror(e));
    return Error{e, name};
  }
  log::trace("ioctl {}(fd={}) -> {}", name, fd, r);
  return r;
}

}  // namespace hvshim::kvm
