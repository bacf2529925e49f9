/* Self-containment: <Hypervisor/hv_arch_vmx.h> alone (twice, for the include guard) must compile. */
#include <Hypervisor/hv_arch_vmx.h>
#include <Hypervisor/hv_arch_vmx.h>
#include "inc_funcs.h"

int ht_inc_hv_arch_vmx(void) { return (VMCS_RO_EXIT_REASON == 0x4402) + (VMX_REASON_EPT_VIOLATION == 48) + (IRQ_INFO_VALID == 0x80000000u); }
