// What every test that runs real guests needs: whether /dev/kvm can be used
// (tests skip with the reason when not) and page-aligned host memory, as a
// VMM would valloc it.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

namespace testsupport {

inline bool kvm_usable(std::string* why) {
  int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    *why = std::string("/dev/kvm cannot be opened (") + strerror(errno) + "); this test runs real guests";
    return false;
  }
  close(fd);
  return true;
}

// Page-aligned private anonymous memory.
class HostMem {
 public:
  explicit HostMem(size_t size) : size_(size) {
    p_ = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
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
