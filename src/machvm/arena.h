// A memfd "arena": one sparse file whose page ranges are handed out as the
// backing of anonymous objects, so many objects share one descriptor.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <vector>

namespace hvshim::machvm {

class Arena {
 public:
  static constexpr uint64_t kCapacity = 1ULL << 40;  // logical size; costs nothing until touched

  Arena(int fd, pid_t pid, uint64_t dev, uint64_t ino) : fd(fd), pid(pid), dev(dev), ino(ino) {}
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  const int fd;
  const pid_t pid;  // the process that created it, the only one that hands out or frees ranges
  const uint64_t dev, ino;

  // Both below are called with the arenas' lock held (memory_object.cpp's:
  // one lock for all arenas, so an allocation takes it once).

  // A range of zero pages: first fit over released ranges, then fresh ones.
  bool take(uint64_t size, uint64_t& off);

  // Releases a range. Its pages are punched out of the file in batches
  // (one fallocate for many small objects is most of what a release
  // costs); until then the offsets are not handed out again. The batch
  // holds at most kBatchBytes or kBatchRanges.
  void give_back(uint64_t off, uint64_t size);

 private:
  static constexpr uint64_t kBatchBytes = 4ULL << 20;
  static constexpr size_t kBatchRanges = 256;
  void punch_pending();  // lock held
  void add_free(uint64_t off, uint64_t size);

  std::map<uint64_t, uint64_t> free_;  // punched: zero pages again
  std::vector<std::pair<uint64_t, uint64_t>> pending_;
  uint64_t pending_bytes_ = 0;
  uint64_t bump_ = 0;
};

}  // namespace hvshim::machvm
