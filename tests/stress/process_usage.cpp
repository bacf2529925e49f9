#include "process_usage.h"

#include <dirent.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <algorithm>
#include <cstring>
#include <fstream>

// Live heap bytes as the sanitizer allocator counts them (freed chunks in
// ASan's quarantine are not live). Weak: absent in plain builds.
extern "C" size_t __sanitizer_get_current_allocated_bytes() __attribute__((weak));

namespace stress {
namespace {

long count_dir(const char* path) {
  DIR* d = opendir(path);
  if (!d) return -1;
  long n = 0;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n - 1;  // the fd opendir itself holds
}

// Sanitizer-owned address ranges on x86-64: ASan's shadow (below
// 0x10007fff8000) and its primary allocator [0x600000000000,
// 0x640000000000), whose regions grow and split as size classes fill. That
// is heap (counted by heap_bytes), not mappings the library made; ordinary
// mmap() results land near 0x7f0000000000.
bool in_sanitizer_area(uint64_t lo) {
  return lo < 0x10007fff8000ull || (lo >= 0x600000000000ull && lo < 0x640000000000ull);
}

void count_maps(Usage& u) {
  std::ifstream f("/proc/self/maps");
  std::string line;
  while (std::getline(f, line)) {
    ++u.maps;
    unsigned long long lo = 0, hi = 0, off = 0, inode = 0;
    char perms[8] = {}, dev[16] = {};
    int name_at = 0;
    if (sscanf(line.c_str(), "%llx-%llx %7s %llx %15s %llu %n", &lo, &hi, perms, &off, dev, &inode, &name_at) < 6)
      continue;
    const bool named = name_at > 0 && static_cast<size_t>(name_at) < line.size() && line[name_at] != '[';
    if (named) ++u.named_maps;
    else if (line.find('[') == std::string::npos && !in_sanitizer_area(lo)) u.anon_kib += (hi - lo) / 1024;
  }
}

long rss_kib() {
  FILE* f = fopen("/proc/self/statm", "re");
  if (!f) return -1;
  long size = 0, res = 0;
  if (fscanf(f, "%ld %ld", &size, &res) != 2) res = -1;
  fclose(f);
  return res < 0 ? -1 : res * (sysconf(_SC_PAGESIZE) / 1024);
}

long heap_bytes() {
  if (__sanitizer_get_current_allocated_bytes) return static_cast<long>(__sanitizer_get_current_allocated_bytes());
  struct mallinfo2 mi = mallinfo2();
  return static_cast<long>(mi.uordblks + mi.hblkhd);
}

}  // namespace

Usage sample_usage() {
  Usage u;
  u.fds = count_dir("/proc/self/fd");
  count_maps(u);
  u.rss_kib = rss_kib();
  u.heap_bytes = heap_bytes();
  return u;
}

std::string to_string(const Usage& u) {
  return "fds " + std::to_string(u.fds) + ", maps " + std::to_string(u.maps) + " (named " +
         std::to_string(u.named_maps) + ", anon " + std::to_string(u.anon_kib) + " KiB), rss " +
         std::to_string(u.rss_kib) + " KiB, heap " + std::to_string(u.heap_bytes) + " B";
}

std::vector<std::string> kvm_fds(pid_t pid) {
  std::vector<std::string> out;
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    char target[256];
    ssize_t n = readlink((dir + "/" + e->d_name).c_str(), target, sizeof target - 1);
    if (n <= 0) continue;
    target[n] = 0;
    if (strstr(target, "kvm")) out.push_back(std::string(e->d_name) + " -> " + target);
  }
  closedir(d);
  return out;
}

std::vector<std::string> kvm_maps(pid_t pid) {
  std::vector<std::string> out;
  std::ifstream f("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  while (std::getline(f, line))
    if (line.find("kvm") != std::string::npos) out.push_back(line);
  return out;
}

std::vector<std::string> maps_lines() {
  std::vector<std::string> out;
  std::ifstream f("/proc/self/maps");
  std::string line;
  while (std::getline(f, line)) out.push_back(line);
  return out;
}

std::string new_lines(const std::vector<std::string>& before, const std::vector<std::string>& after) {
  std::string out;
  for (const auto& l : after)
    if (std::find(before.begin(), before.end(), l) == before.end()) out += "  " + l + "\n";
  return out;
}

}  // namespace stress
