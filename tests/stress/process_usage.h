// What a process holds that a leak would grow: open file descriptors,
// mappings, resident memory and live heap bytes. Read from /proc so the
// numbers are the kernel's, not the library's own bookkeeping.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace stress {

struct Usage {
  long fds = 0;        // entries of /proc/self/fd
  long maps = 0;       // lines of /proc/self/maps
  long named_maps = 0; // of which map a file, memfd or anon_inode (kvm_run pages)
  long anon_kib = 0;   // anonymous mappings outside the sanitizer's own heap
  long rss_kib = 0;    // resident set (statm)
  long heap_bytes = 0; // live malloc'd bytes (sanitizer allocator or mallinfo2); -1 unknown
};

Usage sample_usage();
std::string to_string(const Usage& u);

// Lines of /proc/self/maps, and those of `after` that `before` lacks.
std::vector<std::string> maps_lines();
std::string new_lines(const std::vector<std::string>& before, const std::vector<std::string>& after);

// Targets of the fds of process `pid` that belong to KVM ("/dev/kvm",
// "anon_inode:kvm-vm", "anon_inode:kvm-vcpu:N"), one per entry.
std::vector<std::string> kvm_fds(pid_t pid);
// Lines of /proc/<pid>/maps that map a KVM vCPU's kvm_run page.
std::vector<std::string> kvm_maps(pid_t pid);

}  // namespace stress
