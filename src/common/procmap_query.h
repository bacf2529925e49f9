// PROCMAP_QUERY (Linux 6.11, <linux/fs.h>): one VMA of a process by address,
// an ioctl on its /proc/PID/maps, without parsing the text. Spelled out
// once here because build hosts' uapi headers may predate the kernel.
#pragma once

#include <sys/ioctl.h>

#include <cerrno>
#include <cstdint>

#include "common/forced_fallback.h"

namespace hvshim::procmap {

struct Query {
  uint64_t size;
  uint64_t query_flags;
  uint64_t query_addr;
  uint64_t vma_start;
  uint64_t vma_end;
  uint64_t vma_flags;
  uint64_t vma_page_size;
  uint64_t vma_offset;
  uint64_t inode;
  uint32_t dev_major;
  uint32_t dev_minor;
  uint32_t vma_name_size;
  uint32_t build_id_size;
  uint64_t vma_name_addr;
  uint64_t build_id_addr;
};
static_assert(sizeof(Query) == 104);

inline constexpr unsigned long kIoctl = _IOWR('f', 17, Query);

// vma_flags bits, and query_flags bit to accept the next VMA above addr.
inline constexpr uint64_t kRead = 0x01, kWrite = 0x02, kExec = 0x04, kShared = 0x08;
inline constexpr uint64_t kCoveringOrNext = 0x10;

// The ioctl; fails with ENOTTY, as before Linux 6.11, when
// HVSHIM_FORCE_FALLBACK names procmap_query, so callers take their
// /proc/PID/maps text path.
inline int query(int maps_fd, Query* q) {
  if (fallback_forced("procmap_query")) {
    errno = ENOTTY;
    return -1;
  }
  return ioctl(maps_fd, kIoctl, q);
}

}  // namespace hvshim::procmap
