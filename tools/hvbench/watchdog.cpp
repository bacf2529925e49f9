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

std::mutex g_mu;
std::condition_variable g_cv;
const char* g_group = nullptr;  // armed while non-null
std::chrono::steady_clock::time_point g_deadline;
unsigned g_seconds = 0;

void run() {
  // Signals are for the threads that run guests (the library's vCPU kicks
  // are thread-directed, but keep every other one off this thread too).
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  std::unique_lock lk(g_mu);
  for (;;) {
    if (!g_group) {
      g_cv.wait(lk);
      continue;
    }
    const char* armed = g_group;
    if (g_cv.wait_until(lk, g_deadline) == std::cv_status::timeout && g_group == armed &&
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
  std::lock_guard lk(g_mu);
  if (g_seconds || !seconds) return;
  g_seconds = seconds;
  std::thread(run).detach();
}

void watchdog_arm(const char* group) {
  std::lock_guard lk(g_mu);
  g_group = group;
  g_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(g_seconds);
  g_cv.notify_all();
}

void watchdog_disarm() {
  std::lock_guard lk(g_mu);
  g_group = nullptr;
  g_cv.notify_all();
}

}  // namespace hvbench
