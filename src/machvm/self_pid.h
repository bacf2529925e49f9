// getpid() without a system call on every use. Several hot paths (every
// allocation and release) must know whether they run in the process that
// created an object or in a forked child, however it was forked.
#pragma once

#include <sys/types.h>

#include <atomic>

namespace hvshim::machvm {

namespace detail {
// Lives in a MADV_WIPEONFORK page (null where there is none): any child
// reads it as 0 and asks the kernel again.
extern std::atomic<pid_t>* g_pid_cache;
pid_t self_pid_slow();
}  // namespace detail

inline pid_t self_pid() {
  std::atomic<pid_t>* c = detail::g_pid_cache;
  pid_t p = c ? c->load(std::memory_order_relaxed) : 0;
  return p ? p : detail::self_pid_slow();
}

}  // namespace hvshim::machvm
