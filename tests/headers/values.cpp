/*
 * C++ header test: values, types and prototypes of <Hypervisor/...> and
 * <hvshim/hvshim.h>.  Compiled as C++11, C++17 and C++20 with -Wall -Wextra
 * -Werror -pedantic; never calls an hv_* function (decltype only), so it
 * needs no library.
 */
#include "check_common.h"
#include "inc_funcs.h"

#include <cstddef>
#include <cstdint>
#include <type_traits>

#define HT_SAME(a, b) static_assert(std::is_same<a, b>::value, #a " is " #b)

/* ---- exact prototypes (macOS signatures) -------------------------------- */
HT_SAME(decltype(&hv_capability), hv_return_t (*)(hv_capability_t, uint64_t *));
HT_SAME(decltype(&hv_vm_create), hv_return_t (*)(hv_vm_options_t));
HT_SAME(decltype(&hv_vm_destroy), hv_return_t (*)());
HT_SAME(decltype(&hv_vm_space_create), hv_return_t (*)(hv_vm_space_t *));
HT_SAME(decltype(&hv_vm_space_destroy), hv_return_t (*)(hv_vm_space_t));
HT_SAME(decltype(&hv_vm_map), hv_return_t (*)(const void *, uint64_t, size_t, uint64_t));
HT_SAME(decltype(&hv_vm_unmap), hv_return_t (*)(uint64_t, size_t));
HT_SAME(decltype(&hv_vm_protect), hv_return_t (*)(uint64_t, size_t, uint64_t));
HT_SAME(decltype(&hv_vm_map_space), hv_return_t (*)(unsigned, const void *, uint64_t, size_t, uint64_t));
HT_SAME(decltype(&hv_vm_unmap_space), hv_return_t (*)(unsigned, uint64_t, size_t));
HT_SAME(decltype(&hv_vm_protect_space), hv_return_t (*)(unsigned, uint64_t, size_t, uint64_t));
HT_SAME(decltype(&hv_vm_sync_tsc), hv_return_t (*)(uint64_t));
HT_SAME(decltype(&hv_vcpu_create), hv_return_t (*)(unsigned *, uint64_t));
HT_SAME(decltype(&hv_vcpu_destroy), hv_return_t (*)(unsigned));
HT_SAME(decltype(&hv_vcpu_set_space), hv_return_t (*)(unsigned, unsigned));
HT_SAME(decltype(&hv_vcpu_read_register), hv_return_t (*)(unsigned, hv_x86_reg_t, uint64_t *));
HT_SAME(decltype(&hv_vcpu_write_register), hv_return_t (*)(unsigned, hv_x86_reg_t, uint64_t));
HT_SAME(decltype(&hv_vcpu_read_fpstate), hv_return_t (*)(unsigned, void *, size_t));
HT_SAME(decltype(&hv_vcpu_write_fpstate), hv_return_t (*)(unsigned, void *, size_t)); /* not const */
HT_SAME(decltype(&hv_vcpu_enable_native_msr), hv_return_t (*)(unsigned, uint32_t, bool));
HT_SAME(decltype(&hv_vcpu_enable_managed_msr), hv_return_t (*)(unsigned, uint32_t, bool));
HT_SAME(decltype(&hv_vcpu_set_msr_access), hv_return_t (*)(unsigned, uint32_t, uint32_t));
HT_SAME(decltype(&hv_vcpu_read_msr), hv_return_t (*)(unsigned, uint32_t, uint64_t *));
HT_SAME(decltype(&hv_vcpu_write_msr), hv_return_t (*)(unsigned, uint32_t, uint64_t));
HT_SAME(decltype(&hv_vcpu_flush), hv_return_t (*)(unsigned));
HT_SAME(decltype(&hv_vcpu_invalidate_tlb), hv_return_t (*)(unsigned));
HT_SAME(decltype(&hv_vcpu_run), hv_return_t (*)(unsigned));
HT_SAME(decltype(&hv_vcpu_run_until), hv_return_t (*)(unsigned, uint64_t));
HT_SAME(decltype(&hv_vcpu_interrupt), hv_return_t (*)(unsigned *, unsigned int));
HT_SAME(decltype(&hv_vcpu_get_exec_time), hv_return_t (*)(unsigned, uint64_t *));
HT_SAME(decltype(&hv_tsc_clock), uint64_t (*)());
HT_SAME(decltype(&hv_vcpu_set_tsc_relative), hv_return_t (*)(unsigned, int64_t));
HT_SAME(decltype(&hv_vmx_vcpu_read_vmcs), hv_return_t (*)(unsigned, uint32_t, uint64_t *));
HT_SAME(decltype(&hv_vmx_vcpu_write_vmcs), hv_return_t (*)(unsigned, uint32_t, uint64_t));
HT_SAME(decltype(&hv_vmx_vcpu_get_cap_write_vmcs), hv_return_t (*)(unsigned, uint32_t, uint64_t *, uint64_t *));
HT_SAME(decltype(&hv_vmx_vcpu_read_shadow_vmcs), hv_return_t (*)(unsigned, uint32_t, uint64_t *));
HT_SAME(decltype(&hv_vmx_vcpu_write_shadow_vmcs), hv_return_t (*)(unsigned, uint32_t, uint64_t));
HT_SAME(decltype(&hv_vmx_vcpu_set_shadow_access), hv_return_t (*)(unsigned, uint32_t, uint64_t));
HT_SAME(decltype(&hv_vmx_read_capability), hv_return_t (*)(hv_vmx_capability_t, uint64_t *));
HT_SAME(decltype(&hv_vmx_get_msr_info), hv_return_t (*)(uint64_t, uint64_t *));
HT_SAME(decltype(&hv_vmx_vcpu_set_apic_address), hv_return_t (*)(unsigned, uint64_t));
HT_SAME(decltype(&hvshim_last_error), const char *(*)());
HT_SAME(decltype(&hvshim_version), const char *(*)());

