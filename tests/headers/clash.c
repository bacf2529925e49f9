/*
 * Clients such as hvdos and xhyve include the Hypervisor headers first and
 * then their own bhyve-derived vmcs.h, which #defines many of the same
 * names with its own spelling (upper-case hex, 8 digits).  That only
 * compiles if our constants are enumerators (their macros then shadow our
 * names) -- had we used macros, every line below would be a redefinition
 * error under -Werror (and a warning even without it).
 */
#include <Hypervisor/hv.h>
#include <Hypervisor/hv_vmx.h>
#include <Hypervisor/hv_arch_vmx.h>
#include "inc_funcs.h"

#include <stdint.h>

/* ---- as in hvdos vmcs.h / xhyve vmcs.h (bhyve) ---- */
#define	VMCS_VPID			0x00000000
#define	VMCS_GUEST_ES_LIMIT		0x00004800
#define	VMCS_GUEST_CS_LIMIT		0x00004802
#define	VMCS_GUEST_GS_LIMIT		0x0000480A
#define	VMCS_GUEST_INTERRUPTIBILITY	0x00004824
#define	VMCS_GUEST_IA32_SYSENTER_CS	0x0000482A
#define	VMCS_GUEST_PHYSICAL_ADDRESS	0x00002400
#define	VMCS_GUEST_IA32_EFER		0x00002806
#define	VMCS_GUEST_PDPTE0		0x0000280A
#define	VMCS_GUEST_CR0			0x00006800
#define	VMCS_GUEST_CR3			0x00006802
#define	VMCS_GUEST_CR4			0x00006804
#define	VMCS_GUEST_RIP			0x0000681E
#define	VMCS_GUEST_RFLAGS		0x00006820
#define	VMCS_HOST_IA32_SYSENTER_ESP	0x00006C10
#define	VMCS_HOST_RSP			0x00006C14
#define	VMCS_HOST_RIP			0x00006C16
/* bhyve-only names: must not exist in our headers either */
#define	VMCS_GUEST_CS_SELECTOR		0x00000802
#define	VMCS_EXIT_REASON		0x00004402
#define	VMCS_IDT_VECTORING_INFO		0x00004408
#define	EXIT_REASON_EXCEPTION		0
#define	EXIT_REASON_HLT			12
#define	EXIT_REASON_EPT_FAULT		48
#define	VMCS_IDENT(encoding)		((encoding) | 0x80000000)

static const uint32_t ht_client_fields[] = {
	VMCS_VPID, VMCS_GUEST_ES_LIMIT, VMCS_GUEST_CS_LIMIT, VMCS_GUEST_GS_LIMIT,
	VMCS_GUEST_INTERRUPTIBILITY, VMCS_GUEST_IA32_SYSENTER_CS, VMCS_GUEST_PHYSICAL_ADDRESS,
	VMCS_GUEST_IA32_EFER, VMCS_GUEST_PDPTE0, VMCS_GUEST_CR0, VMCS_GUEST_CR3, VMCS_GUEST_CR4,
	VMCS_GUEST_RIP, VMCS_GUEST_RFLAGS, VMCS_HOST_IA32_SYSENTER_ESP, VMCS_HOST_RSP, VMCS_HOST_RIP,
};

/* Returns the number of mismatches (0 expected). */
int ht_clash(void)
{
	/* the same encodings, reached through names the client did not touch */
	const uint32_t ours[] = {
		VMCS_CTRL_PIN_BASED - 0x4000, VMCS_GUEST_ES_AR - 0x14, VMCS_GUEST_ES_AR - 0x12,
		VMCS_GUEST_ES_AR - 0x0a, VMCS_GUEST_ACTIVITY_STATE - 2, VMCS_GUEST_SMBASE + 2,
		VMCS_GUEST_LINK_POINTER - 0x400, VMCS_GUEST_IA32_PAT + 2, VMCS_GUEST_IA32_PERF_GLOBAL_CTRL + 2,
		VMCS_CTRL_CR0_MASK + 0x800, VMCS_GUEST_ES_BASE - 4, VMCS_GUEST_ES_BASE - 2,
		VMCS_GUEST_RSP + 2, VMCS_GUEST_DEBUG_EXC - 2, VMCS_HOST_IA32_SYSENTER_EIP - 2,
		VMCS_HOST_IA32_SYSENTER_EIP + 2, VMCS_HOST_IA32_SYSENTER_EIP + 4,
	};
	int bad = 0;
	unsigned i;
	for (i = 0; i < sizeof(ours) / sizeof(ours[0]); ++i)
		bad += ht_client_fields[i] != ours[i];
	bad += sizeof(ours) != sizeof(ht_client_fields);
	bad += VMCS_GUEST_CS_SELECTOR != VMCS_GUEST_CS;
	bad += VMCS_EXIT_REASON != VMCS_RO_EXIT_REASON;
	bad += VMCS_IDT_VECTORING_INFO != VMCS_RO_IDT_VECTOR_INFO;
	bad += EXIT_REASON_HLT != VMX_REASON_HLT;
	bad += EXIT_REASON_EPT_FAULT != VMX_REASON_EPT_VIOLATION;
	bad += EXIT_REASON_EXCEPTION != VMX_REASON_EXC_NMI;
	bad += VMCS_IDENT(VMCS_GUEST_CR0) != 0x80006800u;
	return bad;
}
