/*
 * hvshim -- <Hypervisor/hv_vmx.h>
 *
 * VMX-specific part of the Hypervisor.framework (x86) C API: VMCS access,
 * VMX capabilities, shadow VMCS and MSR information, implemented on Linux
 * over KVM by hvshim.  Written from the documented names and signatures;
 * not derived from Apple's header text.
 *
 * VMCS field encodings and control bits are in <Hypervisor/hv_arch_vmx.h>.
 * Capability values (hv_vmx_read_capability) use the VMX MSR layout: low
 * 32 bits = control bits that must be 1, high 32 bits = bits allowed to be 1.
 */
#ifndef HVSHIM_HYPERVISOR_HV_VMX_H
#define HVSHIM_HYPERVISOR_HV_VMX_H

#include <stdint.h>
#include <Hypervisor/hv.h>
#include <Hypervisor/hv_arch_vmx.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- VMCS access --------------------------------------------------------- */
extern hv_return_t hv_vmx_vcpu_read_vmcs(hv_vcpuid_t vcpu, uint32_t field,
                                         uint64_t *value);
extern hv_return_t hv_vmx_vcpu_write_vmcs(hv_vcpuid_t vcpu, uint32_t field,
                                          uint64_t value);
/* Which bits of a (conditionally writable) field may be written; per bit
 * (allowed_0, allowed_1): (0,0) must be 0, (0,1) either, (1,1) must be 1. */
extern hv_return_t hv_vmx_vcpu_get_cap_write_vmcs(hv_vcpuid_t vcpu,
                                                  uint32_t field,
                                                  uint64_t *allowed_0,
                                                  uint64_t *allowed_1);

/* ---- shadow VMCS --------------------------------------------------------- */
extern hv_return_t hv_vmx_vcpu_read_shadow_vmcs(hv_vcpuid_t vcpu,
                                                uint32_t field,
                                                uint64_t *value);
extern hv_return_t hv_vmx_vcpu_write_shadow_vmcs(hv_vcpuid_t vcpu,
                                                 uint32_t field,
                                                 uint64_t value);

enum {
	HV_SHADOW_VMCS_NONE  = 0,
	HV_SHADOW_VMCS_READ  = 1 << 0,
	HV_SHADOW_VMCS_WRITE = 1 << 1
};
typedef uint64_t hv_shadow_flags_t;

extern hv_return_t hv_vmx_vcpu_set_shadow_access(hv_vcpuid_t vcpu,
                                                 uint32_t field,
                                                 hv_shadow_flags_t flags);

/* ---- VMX capabilities ---------------------------------------------------- */
typedef enum {
	HV_VMX_CAP_PINBASED         = 0,
	HV_VMX_CAP_PROCBASED        = 1,
	HV_VMX_CAP_PROCBASED2       = 2,
	HV_VMX_CAP_ENTRY            = 3,
	HV_VMX_CAP_EXIT             = 4,
	/* macOS 11+ */
	HV_VMX_CAP_BASIC            = 5,
	HV_VMX_CAP_TRUE_PINBASED    = 6,
	HV_VMX_CAP_TRUE_PROCBASED   = 7,
	HV_VMX_CAP_TRUE_ENTRY       = 8,
	HV_VMX_CAP_TRUE_EXIT        = 9,
	HV_VMX_CAP_MISC             = 10,
	HV_VMX_CAP_CR0_FIXED0       = 11,
	HV_VMX_CAP_CR0_FIXED1       = 12,
	HV_VMX_CAP_CR4_FIXED0       = 13,
	HV_VMX_CAP_CR4_FIXED1       = 14,
	HV_VMX_CAP_VMCS_ENUM        = 15,
	HV_VMX_CAP_EPT_VPID_CAP     = 16,
	/* VMX preemption timer rate (not a VMX MSR) */
	HV_VMX_CAP_PREEMPTION_TIMER = 32
} hv_vmx_capability_t;

extern hv_return_t hv_vmx_read_capability(hv_vmx_capability_t field,
                                          uint64_t *value);

/* ---- MSR information (macOS 11+) ----------------------------------------- */
enum {
	HV_VMX_INFO_MSR_IA32_ARCH_CAPABILITIES   = 0,
	HV_VMX_INFO_MSR_IA32_PERF_CAPABILITIES   = 1,
	HV_VMX_VALID_MSR_IA32_PERFEVNTSEL        = 2,
	HV_VMX_VALID_MSR_IA32_FIXED_CTR_CTRL     = 3,
	HV_VMX_VALID_MSR_IA32_PERF_GLOBAL_CTRL   = 4,
	HV_VMX_VALID_MSR_IA32_PERF_GLOBAL_STATUS = 5,
	HV_VMX_VALID_MSR_IA32_DEBUGCTL           = 6,
	HV_VMX_VALID_MSR_IA32_SPEC_CTRL          = 7,
	HV_VMX_NEED_MSR_IA32_SPEC_CTRL           = 8
};
typedef uint64_t hv_vmx_msr_info_t;

extern hv_return_t hv_vmx_get_msr_info(hv_vmx_msr_info_t field,
                                       uint64_t *value);

/* ---- APIC ---------------------------------------------------------------- */
extern hv_return_t hv_vmx_vcpu_set_apic_address(hv_vcpuid_t vcpu,
                                                hv_gpaddr_t gpa);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* HVSHIM_HYPERVISOR_HV_VMX_H */
