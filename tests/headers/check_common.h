/*
 * Value checks shared by the C (values.c) and C++ (values.cpp) header tests.
 * Compile-time checks use HT_STATIC; runtime checks go through HT_CHECK and
 * are counted by ht_run_common_checks().
 */
#ifndef HVSHIM_TESTS_HEADERS_CHECK_COMMON_H
#define HVSHIM_TESTS_HEADERS_CHECK_COMMON_H

#include <Hypervisor/Hypervisor.h>
#include <Hypervisor/hv.h>
#include <Hypervisor/hv_vmx.h>
#include <Hypervisor/hv_arch_vmx.h>
#include <Hypervisor/hv_arch_x86.h>
#include <Hypervisor/hv_error.h>
#include <Hypervisor/hv_types.h>
#include <hvshim/hvshim.h>

#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#define HT_CAT2_(a, b) a##b
#define HT_CAT_(a, b) HT_CAT2_(a, b)
#if defined(__cplusplus)
#define HT_STATIC(e) static_assert(e, #e)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define HT_STATIC(e) _Static_assert(e, #e)
#elif defined(__COUNTER__) /* C99: negative array size on failure */
#define HT_STATIC(e) typedef char HT_CAT_(ht_static_check_, __COUNTER__)[(e) ? 1 : -1]
#else
#define HT_STATIC(e) typedef char HT_CAT_(ht_static_check_, __LINE__)[(e) ? 1 : -1]
#endif

/* ---- the constants must be enumerators, never macros --------------------- */
#if defined(HV_SUCCESS) || defined(HV_ERROR) || defined(HV_UNSUPPORTED) ||         \
    defined(HV_MEMORY_READ) || defined(HV_VM_DEFAULT) || defined(HV_VCPU_DEFAULT) || \
    defined(HV_X86_RIP) || defined(HV_X86_REGISTERS_MAX) || defined(VMCS_VPID) ||    \
    defined(VMCS_GUEST_CR0) || defined(VMCS_GUEST_CS_LIMIT) ||                      \
    defined(VMCS_GUEST_GS_LIMIT) || defined(VMCS_HOST_RSP) ||                       \
    defined(VMCS_RO_EXIT_REASON) || defined(VMCS_GUEST_INTERRUPTIBILITY) ||         \
    defined(VMX_BASIC_TRUE_CTLS) || defined(PIN_BASED_INTR) ||                      \
    defined(CPU_BASED_HLT) || defined(CPU_BASED_SECONDARY_CTLS) ||                  \
    defined(CPU_BASED2_EPT) || defined(VMEXIT_HOST_IA32E) ||                        \
    defined(VMENTRY_GUEST_IA32E) || defined(VMX_REASON_HLT) ||                      \
    defined(IRQ_INFO_VALID) || defined(GUEST_INTRBILITY_STI_BLOCKING) ||            \
    defined(HV_MSR_IA32_EFER) || defined(HV_VMX_CAP_PINBASED) ||                    \
    defined(HV_SHADOW_VMCS_READ) || defined(HV_DEADLINE_FOREVER) ||                 \
    defined(VMX_EPT_VPID_SUPPORT_AD)
#error "Hypervisor constants must be enumerators, not macros"
#endif

/* ---- hv_error.h ---------------------------------------------------------- */
HT_STATIC(sizeof(hv_return_t) == sizeof(int));
HT_STATIC((hv_return_t)-1 < 0); /* signed, like mach_error_t */
HT_STATIC(sizeof(HV_ERROR) == sizeof(int));
HT_STATIC(HV_SUCCESS == 0);
HT_STATIC(HV_ERROR < 0 && HV_UNSUPPORTED < 0);
HT_STATIC((unsigned)HV_ERROR == 0xfae94001u);
HT_STATIC((unsigned)HV_BUSY == 0xfae94002u);
HT_STATIC((unsigned)HV_BAD_ARGUMENT == 0xfae94003u);
HT_STATIC((unsigned)HV_ILLEGAL_GUEST_STATE == 0xfae94004u);
HT_STATIC((unsigned)HV_NO_RESOURCES == 0xfae94005u);
HT_STATIC((unsigned)HV_NO_DEVICE == 0xfae94006u);
HT_STATIC((unsigned)HV_DENIED == 0xfae94007u);
HT_STATIC((unsigned)HV_EXISTS == 0xfae94008u);
HT_STATIC((unsigned)HV_UNSUPPORTED == 0xfae9400fu);
HT_STATIC(HV_ERROR == (int)0xfae94001u); /* gcc/clang: modular conversion */
HT_STATIC(HV_UNSUPPORTED == -0x0516BFF1);

