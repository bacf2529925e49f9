/* Host ports and the host's memory-object calls. */
#ifndef HVSHIM_MACH_MACH_HOST_H
#define HVSHIM_MACH_MACH_HOST_H

#include <mach/mach_types.h>
#include <mach/mach_init.h>
#include <mach/host_priv.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A named entry of size bytes (rounded to pages) with no source range:
 * fresh zero-filled memory to map with mach_vm_map. Only internal objects
 * (internal = TRUE, pager = MEMORY_OBJECT_NULL) exist here. */
kern_return_t mach_memory_object_memory_entry(host_t host, boolean_t internal, vm_size_t size,
                                              vm_prot_t permission, memory_object_t pager,
                                              mach_port_t *entry_handle);
kern_return_t mach_memory_object_memory_entry_64(host_t host, boolean_t internal, memory_object_size_t size,
                                                 vm_prot_t permission, memory_object_t pager,
                                                 mach_port_t *entry_handle);

#ifdef __cplusplus
}
#endif

#endif
