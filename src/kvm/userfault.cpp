#include "kvm/userfault.h"

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "common/forced_fallback.h"
#include "common/log.h"
#include "kvm/ioctl.h"

namespace hvshim::kvm {

namespace {

// Not in the 6.1 uapi headers Debian 12 ships; the value is the kernel's.
constexpr uint64_t kFeatureWpUnpopulated = 1ull << 13;

constexpr uint64_t kRequired = UFFD_FEATURE_THREAD_ID | UFFD_FEATURE_WP_HUGETLBFS_SHMEM | UFFD_FEATURE_EXACT_ADDRESS;

int new_fd() {
  if (fallback_forced("userfaultfd")) {
    errno = ENOSYS;
    return -1;
  }
  int fd = fallback_forced("userfaultfd_syscall") ? (errno = EPERM, -1)
                                                   : static_cast<int>(syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
  if (fd >= 0) return fd;
  int first = errno;
  int dev = ::open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
  if (dev < 0) {
    errno = first;
    return -1;
  }
  fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
  int e = errno;
  ::close(dev);
  errno = e;
  return fd;
}

}  // namespace

Result<Userfault> Userfault::open() {
  int raw = new_fd();
  if (raw < 0) return Error{errno, "userfaultfd"};
  UniqueFd fd(raw);
  // The handshake is allowed once per fd: if the kernel refuses protection
  // of not-yet-populated pages, start over on a fresh fd without it.
  uffdio_api api{};
  api.api = UFFD_API;
  api.features = kRequired | kFeatureWpUnpopulated;
  if (fallback_forced("uffd_wp_unpopulated") || !xioctl(fd.get(), UFFDIO_API, &api, "UFFDIO_API")) {
    raw = new_fd();
    if (raw < 0) return Error{errno, "userfaultfd"};
    fd = UniqueFd(raw);
    api = {};
    api.api = UFFD_API;
    api.features = kRequired;
    if (auto r = xioctl(fd.get(), UFFDIO_API, &api, "UFFDIO_API"); !r) return r.error();
  }
  if ((api.ioctls & (1ull << _UFFDIO_REGISTER)) == 0) return Error{ENOTSUP, "UFFDIO_API"};
  return Userfault(std::move(fd));
}

Status Userfault::register_wp(uint64_t addr, uint64_t len) {
  uffdio_register reg{};
  reg.range = {addr, len};
  reg.mode = UFFDIO_REGISTER_MODE_WP;
  if (auto r = xioctl(fd(), UFFDIO_REGISTER, &reg, "UFFDIO_REGISTER"); !r) return r.error();
  if ((reg.ioctls & (1ull << _UFFDIO_WRITEPROTECT)) == 0) return Error{ENOTSUP, "UFFDIO_REGISTER"};
  return {};
}

Status Userfault::write_protect(uint64_t addr, uint64_t len, bool on) {
  uffdio_writeprotect wp{};
  wp.range = {addr, len};
  wp.mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0;
  if (auto r = xioctl(fd(), UFFDIO_WRITEPROTECT, &wp, "UFFDIO_WRITEPROTECT"); !r) return r.error();
  return {};
}

Status Userfault::wake(uint64_t addr, uint64_t len) {
  uffdio_range r{addr, len};
  if (auto st = xioctl(fd(), UFFDIO_WAKE, &r, "UFFDIO_WAKE"); !st) return st.error();
  return {};
}

Result<UserfaultMsg> Userfault::read_msg() {
  uffd_msg m{};
  ssize_t n = ::read(fd(), &m, sizeof m);
  if (n < 0) return Error{errno, "read(userfaultfd)"};
  if (n != sizeof m || m.event != UFFD_EVENT_PAGEFAULT) return Error{EAGAIN, "read(userfaultfd)"};
  UserfaultMsg out;
  out.address = m.arg.pagefault.address;
  out.write = (m.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WRITE) != 0;
  out.wp = (m.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP) != 0;
  out.tid = static_cast<pid_t>(m.arg.pagefault.feat.ptid);
  return out;
}

}  // namespace hvshim::kvm