/* ---- hv_types.h ---------------------------------------------------------- */
HT_STATIC(HV_CAP_VCPUMAX == 0 && HV_CAP_ADDRSPACEMAX == 1);
HT_STATIC(HV_VM_SPACE_DEFAULT == 0);
HT_STATIC(HV_VM_DEFAULT == 0 && HV_VM_SPECIFY_MITIGATIONS == 1 && HV_VM_MITIGATION_A_ENABLE == 2 &&
          HV_VM_MITIGATION_B_ENABLE == 4 && HV_VM_MITIGATION_C_ENABLE == 8 &&
          HV_VM_MITIGATION_D_ENABLE == 16 && HV_VM_MITIGATION_E_ENABLE == 64 &&
          HV_VM_ACCEL_APIC == 1024);
HT_STATIC(HV_VCPU_DEFAULT == 0 && HV_VCPU_ACCEL_RDPMC == 1 && HV_VCPU_TSC_RELATIVE == 2);
HT_STATIC(HV_MEMORY_READ == 1 && HV_MEMORY_WRITE == 2 && HV_MEMORY_EXEC == 4 && HV_MEMORY_UEXEC == 8 &&
          HV_MEMORY_MAXPROT == 16 && HV_MEMORY_MAXPROT_READ == 32 && HV_MEMORY_MAXPROT_WRITE == 64 &&
          HV_MEMORY_MAXPROT_EXEC == 128 && HV_MEMORY_MAXPROT_UEXEC == 256);
HT_STATIC(HV_MSR_NONE == 0 && HV_MSR_READ == 1 && HV_MSR_WRITE == 2);
HT_STATIC(HV_ION_NONE == 0 && HV_ION_ANY_VALUE == 2 && HV_ION_ANY_SIZE == 4 && HV_ION_EXIT_FULL == 8);
HT_STATIC(HV_VM_EXITINFO_VMX == 1 && HV_VM_EXITINFO_APIC_ACCESS_READ == 7);
HT_STATIC(HV_APIC_CTRL_DEFAULT == 0 && HV_APIC_CTRL_IOAPIC_EOI == 8);
HT_STATIC(sizeof(hv_capability_t) == 8 && sizeof(hv_vm_options_t) == 8 && sizeof(hv_vcpu_options_t) == 8 &&
          sizeof(hv_memory_flags_t) == 8 && sizeof(hv_gpaddr_t) == 8 && sizeof(hv_msr_flags_t) == 4 &&
          sizeof(hv_vm_space_t) == sizeof(unsigned) && sizeof(hv_vcpuid_t) == sizeof(unsigned) &&
          sizeof(hv_uvaddr_t) == sizeof(void *) && sizeof(hv_shadow_flags_t) == 8 &&
          sizeof(hv_vmx_msr_info_t) == 8 && sizeof(hv_ion_flags_t) == 4);
HT_STATIC((hv_vcpuid_t)-1 > 0 && (hv_gpaddr_t)-1 > 0 && (hv_memory_flags_t)-1 > 0);

/* ---- hv_arch_x86.h: Apple's order, not KVM's ----------------------------- */
HT_STATIC(sizeof(hv_x86_reg_t) == sizeof(int));
HT_STATIC(HV_X86_RIP == 0 && HV_X86_RFLAGS == 1 && HV_X86_RAX == 2 && HV_X86_RCX == 3 && HV_X86_RDX == 4 &&
          HV_X86_RBX == 5 && HV_X86_RSI == 6 && HV_X86_RDI == 7 && HV_X86_RSP == 8 && HV_X86_RBP == 9);
HT_STATIC(HV_X86_R8 == 10 && HV_X86_R9 == 11 && HV_X86_R10 == 12 && HV_X86_R11 == 13 && HV_X86_R12 == 14 &&
          HV_X86_R13 == 15 && HV_X86_R14 == 16 && HV_X86_R15 == 17);
