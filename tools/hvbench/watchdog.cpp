#include "watchdog.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

namespace hvbench {

namespace {

// Never destroyed: the detached thread sleeps on the condition variable
// until the process ends, and destroying it at exit() waits for that
// sleeper forever (glibc's pthread_cond_destroy).
struct State {
  std::mutex mu;
  std::condition_variable cv;
};
State& st() {
  static State* s = new State;
  return *s;
}
const char* g_group = nullptr;  // armed while non-null
std::chrono::steady_clock::time_point g_deadline;
unsigned g_seconds = 0;

void run() {
  // Signals are for the threads that run guests (the library's vCPU kicks
  // are thread-directed, but keep every other one off this thread too).
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  std::unique_lock lk(st().mu);
  for (;;) {
    if (!g_group) {
      st().cv.wait(lk);
      continue;
    }
    const char* armed = g_group;
    if (st().cv.wait_until(lk, g_deadline) == std::cv_status::timeout && g_group == armed &&
        std::chrono::steady_clock::now() >= g_deadline) {
      fprintf(stderr, "hvbench: case group %s did not finish within %u s (--group-timeout); aborting\n", armed,
              g_seconds);
      fflush(stderr);
      _exit(3);
    }
  }
}

}  // namespace

void watchdog_start(unsigned seconds) {
  std::lock_guard lk(st().mu);
  if (g_seconds || !seconds) return;
  g_seconds = seconds;
  std::thread(run).detach();
}

void watchdog_arm(const char* group) {
  std::lock_guard lk(st().mu);
  g_group = group;
  g_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(g_seconds);
  st().cv.notify_all();
}

void watchdog_disarm() {
  std::lock_guard lk(st().mu);
  g_group = nullptr;
  st().cv.notify_all();
}

}  // namespace hvbench
