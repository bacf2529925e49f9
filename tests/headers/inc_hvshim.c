/* Self-containment: <hvshim/hvshim.h> alone (twice, for the include guard) must compile. */
#include <hvshim/hvshim.h>
#include <hvshim/hvshim.h>
#include "inc_funcs.h"

int ht_inc_hvshim(void) { return (int)sizeof(*hvshim_last_error()) + (int)sizeof(hvshim_version()); /* unevaluated: no link needed */ }
