/* Mach time: mach_absolute_time() counts nanoseconds (timebase 1/1) of
 * CLOCK_MONOTONIC, which stops while the system sleeps; the continuous
 * variants count CLOCK_BOOTTIME, which does not. */
#ifndef HVSHIM_MACH_MACH_TIME_H
#define HVSHIM_MACH_MACH_TIME_H

#include <stdint.h>
#include <mach/mach_types.h>

struct mach_timebase_info {
  uint32_t numer;
  uint32_t denom;
};
typedef struct mach_timebase_info *mach_timebase_info_t;
typedef struct mach_timebase_info mach_timebase_info_data_t;

#ifdef __cplusplus
extern "C" {
#endif

kern_return_t mach_timebase_info(mach_timebase_info_t info);
/* Sleeps until mach_absolute_time() >= deadline; KERN_ABORTED if a signal
 * handler interrupted the sleep. */
kern_return_t mach_wait_until(uint64_t deadline);
uint64_t mach_absolute_time(void);
uint64_t mach_approximate_time(void);
uint64_t mach_continuous_time(void);
uint64_t mach_continuous_approximate_time(void);

#ifdef __cplusplus
}
#endif

#endif
