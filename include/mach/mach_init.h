/* mach_task_self() and friends. */
#ifndef HVSHIM_MACH_MACH_INIT_H
#define HVSHIM_MACH_MACH_INIT_H

#include <mach/mach_types.h>
#include <mach/vm_page_size.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Always names the calling process, also in a forked child. */
extern mach_port_t mach_task_self_;
mach_port_t mach_host_self(void);

#ifdef __cplusplus
}
#endif

#define mach_task_self() mach_task_self_
#define current_task() mach_task_self()

#endif
