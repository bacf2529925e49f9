/* Self-containment: <Hypervisor/hv.h> alone (twice, for the include guard) must compile. */
#include <Hypervisor/hv.h>
#include <Hypervisor/hv.h>
#include "inc_funcs.h"

int ht_inc_hv(void) { return (int)sizeof(hv_vcpuid_t) + HV_X86_RAX + (HV_ERROR < 0) + (HV_MEMORY_EXEC == 4) + (HV_DEADLINE_FOREVER == UINT64_MAX) + (sizeof(size_t) > 0) + (sizeof(bool) > 0); }
