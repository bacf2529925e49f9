/*
 * hvshim -- <Hypervisor/hv_arch_vmx.h>
 *
 * Intel VMX constants used with the Hypervisor.framework (x86) VMX calls
 * (<Hypervisor/hv_vmx.h>), reimplemented for Linux/KVM by hvshim.  Written
 * from the documented names and values (Apple SDK name list, Intel SDM
 * encodings); not derived from Apple's header text.
 *
 * Design rules (see also tests/headers/):
 *
 * 1. Every constant is an enumerator of an anonymous enum, never a macro.
 *    Real clients (hvdos, xhyve, ...) ship their own vmcs.h that #defines
 *    many of the same names (VMCS_GUEST_CR0, VMCS_GUEST_CS_LIMIT, ...) after
 *    including this header; with enumerators their macros simply shadow our
 *    names, whereas macros of ours would give redefinition errors.  The
 *    grouping into enums follows the macOS SDK, so C++ -Wenum-compare /
 *    C++20 enum-enum diagnostics match what the same code gets on macOS.
 *
 * 2. A few values do not fit in int: CPU_BASED_SECONDARY_CTLS and
 *    IRQ_INFO_VALID (bit 31), VMX_BASIC_TRUE_CTLS (bit 55) and the
 *    0xc00000xx HV_MSR_* numbers.  They are written as unsigned literals
 *    (1u << 31, 1ull << 55, 0xc0000080u) and keep their true, positive
 *    value in both languages:
 *      - C++: an unscoped enum without a fixed type gets an underlying type
 *        wide enough for all its values (unsigned int, or a 64-bit type for
 *        bit 55), so nothing is truncated or sign-extended.
 *      - C (before C23) officially limits enumerators to int; GCC and Clang
 *        accept wider values as a documented extension (the enum becomes
 *        unsigned int / 64-bit, and an enumerator that does not fit int gets
 *        the enum's type) -- exactly what the macOS SDK relies on.  Only
 *        -pedantic complains, so those enums are introduced with
 *        __extension__ (HVSHIM_WIDE_ENUM_), which silences that one
 *        diagnostic and changes nothing else.
 *    Rejected alternative: `(int)0x80000000` enumerators are int-typed and
 *    negative, so `(uint64_t)x | CPU_BASED_SECONDARY_CTLS` would set bits
 *    63..31 and `(info & IRQ_INFO_VALID) == IRQ_INFO_VALID` would be false
 *    for a uint64_t `info`.  Macros are ruled out by rule 1 and
 *    `static const` objects cannot be used as C case labels.
 *    Consequence (as on macOS): in C, CPU_BASED_SECONDARY_CTLS and
 *    IRQ_INFO_VALID are `unsigned int`, so `~CPU_BASED_SECONDARY_CTLS` is
 *    0x7fffffff (the VMX control fields are 32 bits wide, so this is
 *    harmless for them).
 */
#ifndef HVSHIM_HYPERVISOR_HV_ARCH_VMX_H
#define HVSHIM_HYPERVISOR_HV_ARCH_VMX_H

#ifndef HVSHIM_WIDE_ENUM_
#if !defined(__cplusplus) && (defined(__GNUC__) || defined(__clang__))
#define HVSHIM_WIDE_ENUM_ __extension__ enum
#else
#define HVSHIM_WIDE_ENUM_ enum
#endif
#endif

/* Plain number, also usable from assembly sources. */
#if defined(__clang__) /* reserved names on purpose (macOS compatibility) */
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wunknown-warning-option"
#pragma clang diagnostic ignored "-Wreserved-macro-identifier"
#endif
#define __VMCS_HOST_RSP 0x6c14
#if defined(__clang__)
#pragma clang diagnostic pop
#endif

#ifndef __ASSEMBLER__

