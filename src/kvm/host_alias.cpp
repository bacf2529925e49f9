#include "kvm/host_alias.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older headers lack it
#endif
#include <mutex>
#include <vector>
#include <algorithm>

namespace hvshim::kvm {

namespace {

// PROCMAP_QUERY (Linux 6.11): the VMA covering an address, without parsing
// /proc/self/maps. Written out because Debian 12's uapi headers predate it.
struct ProcmapQuery {
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
constexpr unsigned long kProcmapQuery = _IOWR('f', 17, ProcmapQuery);
constexpr uint64_t kVmaShared = 0x08;

struct Vma {
  uint64_t start = 0, end = 0, page_size = 0;
  bool shared = false;
};

// /proc/self/maps names the opening process's mm; a fork child must not use
// its parent's descriptor.
int maps_fd() {
  static std::mutex mu;
  static int fd = -1;
  static pid_t owner = 0;
  std::lock_guard lk(mu);
  if (owner != getpid()) {
    fd = ::open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    owner = getpid();
  }
  return fd;
}

bool query_vma_fast(uint64_t addr, Vma* out, bool* unsupported) {
  int fd = maps_fd();
  if (fd < 0) return *unsupported = true, false;
  ProcmapQuery q{};
  q.size = sizeof q;
  q.query_addr = addr;
  if (ioctl(fd, kProcmapQuery, &q) != 0) {
    *unsupported = errno == ENOTTY || errno == EINVAL;
    return false;
  }
  *out = {q.vma_start, q.vma_end, q.vma_page_size, (q.vma_flags & kVmaShared) != 0};
  return true;
}

bool query_vma_slow(uint64_t addr, Vma* out) {
  FILE* f = fopen("/proc/self/maps", "re");
  if (!f) return false;
  char line[512];
  bool found = false;
  while (fgets(line, sizeof line, f)) {
    uint64_t lo, hi;
    char perms[8] = {};
    if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s", &lo, &hi, perms) != 3) continue;
    if (addr >= lo && addr < hi) {
      *out = {lo, hi, 4096, perms[3] == 's'};
      found = true;
      break;
    }
  }
  fclose(f);
  return found;
}

bool covering_shared_vma(uint64_t addr, uint64_t len) {
  Vma v;
  bool unsupported = false;
  if (!query_vma_fast(addr, &v, &unsupported) && !(unsupported && query_vma_slow(addr, &v))) return false;
  return v.shared && v.page_size == 4096 && v.start <= addr && addr + len <= v.end;
}

// Maps into the alias the pages the caller's mapping already has in memory.
// Otherwise every guest access through the fresh alias pays a host page
// fault inside KVM (measured: 17 us per page vs 2.5 us on PVM). Holes stay
// holes: a sparse memfd must not be filled by us.
void populate_resident(uint64_t addr, uint64_t alias, uint64_t len) {
  constexpr uint64_t kChunk = 64ull << 20;
  std::vector<unsigned char> vec(kChunk / 4096);
  for (uint64_t off = 0; off < len; off += kChunk) {
    uint64_t n = std::min(kChunk, len - off);
    if (mincore(reinterpret_cast<void*>(addr + off), n, vec.data()) != 0) return;
    uint64_t pages = n / 4096, i = 0;
    while (i < pages) {
      if (!(vec[i] & 1)) {
        ++i;
        continue;
      }
      uint64_t j = i;
      while (j < pages && (vec[j] & 1)) ++j;
      madvise(reinterpret_cast<void*>(alias + off + i * 4096), (j - i) * 4096, MADV_POPULATE_WRITE);
      i = j;
    }
  }
}

}  // namespace

Result<SharedRange> shared_range_at(uint64_t addr) {
  Vma v;
  bool unsupported = false;
  if (!query_vma_fast(addr, &v, &unsupported) && !(unsupported && query_vma_slow(addr, &v)))
    return Error{ENOENT, "PROCMAP_QUERY"};
  if (!v.shared || v.page_size != 4096) return Error{EINVAL, "PROCMAP_QUERY"};
  return SharedRange{v.start, v.end};
}

Result<uint64_t> make_shared_alias(uint64_t addr, uint64_t len) {
  // mremap with old size 0 duplicates a shared mapping and refuses private
  // ones at once, which keeps the common private case to one syscall.
  void* a = mremap(reinterpret_cast<void*>(addr), 0, len, MREMAP_MAYMOVE);
  if (a == MAP_FAILED) return Error{errno, "mremap(alias)"};
  // mremap would also extend past the end of the caller's mapping (into
  // file pages the caller does not map there): the range must lie in one.
  if (!covering_shared_vma(addr, len)) {
    munmap(a, len);
    return Error{EINVAL, "mremap(alias)"};
  }
  madvise(a, len, MADV_DONTFORK);
  populate_resident(addr, reinterpret_cast<uint64_t>(a), len);
  return reinterpret_cast<uint64_t>(a);
}

void drop_alias(uint64_t alias, uint64_t len) { munmap(reinterpret_cast<void*>(alias), len); }

}  // namespace hvshim::kvm
