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

struct State {
  std::mutex mu;
  std::condition_variable cv;
  const char* group = nullptr;  // armed while non-null
  std::chrono::steady_clock::time_point deadline;
  unsigned seconds = 0;
};

// Never destroyed: the detached thread waits on the condition variable
// until the process ends, and glibc's pthread_cond_destroy (run by a static
// destructor at exit) would wait for that waiter forever.
State& state() {
  static State* s = new State;
  return *s;
}

void run() {
  // Signals are for the threads that run guests (the library's vCPU kicks
  // are thread-directed, but keep every other one off this thread too).
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  State& s = state();
  std::unique_lock lk(s.mu);
  for (;;) {
    if (!s.group) {
      s.cv.wait(lk);
      continue;
    }
    const char* armed = s.group;
    if (s.cv.wait_until(lk, s.deadline) == std::cv_status::timeout && s.group == armed &&
        std::chrono::steady_clock::now() >= s.deadline) {
      fprintf(stderr, "hvbench: case group %s did not finish within %u s (--group-timeout); aborting\n", armed,
              s.seconds);
      fflush(stderr);
      _exit(3);
    }
  }
}

}  // namespace

void watchdog_start(unsigned seconds) {
  State& s = state();
  std::lock_guard lk(s.mu);
  if (s.seconds || !seconds) return;
  s.seconds = seconds;
  std::thread(run).detach();
}

void watchdog_arm(const char* group) {
  State& s = state();
  std::lock_guard lk(s.mu);
  s.group = group;
  s.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(s.seconds);
  s.cv.notify_all();
}

void watchdog_disarm() {
  State& s = state();
  std::lock_guard lk(s.mu);
  s.group = nullptr;
  s.cv.notify_all();
}

}  // namespace hvbench