HT_STATIC(HV_X86_CS == 18 && HV_X86_SS == 19 && HV_X86_DS == 20 && HV_X86_ES == 21 && HV_X86_FS == 22 &&
          HV_X86_GS == 23);
HT_STATIC(HV_X86_IDT_BASE == 24 && HV_X86_IDT_LIMIT == 25 && HV_X86_GDT_BASE == 26 &&
          HV_X86_GDT_LIMIT == 27 && HV_X86_LDTR == 28 && HV_X86_LDT_BASE == 29 && HV_X86_LDT_LIMIT == 30 &&
          HV_X86_LDT_AR == 31 && HV_X86_TR == 32 && HV_X86_TSS_BASE == 33 && HV_X86_TSS_LIMIT == 34 &&
          HV_X86_TSS_AR == 35);
HT_STATIC(HV_X86_CR0 == 36 && HV_X86_CR1 == 37 && HV_X86_CR2 == 38 && HV_X86_CR3 == 39 && HV_X86_CR4 == 40);
HT_STATIC(HV_X86_DR0 == 41 && HV_X86_DR1 == 42 && HV_X86_DR2 == 43 && HV_X86_DR3 == 44 && HV_X86_DR4 == 45 &&
          HV_X86_DR5 == 46 && HV_X86_DR6 == 47 && HV_X86_DR7 == 48);
HT_STATIC(HV_X86_TPR == 49 && HV_X86_XCR0 == 50 && HV_X86_REGISTERS_MAX == 51);
HT_STATIC(__HV_X86_RIP == HV_X86_RIP && __HV_X86_RAX == HV_X86_RAX && __HV_X86_XCR0 == HV_X86_XCR0 &&
          __HV_X86_REGISTERS_MAX == HV_X86_REGISTERS_MAX);

/* ---- hv_arch_vmx.h: VMCS encodings (sample of every width/type group) ---- */
HT_STATIC(VMCS_VPID == 0x0000 && VMCS_CTRL_POSTED_INT_N_VECTOR == 0x0002 && VMCS_CTRL_EPTP_INDEX == 0x0004);
HT_STATIC(VMCS_GUEST_ES == 0x0800 && VMCS_GUEST_CS == 0x0802 && VMCS_GUEST_TR == 0x080e &&
          VMCS_GUEST_INT_STATUS == 0x0810 && VMCS_GUESTPML_INDEX == 0x0812);
HT_STATIC(VMCS_HOST_ES == 0x0c00 && VMCS_HOST_TR == 0x0c0c);
HT_STATIC(VMCS_CTRL_IO_BITMAP_A == 0x2000 && VMCS_CTRL_MSR_BITMAPS == 0x2004 && VMCS_CTRL_TSC_OFFSET == 0x2010 &&
          VMCS_CTRL_APIC_ACCESS == 0x2014 && VMCS_CTRL_EPTP == 0x201a && VMCS_CTRL_EOI_EXIT_BITMAP_3 == 0x2022 &&
          VMCS_CTRL_ENCLS_EXITING_BITMAP == 0x202e && VMCS_CTRL_SPP_TABLE == 0x2030 &&
          VMCS_CTRL_TSC_MULTIPLIER == 0x2032);
HT_STATIC(VMCS_GUEST_PHYSICAL_ADDRESS == 0x2400 && VMCS_GUEST_LINK_POINTER == 0x2800 &&
          VMCS_GUEST_IA32_DEBUGCTL == 0x2802 && VMCS_GUEST_IA32_PAT == 0x2804 && VMCS_GUEST_IA32_EFER == 0x2806 &&
          VMCS_GUEST_PDPTE0 == 0x280a && VMCS_GUEST_PDPTE3 == 0x2810 && VMCS_GUEST_IA32_BNDCFGS == 0x2812 &&
          VMCS_GUEST_IA32_RTIT_CTL == 0x2814);
