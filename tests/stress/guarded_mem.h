// Host memory for isolation tests: `n` usable pages between two guard pages
// that only the host ever touches. Every 8-byte word of a guard page holds a
// recognisable canary, so a guest read that returns one, or a guard that
// changed, means the guest reached host memory it was never given.
// Private anonymous memory takes the library's memslot path; shared memory
// (one memfd under guards and pages alike, as mach_vm_allocate gives) takes
// its userfaultfd write-protection path through an alias of the pages.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <ostream>
#include <string>

namespace stress {

inline constexpr uint64_t kPage = 4096;
// Canary words: high half 0x6a7d..., low half the word's offset.
inline constexpr uint64_t kCanaryTag = 0x6a7d5eed00000000ull;
inline bool is_canary(uint64_t v) { return (v & 0xffffffff00000000ull) == kCanaryTag; }

enum class HostKind { Private, Shared };
inline const char* to_string(HostKind k) { return k == HostKind::Private ? "private" : "shared"; }
// How gtest names the parameter in test names and ctest.
inline void PrintTo(HostKind k, std::ostream* os) { *os << to_string(k); }

class GuardedMem {
 public:
  explicit GuardedMem(size_t pages, HostKind kind = HostKind::Private) : pages_(pages) {
    const size_t len = (pages + 2) * kPage;
    void* p = MAP_FAILED;
    if (kind == HostKind::Shared) {
      int fd = memfd_create("stress-guarded", MFD_CLOEXEC);
      if (fd >= 0 && ftruncate(fd, static_cast<off_t>(len)) == 0)
        p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      if (fd >= 0) close(fd);
    } else {
      p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    }
    base_ = p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
    if (!base_) return;
    fill_canary(base_);
    fill_canary(base_ + (pages + 1) * kPage);
  }
  ~GuardedMem() {
    if (base_) munmap(base_, (pages_ + 2) * kPage);
  }
  GuardedMem(const GuardedMem&) = delete;
  GuardedMem& operator=(const GuardedMem&) = delete;

  bool ok() const { return base_ != nullptr; }
  // Usable page i (0-based); the guards sit at page(-1) and page(n).
  uint8_t* page(long i) const { return base_ + (i + 1) * kPage; }
  uint8_t* data() const { return page(0); }
  size_t size() const { return pages_ * kPage; }
  uint64_t word(long page_index, size_t off = 0) const {
    uint64_t v;
    memcpy(&v, page(page_index) + off, 8);
    return v;
  }
  void set_word(long page_index, uint64_t v, size_t off = 0) { memcpy(page(page_index) + off, &v, 8); }

  // "" when both guards still hold their canaries, else where they differ.
  std::string guards_damage() const {
    std::string out;
    for (long g : {-1L, static_cast<long>(pages_)})
      for (size_t off = 0; off < kPage; off += 8)
        if (word(g, off) != (kCanaryTag | (static_cast<uint64_t>(g + 1) * kPage + off))) {
          out += "guard page " + std::to_string(g) + " offset " + std::to_string(off) + "; ";
          break;
        }
    return out;
  }

 private:
  void fill_canary(uint8_t* p) {
    for (size_t off = 0; off < kPage; off += 8) {
      uint64_t v = kCanaryTag | (static_cast<uint64_t>(p - base_) + off);
      memcpy(p + off, &v, 8);
    }
  }
  size_t pages_;
  uint8_t* base_ = nullptr;
};

}  // namespace stress
