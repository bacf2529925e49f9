#include "machvm/kernel_view.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "common/procmap_query.h"

#include "machvm/self_pid.h"

namespace hvshim::machvm {

namespace {

std::mutex g_mu;
int g_self_fd = -1;
pid_t g_self_pid = 0;
bool g_query_works = true;

int open_maps(pid_t pid) {
  char path[64];
  if (pid == 0)
    std::snprintf(path, sizeof path, "/proc/self/maps");
  else
    std::snprintf(path, sizeof path, "/proc/%d/maps", static_cast<int>(pid));
  return open(path, O_RDONLY | O_CLOEXEC);
}

std::optional<KernelVma> query(int fd, uint64_t addr, bool want_name, bool& unsupported) {
  procmap::Query q{};
  char name[4096];
  q.size = sizeof q;
  q.query_flags = procmap::kCoveringOrNext;
  q.query_addr = addr;
  if (want_name) {
    q.vma_name_addr = reinterpret_cast<uintptr_t>(name);
    q.vma_name_size = sizeof name;
  }
  if (procmap::query(fd, &q) != 0) {
    if (errno != ENOENT) unsupported = true;
    return std::nullopt;
  }
  KernelVma v;
  v.start = q.vma_start;
  v.end = q.vma_end;
  v.prot = ((q.vma_flags & procmap::kRead) ? VM_PROT_READ : 0) | ((q.vma_flags & procmap::kWrite) ? VM_PROT_WRITE : 0) |
           ((q.vma_flags & procmap::kExec) ? VM_PROT_EXECUTE : 0);
  v.shared = q.vma_flags & procmap::kShared;
  v.file_offset = q.vma_offset;
  v.inode = q.inode;
  v.dev_major = q.dev_major;
  v.dev_minor = q.dev_minor;
  if (want_name && q.vma_name_size > 0) v.name.assign(name, strnlen(name, q.vma_name_size));
  return v;
}

std::optional<KernelVma> parse(pid_t pid, uint64_t addr) {
  int fd = open_maps(pid);
  if (fd < 0) return std::nullopt;
  FILE* f = fdopen(fd, "re");
  if (!f) {
    close(fd);
    return std::nullopt;
  }
  char line[4352];
  std::optional<KernelVma> out;
  while (std::fgets(line, sizeof line, f)) {
    unsigned long long s, e, off, ino;
    unsigned maj, min;
    char perms[8];
    int name_at = 0;
    if (std::sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &s, &e, perms, &off, &maj, &min, &ino, &name_at) < 7)
      continue;
    if (e <= addr) continue;
    KernelVma v;
    v.start = s;
    v.end = e;
    v.prot = (perms[0] == 'r' ? VM_PROT_READ : 0) | (perms[1] == 'w' ? VM_PROT_WRITE : 0) |
             (perms[2] == 'x' ? VM_PROT_EXECUTE : 0);
    v.shared = perms[3] == 's';
    v.file_offset = off;
    v.inode = ino;
    v.dev_major = maj;
    v.dev_minor = min;
    if (name_at > 0) {
      v.name = line + name_at;
      while (!v.name.empty() && (v.name.back() == '\n' || v.name.back() == ' ')) v.name.pop_back();
    }
    out = v;
    break;
  }
  std::fclose(f);
  return out;
}

}  // namespace

void kernel_view_reset_after_fork() {
  new (&g_mu) std::mutex();
  if (g_self_fd >= 0) close(g_self_fd);
  g_self_fd = -1;
  g_self_pid = 0;
}

std::optional<KernelVma> kernel_vma_at_or_after(pid_t pid, uint64_t addr, bool want_name) {
  if (pid == 0 || pid == self_pid()) {
    std::lock_guard lk(g_mu);
    if (g_query_works) {
      if (g_self_fd < 0 || g_self_pid != self_pid()) {
        if (g_self_fd >= 0) close(g_self_fd);
        g_self_fd = open_maps(0);
        g_self_pid = self_pid();
      }
      if (g_self_fd >= 0) {
        bool unsupported = false;
        auto v = query(g_self_fd, addr, want_name, unsupported);
        if (!unsupported) return v;
        g_query_works = false;
      }
    }
    return parse(0, addr);
  }
  int fd = open_maps(pid);
  if (fd >= 0) {
    bool unsupported = false;
    auto v = query(fd, addr, want_name, unsupported);
    close(fd);
    if (!unsupported) return v;
  }
  return parse(pid, addr);
}

}  // namespace hvshim::machvm