HT_STATIC(VMCS_HOST_IA32_PAT == 0x2c00 && VMCS_HOST_IA32_EFER == 0x2c02 && VMCS_HOST_IA32_PERF_GLOBAL_CTRL == 0x2c04);
HT_STATIC(VMCS_CTRL_PIN_BASED == 0x4000 && VMCS_CTRL_CPU_BASED == 0x4002 && VMCS_CTRL_EXC_BITMAP == 0x4004 &&
          VMCS_CTRL_VMEXIT_CONTROLS == 0x400c && VMCS_CTRL_VMENTRY_CONTROLS == 0x4012 &&
          VMCS_CTRL_VMENTRY_IRQ_INFO == 0x4016 && VMCS_CTRL_VMENTRY_INSTR_LEN == 0x401a &&
          VMCS_CTRL_TPR_THRESHOLD == 0x401c && VMCS_CTRL_CPU_BASED2 == 0x401e && VMCS_CTRL_PLE_WINDOW == 0x4022);
HT_STATIC(VMCS_RO_INSTR_ERROR == 0x4400 && VMCS_RO_EXIT_REASON == 0x4402 && VMCS_RO_VMEXIT_IRQ_INFO == 0x4404 &&
          VMCS_RO_VMEXIT_IRQ_ERROR == 0x4406 && VMCS_RO_IDT_VECTOR_INFO == 0x4408 &&
          VMCS_RO_IDT_VECTOR_ERROR == 0x440a && VMCS_RO_VMEXIT_INSTR_LEN == 0x440c &&
          VMCS_RO_VMX_INSTR_INFO == 0x440e);
HT_STATIC(VMCS_GUEST_ES_LIMIT == 0x4800 && VMCS_GUEST_CS_LIMIT == 0x4802 && VMCS_GUEST_GS_LIMIT == 0x480a &&
          VMCS_GUEST_GDTR_LIMIT == 0x4810 && VMCS_GUEST_IDTR_LIMIT == 0x4812 && VMCS_GUEST_ES_AR == 0x4814 &&
          VMCS_GUEST_CS_AR == 0x4816 && VMCS_GUEST_TR_AR == 0x4822);
HT_STATIC(VMCS_GUEST_INTERRUPTIBILITY == 0x4824 && VMCS_GUEST_IGNORE_IRQ == 0x4824 &&
          VMCS_GUEST_ACTIVITY_STATE == 0x4826 && VMCS_GUEST_SMBASE == 0x4828 &&
          VMCS_GUEST_IA32_SYSENTER_CS == 0x482a && VMCS_GUEST_VMX_TIMER_VALUE == 0x482e &&
          VMCS_HOST_IA32_SYSENTER_CS == 0x4c00);
HT_STATIC(VMCS_CTRL_CR0_MASK == 0x6000 && VMCS_CTRL_CR4_MASK == 0x6002 && VMCS_CTRL_CR0_SHADOW == 0x6004 &&
          VMCS_CTRL_CR4_SHADOW == 0x6006 && VMCS_CTRL_CR3_VALUE0 == 0x6008 && VMCS_CTRL_CR3_VALUE3 == 0x600e);
HT_STATIC(VMCS_RO_EXIT_QUALIFIC == 0x6400 && VMCS_RO_IO_RCX == 0x6402 && VMCS_RO_IO_RIP == 0x6408 &&
          VMCS_RO_GUEST_LIN_ADDR == 0x640a);
HT_STATIC(VMCS_GUEST_CR0 == 0x6800 && VMCS_GUEST_CR3 == 0x6802 && VMCS_GUEST_CR4 == 0x6804 &&
          VMCS_GUEST_ES_BASE == 0x6806 && VMCS_GUEST_CS_BASE == 0x6808 && VMCS_GUEST_GS_BASE == 0x6810 &&
          VMCS_GUEST_LDTR_BASE == 0x6812 && VMCS_GUEST_TR_BASE == 0x6814 && VMCS_GUEST_GDTR_BASE == 0x6816 &&
          VMCS_GUEST_IDTR_BASE == 0x6818 && VMCS_GUEST_DR7 == 0x681a && VMCS_GUEST_RSP == 0x681c &&
          VMCS_GUEST_RIP == 0x681e && VMCS_GUEST_RFLAGS == 0x6820 && VMCS_GUEST_DEBUG_EXC == 0x6822 &&
          VMCS_GUEST_SYSENTER_ESP == 0x6824 && VMCS_GUEST_SYSENTER_EIP == 0x6826);
