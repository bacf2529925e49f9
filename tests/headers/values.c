/*
 * C header test: values, types and prototypes of <Hypervisor/...> and
 * <hvshim/hvshim.h>.  Compiled as C99 and C11 with -Wall -Wextra -Werror
 * -pedantic; does not call any hv_* function, so it needs no library.
 */
#include "check_common.h"
#include "inc_funcs.h"

/*
 * Prototype checks: a compatible redeclaration is fine in C, an incompatible
 * one (different parameter or return types, const-ness of pointees) is a
 * hard error.  These are the macOS signatures.
 */
hv_return_t hv_capability(hv_capability_t capability, uint64_t *value);
hv_return_t hv_vm_create(hv_vm_options_t flags);
hv_return_t hv_vm_destroy(void);
hv_return_t hv_vm_space_create(hv_vm_space_t *asid);
hv_return_t hv_vm_space_destroy(hv_vm_space_t asid);
hv_return_t hv_vm_map(const void *uva, uint64_t gpa, size_t size, uint64_t flags);
hv_return_t hv_vm_unmap(uint64_t gpa, size_t size);
hv_return_t hv_vm_protect(uint64_t gpa, size_t size, uint64_t flags);
hv_return_t hv_vm_map_space(unsigned asid, const void *uva, uint64_t gpa, size_t size, uint64_t flags);
hv_return_t hv_vm_unmap_space(unsigned asid, uint64_t gpa, size_t size);
hv_return_t hv_vm_protect_space(unsigned asid, uint64_t gpa, size_t size, uint64_t flags);
hv_return_t hv_vm_sync_tsc(uint64_t tsc);
hv_return_t hv_vcpu_create(unsigned *vcpu, uint64_t flags);
hv_return_t hv_vcpu_destroy(unsigned vcpu);
hv_return_t hv_vcpu_set_space(unsigned vcpu, unsigned asid);
hv_return_t hv_vcpu_read_register(unsigned vcpu, hv_x86_reg_t reg, uint64_t *value);
hv_return_t hv_vcpu_write_register(unsigned vcpu, hv_x86_reg_t reg, uint64_t value);
hv_return_t hv_vcpu_read_fpstate(unsigned vcpu, void *buffer, size_t size);
hv_return_t hv_vcpu_write_fpstate(unsigned vcpu, void *buffer, size_t size); /* not const */
hv_return_t hv_vcpu_enable_native_msr(unsigned vcpu, uint32_t msr, bool enable);
hv_return_t hv_vcpu_enable_managed_msr(unsigned vcpu, uint32_t msr, bool enable);
hv_return_t hv_vcpu_set_msr_access(unsigned vcpu, uint32_t msr, uint32_t flags);
hv_return_t hv_vcpu_read_msr(unsigned vcpu, uint32_t msr, uint64_t *value);
hv_return_t hv_vcpu_write_msr(unsigned vcpu, uint32_t msr, uint64_t value);
hv_return_t hv_vcpu_flush(unsigned vcpu);
hv_return_t hv_vcpu_invalidate_tlb(unsigned vcpu);
hv_return_t hv_vcpu_run(unsigned vcpu);
hv_return_t hv_vcpu_run_until(unsigned vcpu, uint64_t deadline);
hv_return_t hv_vcpu_interrupt(unsigned *vcpus, unsigned int vcpu_count);
hv_return_t hv_vcpu_get_exec_time(unsigned vcpu, uint64_t *time);
uint64_t hv_tsc_clock(void);
hv_return_t hv_vcpu_set_tsc_relative(unsigned vcpu, int64_t offset);
hv_return_t hv_vmx_vcpu_read_vmcs(unsigned vcpu, uint32_t field, uint64_t *value);
hv_return_t hv_vmx_vcpu_write_vmcs(unsigned vcpu, uint32_t field, uint64_t value);
hv_return_t hv_vmx_vcpu_get_cap_write_vmcs(unsigned vcpu, uint32_t field, uint64_t *allowed_0,
                                           uint64_t *allowed_1);
