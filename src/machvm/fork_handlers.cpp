#include "machvm/fork_handlers.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <map>

#include "common/log.h"
#include "machvm/kernel_view.h"
#include "machvm/page.h"
#include "machvm/ports.h"
#include "machvm/task.h"

namespace hvshim::machvm {

namespace {
Task* g_task = nullptr;
int g_done_pipe[2] = {-1, -1};

bool has_copy_entries() {
  for (auto& [k, e] : g_task->map)
    if (e.inherit == VM_INHERIT_COPY && e.obj) return true;
  return false;
}

void prepare() {
  g_task->mu.lock();
  g_done_pipe[0] = g_done_pipe[1] = -1;
  if (has_copy_entries() && pipe2(g_done_pipe, O_CLOEXEC) != 0) {
    log::error("machvm fork: pipe2 failed ({}); copy inheritance may race", errno);
    g_done_pipe[0] = g_done_pipe[1] = -1;
  }
}

void mark_shared_objects() {
  for (auto& [k, e] : g_task->map)
    if (e.inherit == VM_INHERIT_SHARE && e.obj) e.obj->shared_with_other_process = true;
}

void in_parent() {
  mark_shared_objects();
  if (g_done_pipe[0] >= 0) {
    close(g_done_pipe[1]);
    char c;
    // EOF (child died) and the byte both mean the child holds its copies.
    while (read(g_done_pipe[0], &c, 1) < 0 && errno == EINTR) {
    }
    close(g_done_pipe[0]);
  }
  g_task->mu.unlock();
}

void give_child_private_copies() {
  RegionMap& map = g_task->map;
  std::map<MemObject*, std::shared_ptr<MemObject>> copies;
  for (auto it = map.begin(); it != map.end(); ++it) {
    Entry& e = it->second;
    if (e.inherit != VM_INHERIT_COPY || !e.obj) continue;
    auto& copy = copies[e.obj.get()];
    if (!copy) {
      if (MemObject::create_anonymous(e.obj->size(), copy) != KERN_SUCCESS) {
        log::error("machvm fork: child could not create a private copy; pages stay shared");
        copies.erase(e.obj.get());
        continue;
      }
      copy->purgeable = e.obj->purgeable;
      copy->purge_state = e.obj->purge_state;
    }
    if (copy->copy_from(*e.obj, e.obj_off, e.obj_off, e.size()) != KERN_SUCCESS ||
        mmap(reinterpret_cast<void*>(e.start), e.size(), to_posix_prot(e.cur), MAP_SHARED | MAP_FIXED, copy->fd(),
             static_cast<off_t>(copy->base() + e.obj_off)) == MAP_FAILED) {
      log::error("machvm fork: child could not copy [{:#x}, {:#x}); pages stay shared", e.start, e.end);
      e.obj->shared_with_other_process = true;
      continue;
    }
    e.obj->drop_view_piece(e.view);
    e.obj = copy;
    copy->add_view_piece(e.view);
  }
}

void in_child() {
  arenas_forget_after_fork();
  kernel_view_reset_after_fork();
  ports_reset_after_fork();
  mark_shared_objects();
  give_child_private_copies();
  // VM_INHERIT_NONE ranges were never mapped into the child (MADV_DONTFORK).
  std::vector<std::pair<uint64_t, uint64_t>> gone;
  for (auto& [k, e] : g_task->map) {
    e.wired = 0;  // Linux does not inherit mlock, XNU does not inherit wiring
    if (e.inherit == VM_INHERIT_NONE) gone.emplace_back(e.start, e.end);
  }
  for (auto [s, en] : gone) g_task->map.erase(s, en);
  if (g_done_pipe[1] >= 0) {
    char c = 1;
    (void)!write(g_done_pipe[1], &c, 1);
    close(g_done_pipe[1]);
    close(g_done_pipe[0]);
  }
  g_task->mu.unlock();
}
}  // namespace

void install_fork_handlers(Task& t) {
  g_task = &t;
  pthread_atfork(prepare, in_parent, in_child);
}

}  // namespace hvshim::machvm
