/* Port names. In user space a port is a 32-bit name in the task's IPC space. */
#ifndef HVSHIM_MACH_PORT_H
#define HVSHIM_MACH_PORT_H

#include <mach/boolean.h>

typedef unsigned int natural_t;
typedef int integer_t;

typedef natural_t mach_port_name_t;
typedef mach_port_name_t *mach_port_name_array_t;
typedef natural_t mach_port_t;
typedef mach_port_t *mach_port_array_t;

#define MACH_PORT_NULL 0
#define MACH_PORT_DEAD ((mach_port_name_t) ~0)
#define MACH_PORT_VALID(name) (((name) != MACH_PORT_NULL) && ((name) != MACH_PORT_DEAD))

typedef mach_port_t task_t;
typedef mach_port_t task_name_t;
typedef mach_port_t task_read_t;
typedef mach_port_t host_t;
typedef mach_port_t host_priv_t;
typedef mach_port_t ipc_space_t;
typedef mach_port_t vm_map_t;
typedef mach_port_t vm_map_read_t;
typedef mach_port_t vm_map_inspect_t;
typedef mach_port_t mem_entry_name_port_t;
typedef mach_port_t memory_object_t;
typedef mach_port_t memory_object_name_t;

#define TASK_NULL ((task_t)0)
#define HOST_NULL ((host_t)0)
#define VM_MAP_NULL ((vm_map_t)0)
#define VM_MAP_INSPECT_NULL ((vm_map_inspect_t)0)
#define VM_MAP_READ_NULL ((vm_map_read_t)0)

#endif
