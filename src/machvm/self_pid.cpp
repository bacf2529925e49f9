#include "machvm/self_pid.h"

#include <sys/mman.h>
#include <unistd.h>

#include <new>

namespace hvshim::machvm::detail {

namespace {
// MADV_WIPEONFORK catches every child, whether fork() ran our handlers or a
// raw clone did not. Kernels before 4.14 have no such page: every call then
// asks the kernel.
std::atomic<pid_t>* make_cache() {
  const size_t len = static_cast<size_t>(getpagesize());
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  if (madvise(p, len, MADV_WIPEONFORK) != 0) {
    munmap(p, len);
    return nullptr;
  }
  return new (p) std::atomic<pid_t>(0);
}
}  // namespace

std::atomic<pid_t>* g_pid_cache = make_cache();

pid_t self_pid_slow() {
  pid_t p = getpid();
  if (g_pid_cache) g_pid_cache->store(p, std::memory_order_relaxed);
  return p;
}

}  // namespace hvshim::machvm::detail
