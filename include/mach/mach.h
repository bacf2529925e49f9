/* Everything a Mach VM user includes. */
#ifndef HVSHIM_MACH_MACH_H
#define HVSHIM_MACH_MACH_H

#include <mach/std_types.h>
#include <mach/boolean.h>
#include <mach/mach_types.h>
#include <mach/kern_return.h>
#include <mach/port.h>
#include <mach/message.h>
#include <mach/vm_types.h>
#include <mach/vm_prot.h>
#include <mach/vm_inherit.h>
#include <mach/vm_behavior.h>
#include <mach/vm_sync.h>
#include <mach/vm_attributes.h>
#include <mach/vm_purgable.h>
#include <mach/vm_statistics.h>
#include <mach/vm_region.h>
#include <mach/memory_object_types.h>
#include <mach/vm_page_size.h>
#include <mach/vm_param.h>
#include <mach/mach_init.h>
#include <mach/mach_port.h>
#include <mach/mach_traps.h>
#include <mach/host_priv.h>
#include <mach/mach_vm.h>
#include <mach/vm_map.h>
#include <mach/mach_host.h>
#include <mach/mig_errors.h>
#include <mach/mach_error.h>

#endif
