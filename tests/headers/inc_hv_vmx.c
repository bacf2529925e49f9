/* Self-containment: <Hypervisor/hv_vmx.h> alone (twice, for the include guard) must compile. */
#include <Hypervisor/hv_vmx.h>
#include <Hypervisor/hv_vmx.h>
#include "inc_funcs.h"

int ht_inc_hv_vmx(void) { return HV_VMX_CAP_PROCBASED2 + (VMCS_GUEST_CR0 == 0x6800) + (CPU_BASED_SECONDARY_CTLS == 0x80000000u) + (HV_SHADOW_VMCS_WRITE == 2) + (HV_X86_RIP == 0); }
