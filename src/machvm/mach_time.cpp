// Mach time in nanoseconds (timebase 1/1): absolute time is CLOCK_MONOTONIC,
// the clock hv_vcpu_run_until deadlines are read on, so a deadline computed
// from mach_absolute_time() means what it means on macOS.
#include <cerrno>
#include <ctime>

#include <mach/mach_time.h>

#include "common/export.h"

namespace {

uint64_t now_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

extern "C" {

HVSHIM_EXPORT uint64_t mach_absolute_time(void) { return now_ns(CLOCK_MONOTONIC); }

// Coarse: the value of the last tick, as cheap as Darwin's approximate time.
HVSHIM_EXPORT uint64_t mach_approximate_time(void) { return now_ns(CLOCK_MONOTONIC_COARSE); }

HVSHIM_EXPORT uint64_t mach_continuous_time(void) { return now_ns(CLOCK_BOOTTIME); }

// Linux has no coarse boot-time clock.
HVSHIM_EXPORT uint64_t mach_continuous_approximate_time(void) { return now_ns(CLOCK_BOOTTIME); }

HVSHIM_EXPORT kern_return_t mach_timebase_info(mach_timebase_info_t info) {
  if (!info) return KERN_INVALID_ARGUMENT;
  info->numer = 1;
  info->denom = 1;
  return KERN_SUCCESS;
}

HVSHIM_EXPORT kern_return_t mach_wait_until(uint64_t deadline) {
  constexpr uint64_t kMaxSec = static_cast<uint64_t>(INT64_MAX) / 1000000000ull;
  timespec ts{};
  uint64_t sec = deadline / 1000000000ull;
  ts.tv_sec = static_cast<time_t>(sec > kMaxSec ? kMaxSec : sec);
  ts.tv_nsec = static_cast<long>(deadline % 1000000000ull);
  // clock_nanosleep returns the error number instead of setting errno.
  int r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
  if (r == EINTR) return KERN_ABORTED;
  return r == 0 ? KERN_SUCCESS : KERN_INVALID_ARGUMENT;
}

}  // extern "C"
