/* task_for_pid: a task port for another process we may ptrace. */
#ifndef HVSHIM_MACH_MACH_TRAPS_H
#define HVSHIM_MACH_MACH_TRAPS_H

#include <mach/port.h>
#include <mach/kern_return.h>

#ifdef __cplusplus
extern "C" {
#endif

kern_return_t task_for_pid(mach_port_name_t target_tport, int pid, mach_port_name_t *t);

#ifdef __cplusplus
}
#endif

#endif