HT_STATIC(VMCS_HOST_CR0 == 0x6c00 && VMCS_HOST_CR3 == 0x6c02 && VMCS_HOST_CR4 == 0x6c04 &&
          VMCS_HOST_FS_BASE == 0x6c06 && VMCS_HOST_GS_BASE == 0x6c08 && VMCS_HOST_TR_BASE == 0x6c0a &&
          VMCS_HOST_GDTR_BASE == 0x6c0c && VMCS_HOST_IDTR_BASE == 0x6c0e &&
          VMCS_HOST_IA32_SYSENTER_ESP == 0x6c10 && VMCS_HOST_IA32_SYSENTER_EIP == 0x6c12 &&
          VMCS_HOST_RSP == 0x6c14 && __VMCS_HOST_RSP == 0x6c14 && VMCS_HOST_RIP == 0x6c16);
HT_STATIC(VMCS_MAX == 0x6d00 && VMCS_INVALID == VMCS_MAX);

/* ---- control bits ------------------------------------------------------- */
HT_STATIC(PIN_BASED_INTR == 0x01 && PIN_BASED_NMI == 0x08 && PIN_BASED_VIRTUAL_NMI == 0x20 &&
          PIN_BASED_PREEMPTION_TIMER == 0x40 && PIN_BASED_POSTED_INTR == 0x80);
HT_STATIC(CPU_BASED_IRQ_WND == 0x4 && CPU_BASED_TSC_OFFSET == 0x8 && CPU_BASED_HLT == 0x80 &&
          CPU_BASED_INVLPG == 0x200 && CPU_BASED_RDTSC == 0x1000 && CPU_BASED_CR3_LOAD == 0x8000 &&
          CPU_BASED_CR8_LOAD == 0x80000 && CPU_BASED_CR8_STORE == 0x100000 &&
          CPU_BASED_TPR_SHADOW == 0x200000 && CPU_BASED_UNCOND_IO == 0x1000000 &&
          CPU_BASED_IO_BITMAPS == 0x2000000 && CPU_BASED_MTF == 0x8000000 &&
          CPU_BASED_MSR_BITMAPS == 0x10000000 && CPU_BASED_PAUSE == 0x40000000);
HT_STATIC(CPU_BASED2_VIRTUAL_APIC == 0x1 && CPU_BASED2_EPT == 0x2 && CPU_BASED2_RDTSCP == 0x8 &&
          CPU_BASED2_VPID == 0x20 && CPU_BASED2_UNRESTRICTED == 0x80 && CPU_BASED2_VMCS_SHADOW == 0x4000 &&
          CPU_BASED2_XSAVES_XRSTORS == 0x100000 && CPU_BASED2_TSC_SCALING == 0x2000000 &&
          CPU_BASED2_ENCLV_EXIT_MAP == 0x10000000);
HT_STATIC(VMX_EPT_VPID_SUPPORT_AD == 0x200000 && VMX_EPT_VPID_SUPPORT_EXONLY == 1);
HT_STATIC(VMEXIT_SAVE_DBG_CONTROLS == 0x4 && VMEXIT_HOST_IA32E == 0x200 && VMEXIT_ACK_INTR == 0x8000 &&
          VMEXIT_SAVE_EFER == 0x100000 && VMEXIT_LOAD_EFER == 0x200000 && VMEXIT_LOAD_CET_STATE == 0x10000000);
HT_STATIC(VMENTRY_LOAD_DBG_CONTROLS == 0x4 && VMENTRY_GUEST_IA32E == 0x200 && VMENTRY_LOAD_EFER == 0x8000 &&
          VMENTRY_LOAD_CET_STATE == 0x100000);
HT_STATIC(IRQ_INFO_EXT_IRQ == 0 && IRQ_INFO_NMI == 0x200 && IRQ_INFO_HARD_EXC == 0x300 &&
          IRQ_INFO_SOFT_IRQ == 0x400 && IRQ_INFO_PRIV_SOFT_EXC == 0x500 && IRQ_INFO_SOFT_EXC == 0x600 &&
          IRQ_INFO_TYPE_MASK == 0x700 && IRQ_INFO_ERROR_VALID == 0x800);
HT_STATIC(GUEST_INTRBILITY_STI_BLOCKING == 1 && GUEST_INTRBILITY_MOVSS_BLOCKING == 2 &&
          GUEST_INTRBILITY_SMI_BLOCKING == 4 && GUEST_INTRBILITY_NMI_BLOCKING == 8);

