/*
 * hvshim -- <Hypervisor/Hypervisor.h>
 *
 * Umbrella header of the Hypervisor.framework (x86) C API as provided by
 * hvshim on Linux: everything in <Hypervisor/hv.h> and <Hypervisor/hv_vmx.h>.
 */
#ifndef HVSHIM_HYPERVISOR_HYPERVISOR_H
#define HVSHIM_HYPERVISOR_HYPERVISOR_H

#include <Hypervisor/hv.h>
#include <Hypervisor/hv_vmx.h>

#endif /* HVSHIM_HYPERVISOR_HYPERVISOR_H */
