// The kernel's own list of mappings (for ranges we did not create: stack,
// libraries, malloc arenas, other processes). PROCMAP_QUERY when the kernel
// has it (6.11+), /proc/PID/maps otherwise.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include <mach/vm_prot.h>

namespace hvshim::machvm {

struct KernelVma {
  uint64_t start = 0, end = 0;
  vm_prot_t prot = 0;
  bool shared = false;
  uint64_t file_offset = 0;
  uint64_t inode = 0;
  uint32_t dev_major = 0, dev_minor = 0;
  std::string name;  // path or [stack]/[heap]/...; empty for anonymous
};

// The VMA containing addr, else the first one above it. pid 0 = ourselves.
std::optional<KernelVma> kernel_vma_at_or_after(pid_t pid, uint64_t addr, bool want_name = false);

// Drops the cached /proc/self/maps descriptor (it names the parent after fork).
void kernel_view_reset_after_fork();

}  // namespace hvshim::machvm
