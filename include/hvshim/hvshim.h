/*
 * <hvshim/hvshim.h> -- hvshim's own extensions to the Hypervisor.framework
 * API.  Not part of Apple's API; guard uses with `#ifdef __linux__` or a
 * __has_include(<hvshim/hvshim.h>) check in portable code.
 */
#ifndef HVSHIM_HVSHIM_H
#define HVSHIM_HVSHIM_H

#ifdef __cplusplus
extern "C" {
#endif

/* Human-readable reason why the most recent failing hv_* call made by the
 * calling thread failed (which check, which KVM ioctl, which errno).  The
 * text is thread-local; the pointer stays valid until the next hv_* call on
 * the same thread.  Returns "" (never NULL) if there is nothing to report. */
extern const char *hvshim_last_error(void);

/* hvshim version as a "MAJOR.MINOR.PATCH" string (static storage). */
extern const char *hvshim_version(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* HVSHIM_HVSHIM_H */
