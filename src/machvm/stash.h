// Moving whatever the kernel has mapped in a range out of the way, so that a
// change made of several kernel calls can be undone exactly: contents,
// protections and the kernel's own per-mapping state (DONTFORK, mlock,
// advice), mappings we did not create included.
#pragma once

#include <cstdint>
#include <vector>

#include <mach/kern_return.h>

namespace hvshim::machvm {

class Stash {
 public:
  Stash() = default;
  Stash(const Stash&) = delete;
  Stash& operator=(const Stash&) = delete;
  ~Stash();  // puts back what is still held

  // Moves the mappings of [start, end) to a private holding range. The range
  // itself stays covered (MREMAP_DONTUNMAP) where the kernel allows it, so
  // no other mmap can land there meanwhile. On failure nothing moved.
  kern_return_t take(uint64_t start, uint64_t end);
  // Undo: every moved mapping goes back to where it was, replacing whatever
  // was mapped there since.
  void put_back();
  // Commit: the held mappings are unmapped.
  void release();

 private:
  struct Moved {
    uint64_t from, to, len;
  };
  struct Hold {
    uint64_t start, len;
  };
  std::vector<Moved> moved_;
  std::vector<Hold> holds_;
};

}  // namespace hvshim::machvm
