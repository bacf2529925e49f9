#include "proc_maps.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>

namespace hvbench {

namespace {

// Linux UAPI struct procmap_query (<linux/fs.h>, 6.11). Spelled out: the
// build host's headers may predate the kernel the benchmark runs on.
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
static_assert(sizeof(ProcmapQuery) == 104);
constexpr unsigned long kProcmapQuery = _IOWR('f', 17, ProcmapQuery);
constexpr uint64_t kCoveringOrNext = 0x10;
constexpr uint64_t kVmaRead = 1, kVmaWrite = 2, kVmaExec = 4;

// Parses the hex number at p, advancing p; false if there is none.
bool hex(const char*& p, const char* end, uint64_t& v) {
  const char* s = p;
  v = 0;
  for (; p < end; ++p) {
    unsigned d;
    if (*p >= '0' && *p <= '9') d = static_cast<unsigned>(*p - '0');
    else if (*p >= 'a' && *p <= 'f') d = static_cast<unsigned>(*p - 'a' + 10);
    else break;
    v = v << 4 | d;
  }
  return p != s;
}

}  // namespace

bool maps_in_range(uint64_t lo, uint64_t hi, std::string& buf, std::vector<Vma>& out) {
  out.clear();
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  size_t len = 0;
  for (;;) {
    if (buf.size() - len < 65536) buf.resize(buf.size() + (1 << 20));
    ssize_t n = read(fd, buf.data() + len, buf.size() - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      close(fd);
      return false;
    }
    if (n == 0) break;
    len += static_cast<size_t>(n);
  }
  close(fd);
  // Each line: "start-end rwxp offset dev inode [name]\n"; only the range
  // and the permissions are needed.
  const char* p = buf.data();
  const char* end = p + len;
  while (p < end) {
    Vma v;
    if (!hex(p, end, v.start) || p >= end || *p++ != '-' || !hex(p, end, v.end) || end - p < 5 || *p++ != ' ')
      return false;
    v.r = p[0] == 'r';
    v.w = p[1] == 'w';
    v.x = p[2] == 'x';
    while (p < end && *p != '\n') ++p;
    ++p;
    if (v.start >= lo && v.end <= hi) out.push_back(v);
  }
  return true;
}

bool procmap_query(int fd, uint64_t addr, Vma& out, bool* unsupported) {
  ProcmapQuery q{};
  q.size = sizeof q;
  q.query_flags = kCoveringOrNext;
  q.query_addr = addr;
  if (ioctl(fd, kProcmapQuery, &q) != 0) {
    if (errno != ENOENT) *unsupported = true;
    return false;
  }
  out.start = q.vma_start;
  out.end = q.vma_end;
  out.r = q.vma_flags & kVmaRead;
  out.w = q.vma_flags & kVmaWrite;
  out.x = q.vma_flags & kVmaExec;
  return true;
}

}  // namespace hvbench
