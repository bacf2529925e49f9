/* The port calls VM users need: releasing a memory-entry handle. */
#ifndef HVSHIM_MACH_MACH_PORT_H
#define HVSHIM_MACH_MACH_PORT_H

#include <mach/port.h>
#include <mach/kern_return.h>

#ifdef __cplusplus
extern "C" {
#endif

kern_return_t mach_port_deallocate(ipc_space_t task, mach_port_name_t name);

#ifdef __cplusplus
}
#endif

#endif