/* ---- constants above INT_MAX: positive, exact, usable as 32/64-bit masks -- */
HT_STATIC(CPU_BASED_SECONDARY_CTLS == 0x80000000u);
HT_STATIC(CPU_BASED_SECONDARY_CTLS > 0);
HT_STATIC((uint64_t)CPU_BASED_SECONDARY_CTLS == UINT64_C(0x80000000));
HT_STATIC((UINT64_C(0) | CPU_BASED_SECONDARY_CTLS) == UINT64_C(0x80000000));
HT_STATIC((UINT64_C(0xffffffff00000000) | CPU_BASED_SECONDARY_CTLS | CPU_BASED_HLT) ==
          UINT64_C(0xffffffff80000080));
HT_STATIC(IRQ_INFO_VALID == 0x80000000u && IRQ_INFO_VALID > 0);
HT_STATIC((uint64_t)(IRQ_INFO_VALID | IRQ_INFO_HARD_EXC | 14) == UINT64_C(0x8000030e));
HT_STATIC(VMX_BASIC_TRUE_CTLS == (UINT64_C(1) << 55) && VMX_BASIC_TRUE_CTLS > 0);
HT_STATIC(HV_DEADLINE_FOREVER == UINT64_MAX);
HT_STATIC(HV_MSR_IA32_EFER == 0xc0000080u && HV_MSR_IA32_EFER > 0 && (uint64_t)HV_MSR_IA32_EFER == 0xc0000080u);
HT_STATIC(HV_MSR_IA32_STAR == 0xc0000081u && HV_MSR_IA32_LSTAR == 0xc0000082u &&
          HV_MSR_IA32_CSTAR == 0xc0000083u && HV_MSR_IA32_FMASK == 0xc0000084u &&
          HV_MSR_IA32_FS_BASE == 0xc0000100u && HV_MSR_IA32_GS_BASE == 0xc0000101u &&
          HV_MSR_IA32_KERNEL_GS_BASE == 0xc0000102u && HV_MSR_IA32_TSC_AUX == 0xc0000103u);
HT_STATIC(HV_MSR_IA32_TSC == 0x10 && HV_MSR_IA32_SPEC_CTRL == 0x48 && HV_MSR_IA32_SYSENTER_CS == 0x174 &&
          HV_MSR_IA32_SYSENTER_EIP == 0x176 && HV_MSR_IA32_DEBUGCTL == 0x1d9 && HV_MSR_IA32_PMC7 == 0xc8 &&
          HV_MSR_IA32_PERFEVNTSEL7 == 0x18d && HV_MSR_IA32_A_PMC7 == 0x4c8 &&
          HV_MSR_LASTBRANCH_31_FROM_IP == 0x69f && HV_MSR_LASTBRANCH_31_TO_IP == 0x6df &&
          HV_MSR_LASTBRANCH_INFO_31 == 0xddf && HV_MSR_IA32_XSS == 0xda0);

/* ---- exit reasons -------------------------------------------------------- */
HT_STATIC(VMX_REASON_EXC_NMI == 0 && VMX_REASON_IRQ == 1 && VMX_REASON_TRIPLE_FAULT == 2 &&
          VMX_REASON_IRQ_WND == 7 && VMX_REASON_TASK == 9 && VMX_REASON_CPUID == 10 && VMX_REASON_HLT == 12 &&
          VMX_REASON_VMCALL == 18 && VMX_REASON_MOV_CR == 28 && VMX_REASON_IO == 30 &&
          VMX_REASON_RDMSR == 31 && VMX_REASON_WRMSR == 32 && VMX_REASON_VMENTRY_GUEST == 33 &&
          VMX_REASON_MWAIT == 36 && VMX_REASON_MTF == 37 && VMX_REASON_MONITOR == 39 &&
          VMX_REASON_PAUSE == 40 && VMX_REASON_TPR_THRESHOLD == 43 && VMX_REASON_APIC_ACCESS == 44 &&
          VMX_REASON_EPT_VIOLATION == 48 && VMX_REASON_EPT_MISCONFIG == 49 &&
          VMX_REASON_VMX_TIMER_EXPIRED == 52 && VMX_REASON_XSETBV == 55 && VMX_REASON_XRSTORS == 64 &&
          VMX_REASON_SPP_EVENT == 66 && VMX_REASON_TPAUSE == 68);
