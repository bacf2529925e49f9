// Asynchronous write-back for vm_msync(VM_SYNC_ASYNCHRONOUS): an fdatasync
// queued on an io_uring (raw syscalls: the machvm layer does not link
// liburing), or sync_file_range(WRITE) where io_uring is unavailable.
#pragma once

#include <mach/kern_return.h>

namespace hvshim::machvm {
kern_return_t queue_datasync(int fd);

namespace testing {
// How many fsyncs went through the ring, and whether it could be set up.
unsigned long io_uring_submissions();
bool io_uring_available();
}  // namespace testing
}  // namespace hvshim::machvm
