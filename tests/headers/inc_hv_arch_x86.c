/* Self-containment: <Hypervisor/hv_arch_x86.h> alone (twice, for the include guard) must compile. */
#include <Hypervisor/hv_arch_x86.h>
#include <Hypervisor/hv_arch_x86.h>
#include "inc_funcs.h"

int ht_inc_hv_arch_x86(void) { return HV_X86_REGISTERS_MAX; }
