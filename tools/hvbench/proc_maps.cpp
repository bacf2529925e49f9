#include "proc_maps.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>

#include "common/procmap_query.h"

namespace hvbench {

namespace {

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
  hvshim::procmap::Query q{};
  q.size = sizeof q;
  q.query_flags = hvshim::procmap::kCoveringOrNext;
  q.query_addr = addr;
  if (ioctl(fd, hvshim::procmap::kIoctl, &q) != 0) {
    if (errno != ENOENT) *unsupported = true;
    return false;
  }
  out.start = q.vma_start;
  out.end = q.vma_end;
  out.r = q.vma_flags & hvshim::procmap::kRead;
  out.w = q.vma_flags & hvshim::procmap::kWrite;
  out.x = q.vma_flags & hvshim::procmap::kExec;
  return true;
}

}  // namespace hvbench
