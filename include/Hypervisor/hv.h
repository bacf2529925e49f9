/*
 * hvshim -- <Hypervisor/hv.h>
 *
 * Core Hypervisor.framework (x86) C API -- VM, memory, vCPU and register
 * calls -- implemented on Linux over KVM by hvshim (link with -lhvshim or
 * use pkg-config/CMake package `hvshim`).  Written from the documented
 * names and signatures; not derived from Apple's header text.
 *
 * Threading model (same as macOS): a process owns at most one VM; a vCPU is
 * owned by the thread that created it, and every hv_vcpu_* call except
 * hv_vcpu_create() and hv_vcpu_interrupt() must be made on that thread.
 *
 * Not provided: hv_vm_add_pio_notifier / hv_vm_remove_pio_notifier (they
 * need Mach ports) and the macOS 12+ APIC/IOAPIC/PIC acceleration calls.
 * On failure every call returns one of the HV_* codes and
 * hvshim_last_error() (<hvshim/hvshim.h>) says why.
 */
#ifndef HVSHIM_HYPERVISOR_HV_H
#define HVSHIM_HYPERVISOR_HV_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#ifndef __cplusplus
#include <stdbool.h>
#endif

#include <Hypervisor/hv_error.h>
#include <Hypervisor/hv_types.h>
#include <Hypervisor/hv_arch_x86.h>

#ifndef HVSHIM_WIDE_ENUM_
#if !defined(__cplusplus) && (defined(__GNUC__) || defined(__clang__))
#define HVSHIM_WIDE_ENUM_ __extension__ enum
#else
#define HVSHIM_WIDE_ENUM_ enum
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Deadline for hv_vcpu_run_until() meaning "no deadline".  Does not fit in
 * int; see the note at the top of <Hypervisor/hv_arch_vmx.h>. */
HVSHIM_WIDE_ENUM_ {
	HV_DEADLINE_FOREVER = ~0ull
};

/* ---- capabilities -------------------------------------------------------- */
extern hv_return_t hv_capability(hv_capability_t capability, uint64_t *value);

/* ---- VM lifecycle (one VM per process) ----------------------------------- */
extern hv_return_t hv_vm_create(hv_vm_options_t flags);
extern hv_return_t hv_vm_destroy(void);

/* ---- guest address spaces ------------------------------------------------ */
extern hv_return_t hv_vm_space_create(hv_vm_space_t *asid);
extern hv_return_t hv_vm_space_destroy(hv_vm_space_t asid);

/* ---- guest physical memory (addresses and sizes page-aligned) ------------ */
extern hv_return_t hv_vm_map(hv_uvaddr_t uva, hv_gpaddr_t gpa, size_t size,
                             hv_memory_flags_t flags);
extern hv_return_t hv_vm_unmap(hv_gpaddr_t gpa, size_t size);
extern hv_return_t hv_vm_protect(hv_gpaddr_t gpa, size_t size,
                                 hv_memory_flags_t flags);
extern hv_return_t hv_vm_map_space(hv_vm_space_t asid, hv_uvaddr_t uva,
                                   hv_gpaddr_t gpa, size_t size,
                                   hv_memory_flags_t flags);
extern hv_return_t hv_vm_unmap_space(hv_vm_space_t asid, hv_gpaddr_t gpa,
                                     size_t size);
extern hv_return_t hv_vm_protect_space(hv_vm_space_t asid, hv_gpaddr_t gpa,
                                       size_t size, hv_memory_flags_t flags);

/* ---- time ---------------------------------------------------------------- */
extern hv_return_t hv_vm_sync_tsc(uint64_t tsc);

/* ---- vCPU lifecycle (the calling thread becomes the owner) --------------- */
extern hv_return_t hv_vcpu_create(hv_vcpuid_t *vcpu, hv_vcpu_options_t flags);
extern hv_return_t hv_vcpu_destroy(hv_vcpuid_t vcpu);
extern hv_return_t hv_vcpu_set_space(hv_vcpuid_t vcpu, hv_vm_space_t asid);

/* ---- architectural state ------------------------------------------------- */
extern hv_return_t hv_vcpu_read_register(hv_vcpuid_t vcpu, hv_x86_reg_t reg,
                                         uint64_t *value);
extern hv_return_t hv_vcpu_write_register(hv_vcpuid_t vcpu, hv_x86_reg_t reg,
                                          uint64_t value);
/* XSAVE-format FPU state.  `buffer` of write_fpstate is deliberately not
 * const-qualified, matching the macOS prototype. */
extern hv_return_t hv_vcpu_read_fpstate(hv_vcpuid_t vcpu, void *buffer,
                                        size_t size);
extern hv_return_t hv_vcpu_write_fpstate(hv_vcpuid_t vcpu, void *buffer,
                                         size_t size);

/* ---- MSRs ---------------------------------------------------------------- */
extern hv_return_t hv_vcpu_enable_native_msr(hv_vcpuid_t vcpu, uint32_t msr,
                                             bool enable);
extern hv_return_t hv_vcpu_enable_managed_msr(hv_vcpuid_t vcpu, uint32_t msr,
                                              bool enable);
extern hv_return_t hv_vcpu_set_msr_access(hv_vcpuid_t vcpu, uint32_t msr,
                                          hv_msr_flags_t flags);
extern hv_return_t hv_vcpu_read_msr(hv_vcpuid_t vcpu, uint32_t msr,
                                    uint64_t *value);
extern hv_return_t hv_vcpu_write_msr(hv_vcpuid_t vcpu, uint32_t msr,
                                     uint64_t value);

/* ---- caches -------------------------------------------------------------- */
extern hv_return_t hv_vcpu_flush(hv_vcpuid_t vcpu);
extern hv_return_t hv_vcpu_invalidate_tlb(hv_vcpuid_t vcpu);

/* ---- execution ----------------------------------------------------------- */
extern hv_return_t hv_vcpu_run(hv_vcpuid_t vcpu);
/* `deadline` is in mach_absolute_time() units, HV_DEADLINE_FOREVER for none */
extern hv_return_t hv_vcpu_run_until(hv_vcpuid_t vcpu, uint64_t deadline);
/* The only vCPU call allowed from any thread: forces the listed vCPUs out of
 * guest mode (they return with VMX_REASON_IRQ). */
extern hv_return_t hv_vcpu_interrupt(hv_vcpuid_t *vcpus,
                                     unsigned int vcpu_count);
/* Cumulative guest execution time in nanoseconds. */
extern hv_return_t hv_vcpu_get_exec_time(hv_vcpuid_t vcpu, uint64_t *time);
extern uint64_t hv_tsc_clock(void);
extern hv_return_t hv_vcpu_set_tsc_relative(hv_vcpuid_t vcpu, int64_t offset);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* HVSHIM_HYPERVISOR_HV_H */