/* ---- typedefs ------------------------------------------------------------ */
HT_SAME(hv_return_t, int);
HT_SAME(hv_vcpuid_t, unsigned);
HT_SAME(hv_vm_space_t, unsigned);
HT_SAME(hv_uvaddr_t, const void *);
HT_SAME(hv_gpaddr_t, uint64_t);
HT_SAME(hv_capability_t, uint64_t);
HT_SAME(hv_vm_options_t, uint64_t);
HT_SAME(hv_vcpu_options_t, uint64_t);
HT_SAME(hv_memory_flags_t, uint64_t);
HT_SAME(hv_msr_flags_t, uint32_t);
HT_SAME(hv_shadow_flags_t, uint64_t);
HT_SAME(hv_vmx_msr_info_t, uint64_t);
static_assert(std::is_enum<hv_x86_reg_t>::value, "hv_x86_reg_t is an enum");
static_assert(std::is_enum<hv_vmx_capability_t>::value, "hv_vmx_capability_t is an enum");

/* ---- constants are usable as compile-time values of full width ----------- */
static_assert(std::integral_constant<uint64_t, VMX_BASIC_TRUE_CTLS>::value == (uint64_t(1) << 55), "");
static_assert(std::integral_constant<uint64_t, HV_DEADLINE_FOREVER>::value == UINT64_MAX, "");
static_assert(std::integral_constant<uint32_t, CPU_BASED_SECONDARY_CTLS>::value == 0x80000000u, "");
static_assert(std::integral_constant<uint32_t, HV_MSR_IA32_EFER>::value == 0xc0000080u, "");
static_assert(std::integral_constant<int, HV_ERROR>::value == HV_ERROR, "");
/* enumerations holding bit 31 are unsigned; exit reasons promote to int */
static_assert(std::is_unsigned<std::underlying_type<decltype(CPU_BASED_SECONDARY_CTLS)>::type>::value, "");
static_assert(std::is_unsigned<std::underlying_type<decltype(IRQ_INFO_VALID)>::type>::value, "");
static_assert(std::is_same<decltype(+VMX_REASON_HLT), int>::value, "");
static_assert(std::is_same<decltype(+VMCS_GUEST_CR0), int>::value, "");
static_assert(std::is_same<decltype(+HV_ERROR), int>::value, "");
static_assert(std::is_same<decltype(+CPU_BASED_SECONDARY_CTLS), unsigned int>::value, "");
static_assert(sizeof(VMX_BASIC_TRUE_CTLS) == 8 && sizeof(HV_DEADLINE_FOREVER) == 8, "");

int main()
{
	volatile uint64_t v64 = UINT64_C(0x0000000500000080);
	uint64_t x64;
	ht_run_common_checks();

	/* As with Apple's header in C++: CPU_BASED_* share an enumeration with
	 * bit 31, so they promote to unsigned int and ~CPU_BASED_HLT is
	 * 0xffffff7f (not sign-extended).  Fine for the 32-bit VMCS control
	 * fields; cast before ~ when masking 64-bit values. */
	x64 = v64;
	x64 &= ~CPU_BASED_HLT;
	HT_CHECK(x64 == UINT64_C(0x0000000000000000));
	x64 = v64;
	x64 &= ~static_cast<uint64_t>(CPU_BASED_HLT);
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

	if (ht_failures == 0)
		printf("header checks (C++, __cplusplus=%ld): OK\n", (long)__cplusplus);
	return ht_failures == 0 ? 0 : 1;
}