hv_return_t hv_vmx_vcpu_read_shadow_vmcs(unsigned vcpu, uint32_t field, uint64_t *value);
hv_return_t hv_vmx_vcpu_write_shadow_vmcs(unsigned vcpu, uint32_t field, uint64_t value);
hv_return_t hv_vmx_vcpu_set_shadow_access(unsigned vcpu, uint32_t field, uint64_t flags);
hv_return_t hv_vmx_read_capability(hv_vmx_capability_t field, uint64_t *value);
hv_return_t hv_vmx_get_msr_info(uint64_t field, uint64_t *value);
hv_return_t hv_vmx_vcpu_set_apic_address(unsigned vcpu, uint64_t gpa);
const char *hvshim_last_error(void);
const char *hvshim_version(void);
/* hv_return_t must be exactly int for this to be compatible */
int hv_vm_destroy(void);

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
/* C11: exact types of the constants (as with Apple's headers on clang) */
#define HT_IS(expr, type) _Generic((expr), type: 1, default: 0)
HT_STATIC(HT_IS(HV_ERROR, int));
HT_STATIC(HT_IS(VMX_REASON_HLT, int));
HT_STATIC(HT_IS(VMCS_GUEST_CR0, int));
HT_STATIC(HT_IS(CPU_BASED_HLT, int));
HT_STATIC(HT_IS(CPU_BASED_SECONDARY_CTLS, unsigned int));
HT_STATIC(HT_IS(IRQ_INFO_VALID, unsigned int));
HT_STATIC(HT_IS(IRQ_INFO_HARD_EXC, int));
HT_STATIC(HT_IS(HV_MSR_IA32_EFER, unsigned int));
HT_STATIC(HT_IS(HV_MSR_IA32_TSC, int));
HT_STATIC(HT_IS((hv_vcpuid_t)0, unsigned int));
HT_STATIC(HT_IS((hv_vm_space_t)0, unsigned int));
HT_STATIC(HT_IS((hv_uvaddr_t)0, const void *));
HT_STATIC(HT_IS((hv_gpaddr_t)0, uint64_t));
HT_STATIC(HT_IS((hv_memory_flags_t)0, uint64_t));
HT_STATIC(HT_IS((hv_msr_flags_t)0, uint32_t));
HT_STATIC(HT_IS((hv_return_t)0, int));
#endif
/* 64-bit, unsigned */
HT_STATIC(sizeof(VMX_BASIC_TRUE_CTLS) == 8 && VMX_BASIC_TRUE_CTLS - VMX_BASIC_TRUE_CTLS - 1 > 0);
HT_STATIC(sizeof(HV_DEADLINE_FOREVER) == 8 && HV_DEADLINE_FOREVER > 0);
HT_STATIC(sizeof(CPU_BASED_SECONDARY_CTLS) == 4);

int main(void)
{
	volatile uint64_t v64 = UINT64_C(0x0000000500000080);
	uint64_t x64;
	int failures = ht_run_common_checks();

	/* In C the int-valued bits are int, so ~ sign-extends correctly on
	 * 64-bit values.  (In C++ see values.cpp.) */
	x64 = v64;
	x64 &= ~CPU_BASED_HLT;
	HT_CHECK(x64 == UINT64_C(0x0000000500000000));

	HT_CHECK(ht_inc_hv() == 11);
	HT_CHECK(ht_inc_hv_vmx() == 6);
	HT_CHECK(ht_inc_hv_arch_vmx() == 3);
	HT_CHECK(ht_inc_hv_arch_x86() == 51);
	HT_CHECK(ht_inc_hv_error() == 6);
	HT_CHECK(ht_inc_hv_types() == 10);
	HT_CHECK(ht_inc_hypervisor() == 67);
	HT_CHECK(ht_inc_hvshim() == 1 + (int)sizeof(const char *));
	HT_CHECK(ht_clash() == 0);
	HT_CHECK(ht_mach_vm_only() == 5);
	HT_CHECK(ht_mach_values() == 0);
	HT_CHECK(ht_mach_clash() == 3);

	failures = ht_failures;
	if (failures == 0)
		printf("header checks (C, __STDC_VERSION__=%ld): OK\n", (long)__STDC_VERSION__);
	return failures == 0 ? 0 : 1;
}
