// Asynchronous write-back for vm_msync(VM_SYNC_ASYNCHRONOUS): an fdatasync
// queued on an io_uring (raw syscalls: the machvm layer does not link
// liburing), or sync_file_range(WRITE) where io_uring is unavailable.
#pragma once

#include <mach/kern_return.h>

namespace hvshim::machvm {
kern_return_t queue_datasync(int fd);
}
