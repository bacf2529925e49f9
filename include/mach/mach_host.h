/* Host ports. */
#ifndef HVSHIM_MACH_MACH_HOST_H
#define HVSHIM_MACH_MACH_HOST_H

#include <mach/mach_init.h>
#include <mach/host_priv.h>

#endif