#ifdef __cplusplus
extern "C" {
#endif

/* ---- VMCS field encodings (hv_vmx_vcpu_read_vmcs / write_vmcs) ---------- */
enum {
	/* 16-bit control fields */
	VMCS_VPID                           = 0x0000,
	VMCS_CTRL_POSTED_INT_N_VECTOR       = 0x0002,
	VMCS_CTRL_EPTP_INDEX                = 0x0004,
	/* 16-bit guest-state fields: segment selectors etc. */
	VMCS_GUEST_ES                       = 0x0800,
	VMCS_GUEST_CS                       = 0x0802,
	VMCS_GUEST_SS                       = 0x0804,
	VMCS_GUEST_DS                       = 0x0806,
	VMCS_GUEST_FS                       = 0x0808,
	VMCS_GUEST_GS                       = 0x080a,
	VMCS_GUEST_LDTR                     = 0x080c,
	VMCS_GUEST_TR                       = 0x080e,
	VMCS_GUEST_INT_STATUS               = 0x0810,
	VMCS_GUESTPML_INDEX                 = 0x0812,          /* sic: no underscore after GUEST, as on macOS */
	/* 16-bit host-state fields */
	VMCS_HOST_ES                        = 0x0c00,
	VMCS_HOST_CS                        = 0x0c02,
	VMCS_HOST_SS                        = 0x0c04,
	VMCS_HOST_DS                        = 0x0c06,
	VMCS_HOST_FS                        = 0x0c08,
	VMCS_HOST_GS                        = 0x0c0a,
	VMCS_HOST_TR                        = 0x0c0c,
	/* 64-bit control fields */
	VMCS_CTRL_IO_BITMAP_A               = 0x2000,
	VMCS_CTRL_IO_BITMAP_B               = 0x2002,
	VMCS_CTRL_MSR_BITMAPS               = 0x2004,
	VMCS_CTRL_VMEXIT_MSR_STORE_ADDR     = 0x2006,
	VMCS_CTRL_VMEXIT_MSR_LOAD_ADDR      = 0x2008,
	VMCS_CTRL_VMENTRY_MSR_LOAD_ADDR     = 0x200a,
	VMCS_CTRL_EXECUTIVE_VMCS_PTR        = 0x200c,
	VMCS_CTRL_PML_ADDR                  = 0x200e,
	VMCS_CTRL_TSC_OFFSET                = 0x2010,
	VMCS_CTRL_VIRTUAL_APIC              = 0x2012,
	VMCS_CTRL_APIC_ACCESS               = 0x2014,
	VMCS_CTRL_POSTED_INT_DESC_ADDR      = 0x2016,
	VMCS_CTRL_VMFUNC_CTRL               = 0x2018,
	VMCS_CTRL_EPTP                      = 0x201a,
	VMCS_CTRL_EOI_EXIT_BITMAP_0         = 0x201c,
	VMCS_CTRL_EOI_EXIT_BITMAP_1         = 0x201e,
	VMCS_CTRL_EOI_EXIT_BITMAP_2         = 0x2020,
	VMCS_CTRL_EOI_EXIT_BITMAP_3         = 0x2022,
	VMCS_CTRL_EPTP_LIST_ADDR            = 0x2024,
	VMCS_CTRL_VMREAD_BITMAP_ADDR        = 0x2026,
	VMCS_CTRL_VMWRITE_BITMAP_ADDR       = 0x2028,
	VMCS_CTRL_VIRT_EXC_INFO_ADDR        = 0x202a,
	VMCS_CTRL_XSS_EXITING_BITMAP        = 0x202c,
	VMCS_CTRL_ENCLS_EXITING_BITMAP      = 0x202e,
	VMCS_CTRL_SPP_TABLE                 = 0x2030,
	VMCS_CTRL_TSC_MULTIPLIER            = 0x2032,
	VMCS_CTRL_ENCLV_EXITING_BITMAP      = 0x2036,          /* newer SDKs; Intel SDM encoding */
	/* 64-bit read-only data field */
	VMCS_GUEST_PHYSICAL_ADDRESS         = 0x2400,
	/* 64-bit guest-state fields */
	VMCS_GUEST_LINK_POINTER             = 0x2800,
	VMCS_GUEST_IA32_DEBUGCTL            = 0x2802,
	VMCS_GUEST_IA32_PAT                 = 0x2804,
	VMCS_GUEST_IA32_EFER                = 0x2806,
	VMCS_GUEST_IA32_PERF_GLOBAL_CTRL    = 0x2808,
	VMCS_GUEST_PDPTE0                   = 0x280a,
	VMCS_GUEST_PDPTE1                   = 0x280c,
	VMCS_GUEST_PDPTE2                   = 0x280e,
	VMCS_GUEST_PDPTE3                   = 0x2810,
	VMCS_GUEST_IA32_BNDCFGS             = 0x2812,
	VMCS_GUEST_IA32_RTIT_CTL            = 0x2814,
	VMCS_GUEST_IA32_PKRS                = 0x2818,          /* newer SDKs; Intel SDM encoding */
	/* 64-bit host-state fields */
	VMCS_HOST_IA32_PAT                  = 0x2c00,
	VMCS_HOST_IA32_EFER                 = 0x2c02,
	VMCS_HOST_IA32_PERF_GLOBAL_CTRL     = 0x2c04,
	VMCS_HOST_IA32_PKRS                 = 0x2c06,          /* newer SDKs; Intel SDM encoding */
	/* 32-bit control fields */
	VMCS_CTRL_PIN_BASED                 = 0x4000,
	VMCS_CTRL_CPU_BASED                 = 0x4002,
	VMCS_CTRL_EXC_BITMAP                = 0x4004,
	VMCS_CTRL_PF_ERROR_MASK             = 0x4006,
	VMCS_CTRL_PF_ERROR_MATCH            = 0x4008,
	VMCS_CTRL_CR3_COUNT                 = 0x400a,
	VMCS_CTRL_VMEXIT_CONTROLS           = 0x400c,
	VMCS_CTRL_VMEXIT_MSR_STORE_COUNT    = 0x400e,
	VMCS_CTRL_VMEXIT_MSR_LOAD_COUNT     = 0x4010,
	VMCS_CTRL_VMENTRY_CONTROLS          = 0x4012,
	VMCS_CTRL_VMENTRY_MSR_LOAD_COUNT    = 0x4014,
	VMCS_CTRL_VMENTRY_IRQ_INFO          = 0x4016,
	VMCS_CTRL_VMENTRY_EXC_ERROR         = 0x4018,
	VMCS_CTRL_VMENTRY_INSTR_LEN         = 0x401a,
	VMCS_CTRL_TPR_THRESHOLD             = 0x401c,
	VMCS_CTRL_CPU_BASED2                = 0x401e,
	VMCS_CTRL_PLE_GAP                   = 0x4020,
	VMCS_CTRL_PLE_WINDOW                = 0x4022,
	/* 32-bit read-only data fields */
	VMCS_RO_INSTR_ERROR                 = 0x4400,
	VMCS_RO_EXIT_REASON                 = 0x4402,
	VMCS_RO_VMEXIT_IRQ_INFO             = 0x4404,
	VMCS_RO_VMEXIT_IRQ_ERROR            = 0x4406,
	VMCS_RO_IDT_VECTOR_INFO             = 0x4408,
	VMCS_RO_IDT_VECTOR_ERROR            = 0x440a,
	VMCS_RO_VMEXIT_INSTR_LEN            = 0x440c,
	VMCS_RO_VMX_INSTR_INFO              = 0x440e,
	/* 32-bit guest-state fields */
	VMCS_GUEST_ES_LIMIT                 = 0x4800,
	VMCS_GUEST_CS_LIMIT                 = 0x4802,
	VMCS_GUEST_SS_LIMIT                 = 0x4804,
	VMCS_GUEST_DS_LIMIT                 = 0x4806,
	VMCS_GUEST_FS_LIMIT                 = 0x4808,
	VMCS_GUEST_GS_LIMIT                 = 0x480a,
	VMCS_GUEST_LDTR_LIMIT               = 0x480c,
	VMCS_GUEST_TR_LIMIT                 = 0x480e,
	VMCS_GUEST_GDTR_LIMIT               = 0x4810,
	VMCS_GUEST_IDTR_LIMIT               = 0x4812,
	VMCS_GUEST_ES_AR                    = 0x4814,
	VMCS_GUEST_CS_AR                    = 0x4816,
	VMCS_GUEST_SS_AR                    = 0x4818,
	VMCS_GUEST_DS_AR                    = 0x481a,
	VMCS_GUEST_FS_AR                    = 0x481c,
	VMCS_GUEST_GS_AR                    = 0x481e,
	VMCS_GUEST_LDTR_AR                  = 0x4820,
	VMCS_GUEST_TR_AR                    = 0x4822,
	VMCS_GUEST_INTERRUPTIBILITY         = 0x4824,
	VMCS_GUEST_IGNORE_IRQ               = VMCS_GUEST_INTERRUPTIBILITY, /* older (10.15) name */
	VMCS_GUEST_ACTIVITY_STATE           = 0x4826,
	VMCS_GUEST_SMBASE                   = 0x4828,
	VMCS_GUEST_IA32_SYSENTER_CS         = 0x482a,
	VMCS_GUEST_VMX_TIMER_VALUE          = 0x482e,
	/* 32-bit host-state field */
	VMCS_HOST_IA32_SYSENTER_CS          = 0x4c00,
	/* natural-width control fields */
	VMCS_CTRL_CR0_MASK                  = 0x6000,
	VMCS_CTRL_CR4_MASK                  = 0x6002,
	VMCS_CTRL_CR0_SHADOW                = 0x6004,
	VMCS_CTRL_CR4_SHADOW                = 0x6006,
	VMCS_CTRL_CR3_VALUE0                = 0x6008,
	VMCS_CTRL_CR3_VALUE1                = 0x600a,
	VMCS_CTRL_CR3_VALUE2                = 0x600c,
	VMCS_CTRL_CR3_VALUE3                = 0x600e,
	/* natural-width read-only data fields */
	VMCS_RO_EXIT_QUALIFIC               = 0x6400,
	VMCS_RO_IO_RCX                      = 0x6402,
	VMCS_RO_IO_RSI                      = 0x6404,
	VMCS_RO_IO_RDI                      = 0x6406,
	VMCS_RO_IO_RIP                      = 0x6408,
	VMCS_RO_GUEST_LIN_ADDR              = 0x640a,
	/* natural-width guest-state fields */
	VMCS_GUEST_CR0                      = 0x6800,
	VMCS_GUEST_CR3                      = 0x6802,
	VMCS_GUEST_CR4                      = 0x6804,
	VMCS_GUEST_ES_BASE                  = 0x6806,
	VMCS_GUEST_CS_BASE                  = 0x6808,
	VMCS_GUEST_SS_BASE                  = 0x680a,
	VMCS_GUEST_DS_BASE                  = 0x680c,
	VMCS_GUEST_FS_BASE                  = 0x680e,
	VMCS_GUEST_GS_BASE                  = 0x6810,
	VMCS_GUEST_LDTR_BASE                = 0x6812,
	VMCS_GUEST_TR_BASE                  = 0x6814,
	VMCS_GUEST_GDTR_BASE                = 0x6816,
	VMCS_GUEST_IDTR_BASE                = 0x6818,
	VMCS_GUEST_DR7                      = 0x681a,
	VMCS_GUEST_RSP                      = 0x681c,
	VMCS_GUEST_RIP                      = 0x681e,
	VMCS_GUEST_RFLAGS                   = 0x6820,
	VMCS_GUEST_DEBUG_EXC                = 0x6822,
	VMCS_GUEST_SYSENTER_ESP             = 0x6824,
	VMCS_GUEST_SYSENTER_EIP             = 0x6826,
	VMCS_GUEST_IA32_S_CET               = 0x6828,          /* newer SDKs; Intel SDM encoding */
	VMCS_GUEST_SSP                      = 0x682a,          /* newer SDKs; Intel SDM encoding */
	VMCS_GUEST_IA32_INTR_SSP_TABLE_ADDR = 0x682c,          /* newer SDKs; Intel SDM encoding */
	/* natural-width host-state fields */
	VMCS_HOST_CR0                       = 0x6c00,
	VMCS_HOST_CR3                       = 0x6c02,
	VMCS_HOST_CR4                       = 0x6c04,
	VMCS_HOST_FS_BASE                   = 0x6c06,
	VMCS_HOST_GS_BASE                   = 0x6c08,
	VMCS_HOST_TR_BASE                   = 0x6c0a,
	VMCS_HOST_GDTR_BASE                 = 0x6c0c,
	VMCS_HOST_IDTR_BASE                 = 0x6c0e,
	VMCS_HOST_IA32_SYSENTER_ESP         = 0x6c10,
	VMCS_HOST_IA32_SYSENTER_EIP         = 0x6c12,
	VMCS_HOST_RSP                       = 0x6c14,
	VMCS_HOST_RIP                       = 0x6c16,
	VMCS_HOST_IA32_S_CET                = 0x6c18,          /* newer SDKs; Intel SDM encoding */
	VMCS_HOST_SSP                       = 0x6c1a,          /* newer SDKs; Intel SDM encoding */
	VMCS_HOST_IA32_INTR_SSP_TABLE_ADDR  = 0x6c1c,          /* newer SDKs; Intel SDM encoding */
	/* bounds */
	VMCS_MAX                            = 0x6d00,          /* 0x6c18 in the 10.15 SDK */
	VMCS_INVALID                        = VMCS_MAX
};

/* ---- IA32_VMX_BASIC (HV_VMX_CAP_BASIC) ---------------------------------- */
HVSHIM_WIDE_ENUM_ {
	VMX_BASIC_TRUE_CTLS = 1ull << 55 /* > INT_MAX, see top of file */
};

/* ---- pin-based VM-execution controls (VMCS_CTRL_PIN_BASED) -------------- */
enum {
	PIN_BASED_INTR             = 1 << 0,
	PIN_BASED_NMI              = 1 << 3,
	PIN_BASED_VIRTUAL_NMI      = 1 << 5,
	PIN_BASED_PREEMPTION_TIMER = 1 << 6,
	PIN_BASED_POSTED_INTR      = 1 << 7
};

/* ---- primary processor-based controls (VMCS_CTRL_CPU_BASED) ------------- */
HVSHIM_WIDE_ENUM_ {
	CPU_BASED_IRQ_WND         = 1 << 2,
	CPU_BASED_TSC_OFFSET      = 1 << 3,
	CPU_BASED_HLT             = 1 << 7,
	CPU_BASED_INVLPG          = 1 << 9,
	CPU_BASED_MWAIT           = 1 << 10,
	CPU_BASED_RDPMC           = 1 << 11,
	CPU_BASED_RDTSC           = 1 << 12,
	CPU_BASED_CR3_LOAD        = 1 << 15,
	CPU_BASED_CR3_STORE       = 1 << 16,
	CPU_BASED_CR8_LOAD        = 1 << 19,
	CPU_BASED_CR8_STORE       = 1 << 20,
	CPU_BASED_TPR_SHADOW      = 1 << 21,
	CPU_BASED_VIRTUAL_NMI_WND = 1 << 22,
	CPU_BASED_MOV_DR          = 1 << 23,
	CPU_BASED_UNCOND_IO       = 1 << 24,
	CPU_BASED_IO_BITMAPS      = 1 << 25,
	CPU_BASED_MTF             = 1 << 27,
	CPU_BASED_MSR_BITMAPS     = 1 << 28,
	CPU_BASED_MONITOR         = 1 << 29,
	CPU_BASED_PAUSE           = 1 << 30,
	CPU_BASED_SECONDARY_CTLS  = 1u << 31                   /* > INT_MAX, see top of file */
};

/* ---- secondary processor-based controls (VMCS_CTRL_CPU_BASED2) ---------- */
enum {
	CPU_BASED2_VIRTUAL_APIC        = 1 << 0,
	CPU_BASED2_EPT                 = 1 << 1,
	CPU_BASED2_DESC_TABLE          = 1 << 2,
	CPU_BASED2_RDTSCP              = 1 << 3,
	CPU_BASED2_X2APIC              = 1 << 4,
	CPU_BASED2_VPID                = 1 << 5,
	CPU_BASED2_WBINVD              = 1 << 6,
	CPU_BASED2_UNRESTRICTED        = 1 << 7,
	CPU_BASED2_APIC_REG_VIRT       = 1 << 8,
	CPU_BASED2_VIRT_INTR_DELIVERY  = 1 << 9,
	CPU_BASED2_PAUSE_LOOP          = 1 << 10,
	CPU_BASED2_RDRAND              = 1 << 11,
	CPU_BASED2_INVPCID             = 1 << 12,
	CPU_BASED2_VMFUNC              = 1 << 13,
	CPU_BASED2_VMCS_SHADOW         = 1 << 14,
	CPU_BASED2_ENCLS_EXIT_MAP      = 1 << 15,
	CPU_BASED2_RDSEED              = 1 << 16,
	CPU_BASED2_PML                 = 1 << 17,
	CPU_BASED2_EPT_VE              = 1 << 18,
	CPU_BASED2_PT_CONCEAL_VMX      = 1 << 19,
	CPU_BASED2_XSAVES_XRSTORS      = 1 << 20,
	CPU_BASED2_EPT_MODE_BASED_EXEC = 1 << 22,
	CPU_BASED2_EPT_SUBPAGE_WRITE   = 1 << 23,
	CPU_BASED2_PT_GUEST_PHYSICAL   = 1 << 24,
	CPU_BASED2_TSC_SCALING         = 1 << 25,
	CPU_BASED2_USER_WAIT_PAUSE     = 1 << 26,
	CPU_BASED2_ENCLV_EXIT_MAP      = 1 << 28
};

/* ---- IA32_VMX_EPT_VPID_CAP bits (HV_VMX_CAP_EPT_VPID_CAP) --------------- */
enum {
	VMX_EPT_VPID_SUPPORT_AD     = 1 << 21,
	VMX_EPT_VPID_SUPPORT_EXONLY = 1 << 0
};

/* ---- VM-exit controls (VMCS_CTRL_VMEXIT_CONTROLS) ----------------------- */
enum {
	VMEXIT_SAVE_DBG_CONTROLS          = 1 << 2,
	VMEXIT_HOST_IA32E                 = 1 << 9,
	VMEXIT_LOAD_IA32_PERF_GLOBAL_CTRL = 1 << 12,
	VMEXIT_ACK_INTR                   = 1 << 15,
	VMEXIT_SAVE_IA32_PAT              = 1 << 18,
	VMEXIT_LOAD_IA32_PAT              = 1 << 19,
	VMEXIT_SAVE_EFER                  = 1 << 20,
	VMEXIT_LOAD_EFER                  = 1 << 21,
	VMEXIT_SAVE_VMX_TIMER             = 1 << 22,
	VMEXIT_CLEAR_IA32_BNDCFGS         = 1 << 23,
	VMEXIT_PT_CONCEAL_VMX             = 1 << 24,
	VMEXIT_CLEAR_IA32_RTIT_CTL        = 1 << 25,
	VMEXIT_LOAD_CET_STATE             = 1 << 28
};

/* ---- VM-entry controls (VMCS_CTRL_VMENTRY_CONTROLS) --------------------- */
enum {
	VMENTRY_LOAD_DBG_CONTROLS          = 1 << 2,
	VMENTRY_GUEST_IA32E                = 1 << 9,
	VMENTRY_SMM                        = 1 << 10,
	VMENTRY_DEACTIVATE_DUAL_MONITOR    = 1 << 11,
	VMENTRY_LOAD_IA32_PERF_GLOBAL_CTRL = 1 << 13,
	VMENTRY_LOAD_IA32_PAT              = 1 << 14,
	VMENTRY_LOAD_EFER                  = 1 << 15,
	VMENTRY_LOAD_IA32_BNDCFGS          = 1 << 16,
	VMENTRY_PT_CONCEAL_VMX             = 1 << 17,
	VMENTRY_LOAD_IA32_RTIT_CTL         = 1 << 18,
	VMENTRY_LOAD_CET_STATE             = 1 << 20
};

/* ---- basic exit reasons (low 16 bits of VMCS_RO_EXIT_REASON) ------------ */
enum {
	VMX_REASON_EXC_NMI           = 0,
	VMX_REASON_IRQ               = 1,
	VMX_REASON_TRIPLE_FAULT      = 2,
	VMX_REASON_INIT              = 3,
	VMX_REASON_SIPI              = 4,
	VMX_REASON_IO_SMI            = 5,
	VMX_REASON_OTHER_SMI         = 6,
	VMX_REASON_IRQ_WND           = 7,
	VMX_REASON_VIRTUAL_NMI_WND   = 8,
	VMX_REASON_TASK              = 9,
	VMX_REASON_CPUID             = 10,
	VMX_REASON_GETSEC            = 11,
	VMX_REASON_HLT               = 12,
	VMX_REASON_INVD              = 13,
	VMX_REASON_INVLPG            = 14,
	VMX_REASON_RDPMC             = 15,
	VMX_REASON_RDTSC             = 16,
	VMX_REASON_RSM               = 17,
	VMX_REASON_VMCALL            = 18,
	VMX_REASON_VMCLEAR           = 19,
	VMX_REASON_VMLAUNCH          = 20,
	VMX_REASON_VMPTRLD           = 21,
	VMX_REASON_VMPTRST           = 22,
	VMX_REASON_VMREAD            = 23,
	VMX_REASON_VMRESUME          = 24,
	VMX_REASON_VMWRITE           = 25,
	VMX_REASON_VMOFF             = 26,
	VMX_REASON_VMON              = 27,
	VMX_REASON_MOV_CR            = 28,
	VMX_REASON_MOV_DR            = 29,
	VMX_REASON_IO                = 30,
	VMX_REASON_RDMSR             = 31,
	VMX_REASON_WRMSR             = 32,
	VMX_REASON_VMENTRY_GUEST     = 33,
	VMX_REASON_VMENTRY_MSR       = 34,
	VMX_REASON_MWAIT             = 36,
	VMX_REASON_MTF               = 37,
	VMX_REASON_MONITOR           = 39,
	VMX_REASON_PAUSE             = 40,
	VMX_REASON_VMENTRY_MC        = 41,
	VMX_REASON_TPR_THRESHOLD     = 43,
	VMX_REASON_APIC_ACCESS       = 44,
	VMX_REASON_VIRTUALIZED_EOI   = 45,
	VMX_REASON_GDTR_IDTR         = 46,
	VMX_REASON_LDTR_TR           = 47,
	VMX_REASON_EPT_VIOLATION     = 48,
	VMX_REASON_EPT_MISCONFIG     = 49,
	VMX_REASON_EPT_INVEPT        = 50,
	VMX_REASON_RDTSCP            = 51,
	VMX_REASON_VMX_TIMER_EXPIRED = 52,
	VMX_REASON_INVVPID           = 53,
	VMX_REASON_WBINVD            = 54,
	VMX_REASON_XSETBV            = 55,
	VMX_REASON_APIC_WRITE        = 56,
	VMX_REASON_RDRAND            = 57,
	VMX_REASON_INVPCID           = 58,
	VMX_REASON_VMFUNC            = 59,
	VMX_REASON_ENCLS             = 60,
	VMX_REASON_RDSEED            = 61,
	VMX_REASON_PML_FULL          = 62,
	VMX_REASON_XSAVES            = 63,
	VMX_REASON_XRSTORS           = 64,
	VMX_REASON_SPP_EVENT         = 66,
	VMX_REASON_UMWAIT            = 67,
	VMX_REASON_TPAUSE            = 68
};

/* ---- interruption information (VMCS_CTRL_VMENTRY_IRQ_INFO,
 *      VMCS_RO_VMEXIT_IRQ_INFO, VMCS_RO_IDT_VECTOR_INFO) -------------------- */
HVSHIM_WIDE_ENUM_ {
	IRQ_INFO_EXT_IRQ       = 0 << 8,
	IRQ_INFO_NMI           = 2 << 8,
	IRQ_INFO_HARD_EXC      = 3 << 8,
	IRQ_INFO_SOFT_IRQ      = 4 << 8,
	IRQ_INFO_PRIV_SOFT_EXC = 5 << 8,
	IRQ_INFO_SOFT_EXC      = 6 << 8,
	IRQ_INFO_TYPE_MASK     = 7 << 8,
	IRQ_INFO_VECTOR_MASK   = 0xff,                         /* bits 7:0 (vector) */
	IRQ_INFO_ERROR_VALID   = 1 << 11,
	IRQ_INFO_VALID         = 1u << 31                      /* > INT_MAX, see top of file */
};

/* ---- guest interruptibility state (VMCS_GUEST_INTERRUPTIBILITY) --------- */
enum {
	GUEST_INTRBILITY_STI_BLOCKING   = 1 << 0,
	GUEST_INTRBILITY_MOVSS_BLOCKING = 1 << 1,
	GUEST_INTRBILITY_SMI_BLOCKING   = 1 << 2,
	GUEST_INTRBILITY_NMI_BLOCKING   = 1 << 3
};

/* ---- MSR numbers for hv_vcpu_enable_native_msr / managed_msr /
 *      set_msr_access / read_msr / write_msr.  For the counter and LBR banks
 *      only the first and last MSR are named, as on macOS. ------------------ */
HVSHIM_WIDE_ENUM_ {
	HV_MSR_IA32_TSC                      = 0x10,
	HV_MSR_IA32_SPEC_CTRL                = 0x48,
	HV_MSR_IA32_PRED_CMD                 = 0x49,
	HV_MSR_IA32_PMC0                     = 0xc1,
	HV_MSR_IA32_PMC7                     = 0xc8,
	HV_MSR_IA32_ARCH_CAPABILITIES        = 0x10a,
	HV_MSR_IA32_FLUSH_CMD                = 0x10b,
	HV_MSR_IA32_SYSENTER_CS              = 0x174,
	HV_MSR_IA32_SYSENTER_ESP             = 0x175,
	HV_MSR_IA32_SYSENTER_EIP             = 0x176,
	HV_MSR_IA32_PERFEVNTSEL0             = 0x186,
	HV_MSR_IA32_PERFEVNTSEL7             = 0x18d,
	HV_MSR_LBR_SELECT                    = 0x1c8,
	HV_MSR_LASTBRANCH_TOS                = 0x1c9,
	HV_MSR_LASTINT_FROM_IP               = 0x1dd,
	HV_MSR_LASTINT_TO_IP                 = 0x1de,
	HV_MSR_IA32_DEBUGCTL                 = 0x1d9,
	HV_MSR_IA32_FIXED_CTR0               = 0x309,
	HV_MSR_IA32_FIXED_CTR1               = 0x30a,
	HV_MSR_IA32_FIXED_CTR2               = 0x30b,
	HV_MSR_IA32_FIXED_CTR3               = 0x30c,
	HV_MSR_PERF_METRICS                  = 0x329,
	HV_MSR_IA32_FIXED_CTR_CTRL           = 0x38d,
	HV_MSR_IA32_PERF_GLOBAL_STATUS       = 0x38e,
	HV_MSR_IA32_PERF_GLOBAL_CTRL         = 0x38f,
	HV_MSR_IA32_PERF_GLOBAL_STATUS_RESET = 0x390,
	HV_MSR_IA32_PERF_GLOBAL_STATUS_SET   = 0x391,
	HV_MSR_IA32_PERF_GLOBAL_INUSE        = 0x392,
	HV_MSR_IA32_A_PMC0                   = 0x4c1,
	HV_MSR_IA32_A_PMC7                   = 0x4c8,
	HV_MSR_LASTBRANCH_0_FROM_IP          = 0x680,
	HV_MSR_LASTBRANCH_31_FROM_IP         = 0x69f,
	HV_MSR_LASTBRANCH_0_TO_IP            = 0x6c0,
	HV_MSR_LASTBRANCH_31_TO_IP           = 0x6df,
	HV_MSR_IA32_XSS                      = 0xda0,
	HV_MSR_LASTBRANCH_INFO_0             = 0xdc0,
	HV_MSR_LASTBRANCH_INFO_31            = 0xddf,
	HV_MSR_IA32_EFER                     = 0xc0000080u,
	HV_MSR_IA32_STAR                     = 0xc0000081u,
	HV_MSR_IA32_LSTAR                    = 0xc0000082u,
	HV_MSR_IA32_CSTAR                    = 0xc0000083u,
	HV_MSR_IA32_FMASK                    = 0xc0000084u,
	HV_MSR_IA32_FS_BASE                  = 0xc0000100u,
	HV_MSR_IA32_GS_BASE                  = 0xc0000101u,
	HV_MSR_IA32_KERNEL_GS_BASE           = 0xc0000102u,
	HV_MSR_IA32_TSC_AUX                  = 0xc0000103u
};

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* !__ASSEMBLER__ */

#endif /* HVSHIM_HYPERVISOR_HV_ARCH_VMX_H */
