/*
 * hvshim -- <Hypervisor/hv_error.h>
 *
 * Result codes of the Hypervisor.framework (x86) C API, reimplemented for
 * Linux/KVM by hvshim.  Written from the documented names and values; this
 * file is not derived from Apple's header text.
 *
 * On macOS the codes are built from the Mach error macros
 * (err_local | err_sub(0xba5) | n), where err_local is a *signed* int, so
 * every failure code is a negative int.  We spell the same numbers out as
 * int arithmetic so that
 *   - the enumeration stays an int-compatible type (no -pedantic diagnostic,
 *     no implementation-defined unsigned->int conversion), and
 *   - `hv_return_t r = ...; if (r == HV_ERROR)` compares int with int.
 * This header deliberately does not include any <mach/...> header and does
 * not define mach_error_t.
 */
#ifndef HVSHIM_HYPERVISOR_HV_ERROR_H
#define HVSHIM_HYPERVISOR_HV_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/* Result of every hv_* call.  Same width and signedness as Mach's
 * mach_error_t / kern_return_t (int). */
typedef int hv_return_t;

/* -0x0516C000 == (int)0xfae94000 == err_local | err_sub(0xba5) */
enum {
	HV_SUCCESS             = 0,
	HV_ERROR               = -0x0516C000 + 0x01, /* 0xfae94001 */
	HV_BUSY                = -0x0516C000 + 0x02, /* 0xfae94002 */
	HV_BAD_ARGUMENT        = -0x0516C000 + 0x03, /* 0xfae94003 */
	HV_ILLEGAL_GUEST_STATE = -0x0516C000 + 0x04, /* 0xfae94004 */
	HV_NO_RESOURCES        = -0x0516C000 + 0x05, /* 0xfae94005 */
	HV_NO_DEVICE           = -0x0516C000 + 0x06, /* 0xfae94006 */
	HV_DENIED              = -0x0516C000 + 0x07, /* 0xfae94007 */
	HV_EXISTS              = -0x0516C000 + 0x08, /* 0xfae94008 */
	HV_UNSUPPORTED         = -0x0516C000 + 0x0f  /* 0xfae9400f */
};

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* HVSHIM_HYPERVISOR_HV_ERROR_H */
