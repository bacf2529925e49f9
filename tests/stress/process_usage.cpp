#include "process_usage.h"

#include <dirent.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
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

long count_lines(const char* path) {
  std::ifstream f(path);
  long n = 0;
  std::string line;
  while (std::getline(f, line)) ++n;
  return n;
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
  u.maps = count_lines("/proc/self/maps");
  u.rss_kib = rss_kib();
  u.heap_bytes = heap_bytes();
  return u;
}

std::string to_string(const Usage& u) {
  return "fds " + std::to_string(u.fds) + ", maps " + std::to_string(u.maps) + ", rss " +
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

}  // namespace stress
