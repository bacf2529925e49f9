#include "machvm/async_sync.h"

#include <fcntl.h>
#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>

#include "common/log.h"
#include "machvm/fail.h"
#include "machvm/self_pid.h"

namespace hvshim::machvm {

namespace {

struct Ring {
  int fd = -1;
  pid_t pid = 0;
  bool broken = false;
  unsigned *sq_head = nullptr, *sq_tail = nullptr, *sq_mask = nullptr, *sq_array = nullptr;
  unsigned *cq_head = nullptr, *cq_tail = nullptr, *cq_mask = nullptr;
  io_uring_sqe* sqes = nullptr;
  io_uring_cqe* cqes = nullptr;
  unsigned entries = 0;

  bool init() {
    io_uring_params p{};
    fd = static_cast<int>(syscall(__NR_io_uring_setup, 64, &p));
    if (fd < 0) return false;
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe);
    void* sq = mmap(nullptr, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
    void* cq = mmap(nullptr, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
    void* se = mmap(nullptr, p.sq_entries * sizeof(io_uring_sqe), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                    fd, IORING_OFF_SQES);
    if (sq == MAP_FAILED || cq == MAP_FAILED || se == MAP_FAILED) {
      close(fd);
      fd = -1;
      return false;
    }
    auto* s = static_cast<char*>(sq);
    auto* c = static_cast<char*>(cq);
    sq_head = reinterpret_cast<unsigned*>(s + p.sq_off.head);
    sq_tail = reinterpret_cast<unsigned*>(s + p.sq_off.tail);
    sq_mask = reinterpret_cast<unsigned*>(s + p.sq_off.ring_mask);
    sq_array = reinterpret_cast<unsigned*>(s + p.sq_off.array);
    cq_head = reinterpret_cast<unsigned*>(c + p.cq_off.head);
    cq_tail = reinterpret_cast<unsigned*>(c + p.cq_off.tail);
    cq_mask = reinterpret_cast<unsigned*>(c + p.cq_off.ring_mask);
    cqes = reinterpret_cast<io_uring_cqe*>(c + p.cq_off.cqes);
    sqes = static_cast<io_uring_sqe*>(se);
    entries = p.sq_entries;
    pid = self_pid();
    return true;
  }

  // Completions carry nothing we report (async msync has no result on
  // macOS either); just keep the queue from filling up.
  void reap() {
    unsigned head = __atomic_load_n(cq_head, __ATOMIC_RELAXED);
    unsigned tail = __atomic_load_n(cq_tail, __ATOMIC_ACQUIRE);
    for (; head != tail; ++head) {
      const io_uring_cqe& c = cqes[head & *cq_mask];
      if (c.res < 0) log::warn("machvm: asynchronous msync of an object failed: {}", std::strerror(-c.res));
    }
    __atomic_store_n(cq_head, head, __ATOMIC_RELEASE);
  }

  bool submit_fsync(int file) {
    reap();
    unsigned tail = __atomic_load_n(sq_tail, __ATOMIC_RELAXED);
    unsigned head = __atomic_load_n(sq_head, __ATOMIC_ACQUIRE);
    if (tail - head >= entries) return false;
    unsigned idx = tail & *sq_mask;
    io_uring_sqe& e = sqes[idx];
    std::memset(&e, 0, sizeof e);
    e.opcode = IORING_OP_FSYNC;
    e.fd = file;
    e.fsync_flags = IORING_FSYNC_DATASYNC;
    sq_array[idx] = idx;
    __atomic_store_n(sq_tail, tail + 1, __ATOMIC_RELEASE);
    long r = syscall(__NR_io_uring_enter, fd, 1, 0, 0, nullptr, 0);
    return r == 1;
  }
};

std::mutex g_mu;
Ring g_ring;
std::atomic<unsigned long> g_submitted{0};

}  // namespace

namespace testing {
unsigned long io_uring_submissions() { return g_submitted.load(); }
bool io_uring_available() {
  std::lock_guard lk(g_mu);
  if (g_ring.pid != self_pid()) {
    g_ring = Ring{};
    if (!g_ring.init()) g_ring.broken = true;
  }
  return !g_ring.broken;
}
}  // namespace testing

kern_return_t queue_datasync(int fd) {
  {
    std::lock_guard lk(g_mu);
    if (g_ring.pid != self_pid()) {  // new process: the parent's ring is not ours
      g_ring = Ring{};
      if (!g_ring.init()) g_ring.broken = true;
    }
    if (!g_ring.broken && g_ring.submit_fsync(fd)) {
      g_submitted++;
      return KERN_SUCCESS;
    }
  }
  // Starts write-back of every dirty page without waiting for it.
  if (sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE) != 0)
    return fail(KERN_FAILURE, "sync_file_range: {}", errno_text(errno));
  return KERN_SUCCESS;
}

}  // namespace hvshim::machvm
