/* Texts for Mach error values, with the wording of Darwin's libsystem. */
#ifndef HVSHIM_MACH_MACH_ERROR_H
#define HVSHIM_MACH_MACH_ERROR_H

#include <mach/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A static string; never to be freed. Like Darwin's, it can be NULL for a
 * system that has no table at all (err_vm, err_dipc). */
char *mach_error_string(mach_error_t error_value);
/* Prints "str text" (with system/subsystem and the value for unknown codes)
 * and a newline on stderr. */
void mach_error(const char *str, mach_error_t error_value);
/* The "(system/subsystem)" part, or "(?/?)". */
char *mach_error_type(mach_error_t error_value);

#ifdef __cplusplus
}
#endif

#endif
