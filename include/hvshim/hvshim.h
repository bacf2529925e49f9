/*
 * <hvshim/hvshim.h> -- hvshim's own extensions to the Hypervisor.framework
 * API.  Not part of Apple's API; guard uses with `#ifdef __linux__` or a
 * __has_include(<hvshim/hvshim.h>) check in portable code.
 */
#ifndef HVSHIM_HVSHIM_H
#define HVSHIM_HVSHIM_H

#include <Hypervisor/hv_error.h>
#include <Hypervisor/hv_types.h>
#include <stdint.h>

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

/* ---- CPUID -------------------------------------------------------------
 * KVM answers CPUID inside the kernel, so a VMM never sees VMX_REASON_CPUID.
 * Each vCPU instead gets a table: by default KVM's supported CPUID with the
 * vCPU id as initial APIC id (leaf 1 EBX[31:24]) and x2APIC id (leaves 0xB
 * and 0x1F EDX), no x2APIC (there is no in-kernel local APIC), and no XSAVE
 * component beyond the 4096 bytes hv_vcpu_read/write_fpstate carry.  A VMM
 * that emulates CPUID itself on macOS hands its answers over here instead.
 * The table is used verbatim. */
#define HVSHIM_CPUID_INDEX_SIGNIFICANT 1u /* `index` (ECX) selects the entry */

typedef struct hvshim_cpuid_entry {
  uint32_t function; /* EAX on input */
  uint32_t index;    /* ECX on input, when HVSHIM_CPUID_INDEX_SIGNIFICANT */
  uint32_t flags;
  uint32_t eax, ebx, ecx, edx;
} hvshim_cpuid_entry_t;

/* Replaces the vCPU's table.  Owner thread only (else HV_DENIED), before
 * the vCPU's first hv_vcpu_run* (else HV_BUSY: KVM freezes the table);
 * 1..256 entries, a leaf 0xD that enables at most 4096 bytes of XSAVE state
 * (else HV_BAD_ARGUMENT).  A failed call changes nothing. */
extern hv_return_t hvshim_vcpu_set_cpuid(hv_vcpuid_t vcpu, const hvshim_cpuid_entry_t *entries, uint32_t count);

/* Copies the vCPU's current table.  *count: capacity in, entries out; a
 * capacity too small gives HV_NO_RESOURCES with *count = the size needed
 * (entries may be NULL then). */
extern hv_return_t hvshim_vcpu_get_cpuid(hv_vcpuid_t vcpu, hvshim_cpuid_entry_t *entries, uint32_t *count);

/* ---- VMCALL ------------------------------------------------------------
 * KVM handles VMCALL itself (as a KVM hypercall) and offers no exit for it,
 * so VMX_REASON_VMCALL exists only where the library can recognise one.
 * hvshim_vmcall_behaviour() says what happens on this host (bits below):
 *   HVSHIM_VMCALL_CODE_INTACT      the instruction is never rewritten in guest memory
 *   HVSHIM_VMCALL_EXIT_REAL_MODE   VMX_REASON_VMCALL (RIP on it, length 3) in real mode
 *                                  when the exception bitmap is non-zero
 *   HVSHIM_VMCALL_EXIT_READ_ONLY_PAGE  VMX_REASON_VMCALL on a read-only code page
 *   HVSHIM_VMCALL_GUEST_UD         elsewhere the guest takes #UD (AMD hosts)
 *   HVSHIM_VMCALL_KVM_HYPERCALL    elsewhere KVM completes it: RAX = -1000 (-KVM_ENOSYS),
 *                                  RIP past it, no exit (Intel hosts)
 * HV_NO_DEVICE when /dev/kvm cannot be opened. */
#define HVSHIM_VMCALL_CODE_INTACT 0x1u
#define HVSHIM_VMCALL_EXIT_REAL_MODE 0x2u
#define HVSHIM_VMCALL_EXIT_READ_ONLY_PAGE 0x4u
#define HVSHIM_VMCALL_GUEST_UD 0x8u
#define HVSHIM_VMCALL_KVM_HYPERCALL 0x10u
extern hv_return_t hvshim_vmcall_behaviour(uint32_t *out);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* HVSHIM_HVSHIM_H */
