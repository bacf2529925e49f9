/* Self-containment: <Hypervisor/hv_types.h> alone (twice, for the include guard) must compile. */
#include <Hypervisor/hv_types.h>
#include <Hypervisor/hv_types.h>
#include "inc_funcs.h"

int ht_inc_hv_types(void) { return (int)sizeof(hv_gpaddr_t) + HV_MEMORY_READ + HV_CAP_ADDRSPACEMAX; }
