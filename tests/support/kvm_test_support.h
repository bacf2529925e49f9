// What every test that runs real guests needs: whether /dev/kvm can be used
// (tests skip with the reason when not) and page-aligned host memory, as a
// VMM would valloc it.
#pragma once

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

namespace testsupport {

// Usable means: opens, answers KVM_GET_API_VERSION with 12 and creates a VM.
// A node that opens but is something else (/dev/null bind-mounted over it)
// or a KVM that cannot create VMs makes the tests skip, not fail.
inline bool kvm_usable(std::string* why) {
  const std::string tail = "; this test runs real guests";
  int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    *why = std::string("/dev/kvm cannot be opened (") + strerror(errno) + ")" + tail;
    return false;
  }
  int api = ioctl(fd, KVM_GET_API_VERSION, 0);
  if (api != KVM_API_VERSION) {
    *why = api < 0 ? std::string("/dev/kvm is not a KVM device (KVM_GET_API_VERSION: ") + strerror(errno) + ")" + tail
                   : "/dev/kvm reports KVM API " + std::to_string(api) + ", not 12" + tail;
    close(fd);
    return false;
  }
  int vm = ioctl(fd, KVM_CREATE_VM, 0);
  if (vm < 0) {
    *why = std::string("/dev/kvm cannot create a VM (KVM_CREATE_VM: ") + strerror(errno) + ")" + tail;
    close(fd);
    return false;
  }
  close(vm);
  close(fd);
  return true;
}

// Page-aligned memory: private anonymous, as a VMM would valloc it, or a
// shared memfd mapping (what mach_vm_allocate gives), whose guest write
// protection takes the userfaultfd path. HVSHIM_TEST_HOST_MEMORY=shared
// makes the default kind shared, so a whole suite runs once per path.
class HostMem {
 public:
  enum Kind { kDefault, kPrivate, kShared };
  explicit HostMem(size_t size, Kind kind = kDefault) : size_(size) {
    if (kind == kDefault) {
      const char* e = getenv("HVSHIM_TEST_HOST_MEMORY");
      kind = e && strcmp(e, "shared") == 0 ? kShared : kPrivate;
    }
    if (kind == kShared) {
      int fd = memfd_create("hvshim-test", MFD_CLOEXEC);
      if (fd >= 0 && ftruncate(fd, static_cast<off_t>(size)) == 0)
        p_ = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      else
        p_ = MAP_FAILED;
      if (fd >= 0) close(fd);
    } else {
      p_ = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    }
    if (p_ == MAP_FAILED) p_ = nullptr;
  }
  ~HostMem() {
    if (p_) munmap(p_, size_);
  }
  HostMem(const HostMem&) = delete;
  HostMem& operator=(const HostMem&) = delete;
  uint8_t* data() const { return static_cast<uint8_t*>(p_); }
  uint8_t* page(size_t i) const { return data() + i * 4096; }
  uint32_t word(size_t page_index) const {
    uint32_t v;
    memcpy(&v, page(page_index), 4);
    return v;
  }
  void set_word(size_t page_index, uint32_t v) { memcpy(page(page_index), &v, 4); }
  size_t size() const { return size_; }

 private:
  void* p_ = nullptr;
  size_t size_;
};

}  // namespace testsupport
