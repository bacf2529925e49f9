// <hvshim/hvshim.h>: our own additions to Apple's surface.
#include <hvshim/hvshim.h>

#include "common/export.h"
#include "common/last_error.h"

#ifndef HVSHIM_VERSION_STRING
#define HVSHIM_VERSION_STRING "0.1.0"
#endif

extern "C" {

HVSHIM_EXPORT const char* hvshim_last_error(void) { return hvshim::last_error_cstr(); }

HVSHIM_EXPORT const char* hvshim_version(void) { return HVSHIM_VERSION_STRING; }

}  // extern "C"
