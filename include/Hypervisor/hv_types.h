/*
 * hvshim -- <Hypervisor/hv_types.h>
 *
 * Scalar types and option/flag constants of the Hypervisor.framework (x86)
 * C API, reimplemented for Linux/KVM by hvshim.  Written from the documented
 * names and values; not derived from Apple's header text.
 *
 * As on macOS, the constants are enumerators of anonymous enums and the
 * parameter types are plain integer typedefs (so `flags` arguments accept
 * any OR of the constants).
 */
#ifndef HVSHIM_HYPERVISOR_HV_TYPES_H
#define HVSHIM_HYPERVISOR_HV_TYPES_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- hv_capability() selectors ---------------------------------------- */
enum {
	HV_CAP_VCPUMAX      = 0, /* maximum number of vCPUs */
	HV_CAP_ADDRSPACEMAX = 1  /* maximum number of guest address spaces */
};
typedef uint64_t hv_capability_t;

/* ---- guest address spaces ---------------------------------------------- */
enum {
	HV_VM_SPACE_DEFAULT = 0 /* the space that exists after hv_vm_create() */
};
typedef unsigned hv_vm_space_t;

/* ---- hv_vm_create() options --------------------------------------------- */
enum {
	HV_VM_DEFAULT             = 0,
	HV_VM_SPECIFY_MITIGATIONS = 1 << 0,
	HV_VM_MITIGATION_A_ENABLE = 1 << 1,
	HV_VM_MITIGATION_B_ENABLE = 1 << 2,
	HV_VM_MITIGATION_C_ENABLE = 1 << 3,
	HV_VM_MITIGATION_D_ENABLE = 1 << 4,
	HV_VM_MITIGATION_E_ENABLE = 1 << 6,  /* macOS 11+ */
	HV_VM_ACCEL_APIC          = 1 << 10  /* macOS 12+ */
};
typedef uint64_t hv_vm_options_t;

/* ---- hv_vcpu_create() options ------------------------------------------- */
enum {
	HV_VCPU_DEFAULT      = 0,
	HV_VCPU_ACCEL_RDPMC  = 1 << 0, /* macOS 11+ */
	HV_VCPU_TSC_RELATIVE = 1 << 1  /* macOS 11+ */
};
typedef uint64_t hv_vcpu_options_t;

/* ---- guest memory permissions (hv_vm_map / hv_vm_protect) --------------- */
enum {
	HV_MEMORY_READ          = 1 << 0,
	HV_MEMORY_WRITE         = 1 << 1,
	HV_MEMORY_EXEC          = 1 << 2,
	/* macOS 12+ */
	HV_MEMORY_UEXEC         = 1 << 3,
	HV_MEMORY_MAXPROT       = 1 << 4,
	HV_MEMORY_MAXPROT_READ  = 1 << 5,
	HV_MEMORY_MAXPROT_WRITE = 1 << 6,
	HV_MEMORY_MAXPROT_EXEC  = 1 << 7,
	HV_MEMORY_MAXPROT_UEXEC = 1 << 8
};
typedef uint64_t hv_memory_flags_t;

/* ---- hv_vcpu_set_msr_access() flags (macOS 11+) ------------------------- */
enum {
	HV_MSR_NONE  = 0,
	HV_MSR_READ  = 1u << 0,
	HV_MSR_WRITE = 1u << 1
};
typedef uint32_t hv_msr_flags_t;

/* ---- I/O notifier flags (macOS 11+; the notifier calls need Mach ports and
 *      are not provided by hvshim, the flag type is kept for source
 *      compatibility) ------------------------------------------------------ */
enum {
	HV_ION_NONE      = 0,
	HV_ION_ANY_VALUE = 1u << 1,
	HV_ION_ANY_SIZE  = 1u << 2,
	HV_ION_EXIT_FULL = 1u << 3
};
typedef uint32_t hv_ion_flags_t;

/* ---- extra exit information kinds (macOS 12+, HV_VM_ACCEL_APIC) --------- */
enum {
	HV_VM_EXITINFO_VMX              = 1,
	HV_VM_EXITINFO_INIT_AP          = 2,
	HV_VM_EXITINFO_STARTUP_AP       = 3,
	HV_VM_EXITINFO_IOAPIC_EOI       = 4,
	HV_VM_EXITINFO_INJECT_EXCP      = 5,
	HV_VM_EXITINFO_SMI              = 6,
	HV_VM_EXITINFO_APIC_ACCESS_READ = 7
};
typedef uint32_t hv_vm_exitinfo_t;

/* ---- APIC acceleration controls (macOS 12+, HV_VM_ACCEL_APIC) ----------- */
enum {
	HV_APIC_CTRL_DEFAULT     = 0,
	HV_APIC_CTRL_EOI_ICR_TPR = 1 << 0,
	HV_APIC_CTRL_GUEST_IDLE  = 1 << 1,
	HV_APIC_CTRL_NO_TIMER    = 1 << 2,
	HV_APIC_CTRL_IOAPIC_EOI  = 1 << 3
};
typedef uint64_t hv_apic_ctrl_t;

/* ---- basic types -------------------------------------------------------- */
typedef unsigned    hv_vcpuid_t; /* vCPU id, 0,1,2,... in creation order */
typedef const void *hv_uvaddr_t; /* host (user) virtual address */
typedef uint64_t    hv_gpaddr_t; /* guest physical address */

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* HVSHIM_HYPERVISOR_HV_TYPES_H */