HT_STATIC(sizeof(VMX_REASON_HLT) == sizeof(int) && VMX_REASON_HLT == 12);

/* ---- hv_vmx.h ------------------------------------------------------------ */
HT_STATIC(sizeof(hv_vmx_capability_t) == sizeof(int));
HT_STATIC(HV_VMX_CAP_PINBASED == 0 && HV_VMX_CAP_PROCBASED == 1 && HV_VMX_CAP_PROCBASED2 == 2 &&
          HV_VMX_CAP_ENTRY == 3 && HV_VMX_CAP_EXIT == 4 && HV_VMX_CAP_BASIC == 5 &&
          HV_VMX_CAP_TRUE_PINBASED == 6 && HV_VMX_CAP_TRUE_EXIT == 9 && HV_VMX_CAP_MISC == 10 &&
          HV_VMX_CAP_CR0_FIXED0 == 11 && HV_VMX_CAP_CR4_FIXED1 == 14 && HV_VMX_CAP_VMCS_ENUM == 15 &&
          HV_VMX_CAP_EPT_VPID_CAP == 16 && HV_VMX_CAP_PREEMPTION_TIMER == 32);
HT_STATIC(HV_SHADOW_VMCS_NONE == 0 && HV_SHADOW_VMCS_READ == 1 && HV_SHADOW_VMCS_WRITE == 2);
HT_STATIC(HV_VMX_INFO_MSR_IA32_ARCH_CAPABILITIES == 0 && HV_VMX_VALID_MSR_IA32_PERFEVNTSEL == 2 &&
          HV_VMX_NEED_MSR_IA32_SPEC_CTRL == 8);

/* ---- runtime checks ------------------------------------------------------ */
static int ht_failures;
#define HT_CHECK(e)                                                            \
	do {                                                                       \
		if (!(e)) {                                                            \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #e); \
			++ht_failures;                                                     \
		}                                                                      \
	} while (0)

/* The capability -> control helper every client writes (hvdos, xnu tests). */
static uint64_t ht_cap2ctrl(uint64_t cap, uint64_t ctrl)
{
	return (ctrl | (cap & 0xffffffff)) & (cap >> 32);
}

/* Exit dispatch in the style of hvdos/xhyve: constants as case labels. */
static int ht_classify_exit(uint64_t reason)
{
	switch (reason) {
	case VMX_REASON_EXC_NMI: return 1;
	case VMX_REASON_IRQ: return 2;
	case VMX_REASON_HLT: return 3;
	case VMX_REASON_EPT_VIOLATION: return 4;
	case CPU_BASED_SECONDARY_CTLS: return 5; /* > INT_MAX as a case label */
	case VMX_BASIC_TRUE_CTLS: return 6;      /* 64-bit case label */
	case HV_DEADLINE_FOREVER: return 7;
	default: return 0;
	}
}

