/* Self-containment: <Hypervisor/hv_error.h> alone (twice, for the include guard) must compile. */
#include <Hypervisor/hv_error.h>
#include <Hypervisor/hv_error.h>
#include "inc_funcs.h"

int ht_inc_hv_error(void) { return (HV_SUCCESS == 0) + (HV_UNSUPPORTED < 0) + (int)sizeof(hv_return_t); }
