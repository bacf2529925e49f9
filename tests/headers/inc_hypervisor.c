/* Self-containment: <Hypervisor/Hypervisor.h> alone (twice, for the include guard) must compile. */
#include <Hypervisor/Hypervisor.h>
#include <Hypervisor/Hypervisor.h>
#include "inc_funcs.h"

int ht_inc_hypervisor(void) { return (int)HV_VMX_CAP_EPT_VPID_CAP + (int)HV_X86_XCR0 + (HV_ERROR < 0); }