static int ht_run_common_checks(void)
{
	/* volatile: force the arithmetic to happen at run time */
	volatile uint64_t v64 = UINT64_C(0x0000000500000000);
	volatile uint32_t v32 = 0x00000005u;
	volatile uint64_t info64 = UINT64_C(0x8000030e); /* valid #PF, hard exception */
	volatile uint32_t info32 = 0x8000030eu;
	volatile int rc = HV_BAD_ARGUMENT;
	uint64_t x64;
	uint32_t x32;

	/* OR/AND with bit 31 on 64- and 32-bit values: no sign extension */
	x64 = v64 | CPU_BASED_SECONDARY_CTLS;
	HT_CHECK(x64 == UINT64_C(0x0000000580000000));
	x64 = v64 | CPU_BASED_SECONDARY_CTLS | CPU_BASED_HLT | CPU_BASED_CR8_LOAD | CPU_BASED_CR8_STORE;
	HT_CHECK(x64 == UINT64_C(0x0000000580180080));
	HT_CHECK((x64 & CPU_BASED_SECONDARY_CTLS) == CPU_BASED_SECONDARY_CTLS);
	HT_CHECK((x64 & CPU_BASED_SECONDARY_CTLS) != 0);
	HT_CHECK(((v64 & CPU_BASED_SECONDARY_CTLS) == 0));
	x32 = v32 | CPU_BASED_SECONDARY_CTLS;
	HT_CHECK(x32 == 0x80000005u);
	x32 &= ~(uint32_t)CPU_BASED_SECONDARY_CTLS;
	HT_CHECK(x32 == 0x5u);
	x64 = UINT64_C(0xffffffffffffffff) & ~(uint64_t)CPU_BASED_SECONDARY_CTLS;
	HT_CHECK(x64 == UINT64_C(0xffffffff7fffffff));
	x64 = v64 & ~(uint64_t)CPU_BASED_HLT; /* int-typed bit: sign extension of ~ is right */
	HT_CHECK(x64 == v64);

	/* interruption info fields, 32- and 64-bit */
	HT_CHECK((info64 & IRQ_INFO_VALID) == IRQ_INFO_VALID);
	HT_CHECK((info32 & IRQ_INFO_VALID) == IRQ_INFO_VALID);
	HT_CHECK((info64 & (IRQ_INFO_VALID | IRQ_INFO_TYPE_MASK | IRQ_INFO_VECTOR_MASK)) ==
	         (IRQ_INFO_VALID | IRQ_INFO_HARD_EXC | 14));
	HT_CHECK((info64 & IRQ_INFO_TYPE_MASK) == IRQ_INFO_HARD_EXC);
	HT_CHECK((info64 & IRQ_INFO_ERROR_VALID) == 0);
	x64 = (uint64_t)0 | IRQ_INFO_VALID | IRQ_INFO_SOFT_EXC | 0x21;
	HT_CHECK(x64 == UINT64_C(0x80000621));

	/* VMX_BASIC_TRUE_CTLS on a 64-bit MSR value */
	x64 = UINT64_C(0x00da040000000012);
	HT_CHECK((x64 & VMX_BASIC_TRUE_CTLS) != 0);
	HT_CHECK((UINT64_C(0x0000040000000012) & VMX_BASIC_TRUE_CTLS) == 0);

	/* capability canonicalisation as clients do it */
	x64 = ht_cap2ctrl(UINT64_C(0xfff9fffe0401e172),
	                  CPU_BASED_HLT | CPU_BASED_CR8_LOAD | CPU_BASED_CR8_STORE | CPU_BASED_SECONDARY_CTLS);
	HT_CHECK(x64 == UINT64_C(0x8419e1f2));
	x64 = ht_cap2ctrl(UINT64_C(0x0000003f00000016), PIN_BASED_INTR | PIN_BASED_NMI);
	HT_CHECK(x64 == UINT64_C(0x1f));

	/* error codes as ints */
	HT_CHECK(rc == HV_BAD_ARGUMENT);
	HT_CHECK(rc < 0);
	HT_CHECK((uint32_t)rc == 0xfae94003u);
	HT_CHECK((unsigned)HV_ERROR == 0xfae94001u);

	/* exits and 64-bit case labels */
	HT_CHECK(ht_classify_exit(12) == 3);
	HT_CHECK(ht_classify_exit(48) == 4);
	HT_CHECK(ht_classify_exit(UINT64_C(0x80000000)) == 5);
	HT_CHECK(ht_classify_exit(UINT64_C(1) << 55) == 6);
	HT_CHECK(ht_classify_exit(UINT64_MAX) == 7);
	HT_CHECK(ht_classify_exit(UINT64_C(0xffffffff80000000)) == 0);

	/* register enum as array index, Apple order */
	{
		static const char *const names[HV_X86_REGISTERS_MAX] = {"rip", "rflags", "rax", "rcx"};
		hv_x86_reg_t r = HV_X86_RCX;
		HT_CHECK(names[r][1] == 'c');
		HT_CHECK(names[HV_X86_RFLAGS][1] == 'f');
	}

	/* MSR numbers convert exactly to the uint32_t parameter type */
	x32 = HV_MSR_IA32_KERNEL_GS_BASE;
	HT_CHECK(x32 == 0xc0000102u);
	x64 = HV_MSR_IA32_EFER;
	HT_CHECK(x64 == UINT64_C(0xc0000080));

	x64 = HV_DEADLINE_FOREVER;
	HT_CHECK(x64 == UINT64_MAX);
	return ht_failures;
}

#endif /* HVSHIM_TESTS_HEADERS_CHECK_COMMON_H */
