// Another process's task port (task_for_pid): read, write and region
// through process_vm_readv/writev and /proc/PID/maps. Everything else on a
// remote task returns KERN_NOT_SUPPORTED.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include <mach/kern_return.h>

namespace hvshim::machvm {

kern_return_t remote_region(pid_t pid, uint64_t& addr, uint64_t& size, int flavor, int* info, unsigned& count);
kern_return_t remote_read(pid_t pid, uint64_t addr, uint64_t size, uint64_t& data, uint64_t& count);
kern_return_t remote_read_overwrite(pid_t pid, uint64_t addr, uint64_t size, uint64_t dst, uint64_t& outsize);
kern_return_t remote_write(pid_t pid, uint64_t addr, uint64_t src, uint64_t count);

}  // namespace hvshim::machvm
