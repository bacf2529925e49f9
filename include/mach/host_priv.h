/* Wiring needs the privileged host port (root only, as on macOS). */
#ifndef HVSHIM_MACH_HOST_PRIV_H
#define HVSHIM_MACH_HOST_PRIV_H

#include <mach/port.h>
#include <mach/kern_return.h>
#include <mach/vm_prot.h>
#include <mach/vm_types.h>

#ifdef __cplusplus
extern "C" {
#endif

kern_return_t host_get_host_priv_port(host_t host, host_priv_t *host_priv);
kern_return_t vm_wire(host_priv_t host_priv, vm_map_t task, vm_address_t address, vm_size_t size,
                      vm_prot_t desired_access);
kern_return_t mach_vm_wire(host_priv_t host_priv, vm_map_t task, mach_vm_address_t address,
                           mach_vm_size_t size, vm_prot_t desired_access);

#ifdef __cplusplus
}
#endif

#endif
