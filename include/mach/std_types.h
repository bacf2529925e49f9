/* The standard Mach types, as <mach/std_types.h> gathers them. */
#ifndef HVSHIM_MACH_STD_TYPES_H
#define HVSHIM_MACH_STD_TYPES_H

#include <stdint.h>
#include <sys/cdefs.h>
#include <mach/boolean.h>
#include <mach/kern_return.h>
#include <mach/port.h>
#include <mach/vm_types.h>

#endif
