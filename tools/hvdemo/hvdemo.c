/*
 * hvdemo: a tiny VMM written only against the Hypervisor.framework API.
 * It maps 1 MiB of guest memory, makes one page read-only, and runs a
 * real-mode guest that prints a message through port 0xE9 and then writes
 * to the read-only page. The write comes back as an EPT-violation exit; the
 * VMM grants write access and the guest's retried write completes.
 * The same source builds on macOS with `cc hvdemo.c -framework Hypervisor`.
 */
#include <Hypervisor/hv.h>
#include <Hypervisor/hv_vmx.h>
#include <Hypervisor/hv_arch_vmx.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* hvshim says why a call failed (and, for HV_NO_DEVICE, how to fix it on
 * this host); Hypervisor.framework has no such call. */
#if defined(__has_include)
#if __has_include(<hvshim/hvshim.h>)
#include <hvshim/hvshim.h>
#define HAVE_LAST_ERROR 1
#endif
#endif

static const char *code_name(hv_return_t r) {
	switch (r) {
	case HV_ERROR: return "HV_ERROR";
	case HV_BUSY: return "HV_BUSY";
	case HV_BAD_ARGUMENT: return "HV_BAD_ARGUMENT";
	case HV_ILLEGAL_GUEST_STATE: return "HV_ILLEGAL_GUEST_STATE";
	case HV_NO_RESOURCES: return "HV_NO_RESOURCES";
	case HV_NO_DEVICE: return "HV_NO_DEVICE";
	case HV_DENIED: return "HV_DENIED";
	case HV_UNSUPPORTED: return "HV_UNSUPPORTED";
	default: return "unknown code";
	}
}

static void fail(const char *call, hv_return_t r) {
	fprintf(stderr, "%s failed: %s (0x%x)\n", call, code_name(r), (unsigned)r);
#ifdef HAVE_LAST_ERROR
	fprintf(stderr, "%s\n", hvshim_last_error());
#endif
	exit(1);
}

#define CHECK(call)                          \
	do {                                     \
		hv_return_t r_ = (call);             \
		if (r_ != HV_SUCCESS) fail(#call, r_); \
	} while (0)

static uint64_t cap2ctrl(uint64_t cap, uint64_t ctrl) {
	return (ctrl | (cap & 0xffffffff)) & (cap >> 32);
}

static uint64_t rvmcs(hv_vcpuid_t v, uint32_t f) {
	uint64_t x = 0;
	CHECK(hv_vmx_vcpu_read_vmcs(v, f, &x));
	return x;
}

static void wvmcs(hv_vcpuid_t v, uint32_t f, uint64_t x) { CHECK(hv_vmx_vcpu_write_vmcs(v, f, x)); }

#define MEM_SIZE (1u << 20)
#define CODE_GPA 0x1000u
#define RO_GPA 0x5000u

static const char message[] = "Hello from a real-mode guest running on hvshim!\n";

int main(void) {
	uint8_t *mem, *p;
	int ok;
	uint64_t cap;
	hv_vcpuid_t vcpu;
	int faults = 0, done = 0;

	CHECK(hv_vm_create(HV_VM_DEFAULT));
	mem = valloc(MEM_SIZE);
	memset(mem, 0, MEM_SIZE);
	CHECK(hv_vm_map(mem, 0, MEM_SIZE, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC));
	CHECK(hv_vm_protect(RO_GPA, 4096, HV_MEMORY_READ));

	/* mov si,msg / lodsb / test al,al / jz +4 / out 0xe9,al / jmp -9 /
	 * mov byte [0x5000],0x42 / hlt / msg */
	p = mem + CODE_GPA;
	{
		static const uint8_t code[] = {0xbe, 0x00, 0x00, 0xac, 0x84, 0xc0, 0x74, 0x04, 0xe6, 0xe9,
		                               0xeb, 0xf7, 0xc6, 0x06, 0x00, 0x50, 0x42, 0xf4};
		uint16_t msg = (uint16_t)(CODE_GPA + sizeof code);
		memcpy(p, code, sizeof code);
		memcpy(p + 1, &msg, 2);
		memcpy(p + sizeof code, message, sizeof message);
	}

	CHECK(hv_vcpu_create(&vcpu, HV_VCPU_DEFAULT));
	CHECK(hv_vmx_read_capability(HV_VMX_CAP_PINBASED, &cap));
	wvmcs(vcpu, VMCS_CTRL_PIN_BASED, cap2ctrl(cap, 0));
	CHECK(hv_vmx_read_capability(HV_VMX_CAP_PROCBASED, &cap));
	wvmcs(vcpu, VMCS_CTRL_CPU_BASED, cap2ctrl(cap, CPU_BASED_HLT | CPU_BASED_CR8_LOAD | CPU_BASED_CR8_STORE));
	CHECK(hv_vmx_read_capability(HV_VMX_CAP_PROCBASED2, &cap));
	wvmcs(vcpu, VMCS_CTRL_CPU_BASED2, cap2ctrl(cap, 0));
	CHECK(hv_vmx_read_capability(HV_VMX_CAP_ENTRY, &cap));
	wvmcs(vcpu, VMCS_CTRL_VMENTRY_CONTROLS, cap2ctrl(cap, 0));
	wvmcs(vcpu, VMCS_CTRL_EXC_BITMAP, 0);
	wvmcs(vcpu, VMCS_CTRL_CR0_MASK, 0x60000000);
	wvmcs(vcpu, VMCS_CTRL_CR0_SHADOW, 0);
	wvmcs(vcpu, VMCS_CTRL_CR4_MASK, 0);
	wvmcs(vcpu, VMCS_CTRL_CR4_SHADOW, 0);

	wvmcs(vcpu, VMCS_GUEST_CS, 0);
	wvmcs(vcpu, VMCS_GUEST_CS_LIMIT, 0xffff);
	wvmcs(vcpu, VMCS_GUEST_CS_AR, 0x9b);
	wvmcs(vcpu, VMCS_GUEST_CS_BASE, 0);
	{
		static const uint32_t segs[][4] = {
		    {VMCS_GUEST_DS, VMCS_GUEST_DS_LIMIT, VMCS_GUEST_DS_AR, VMCS_GUEST_DS_BASE},
		    {VMCS_GUEST_ES, VMCS_GUEST_ES_LIMIT, VMCS_GUEST_ES_AR, VMCS_GUEST_ES_BASE},
		    {VMCS_GUEST_SS, VMCS_GUEST_SS_LIMIT, VMCS_GUEST_SS_AR, VMCS_GUEST_SS_BASE},
		    {VMCS_GUEST_FS, VMCS_GUEST_FS_LIMIT, VMCS_GUEST_FS_AR, VMCS_GUEST_FS_BASE},
		    {VMCS_GUEST_GS, VMCS_GUEST_GS_LIMIT, VMCS_GUEST_GS_AR, VMCS_GUEST_GS_BASE}};
		size_t i;
		for (i = 0; i < sizeof segs / sizeof segs[0]; ++i) {
			wvmcs(vcpu, segs[i][0], 0);
			wvmcs(vcpu, segs[i][1], 0xffff);
			wvmcs(vcpu, segs[i][2], 0x93);
			wvmcs(vcpu, segs[i][3], 0);
		}
	}
	wvmcs(vcpu, VMCS_GUEST_LDTR, 0);
	wvmcs(vcpu, VMCS_GUEST_LDTR_LIMIT, 0);
	wvmcs(vcpu, VMCS_GUEST_LDTR_AR, 0x10000);
	wvmcs(vcpu, VMCS_GUEST_LDTR_BASE, 0);
	wvmcs(vcpu, VMCS_GUEST_TR, 0);
	wvmcs(vcpu, VMCS_GUEST_TR_LIMIT, 0);
	wvmcs(vcpu, VMCS_GUEST_TR_AR, 0x83);
	wvmcs(vcpu, VMCS_GUEST_TR_BASE, 0);
	wvmcs(vcpu, VMCS_GUEST_GDTR_LIMIT, 0);
	wvmcs(vcpu, VMCS_GUEST_GDTR_BASE, 0);
	wvmcs(vcpu, VMCS_GUEST_IDTR_LIMIT, 0x3ff);
	wvmcs(vcpu, VMCS_GUEST_IDTR_BASE, 0);
	wvmcs(vcpu, VMCS_GUEST_CR0, 0x20);
	wvmcs(vcpu, VMCS_GUEST_CR3, 0);
	wvmcs(vcpu, VMCS_GUEST_CR4, 0x2000);

	CHECK(hv_vcpu_write_register(vcpu, HV_X86_RIP, CODE_GPA));
	CHECK(hv_vcpu_write_register(vcpu, HV_X86_RFLAGS, 0x2));
	CHECK(hv_vcpu_write_register(vcpu, HV_X86_RSP, 0x8000));

	printf("guest output: ");
	fflush(stdout);
	while (!done) {
		uint64_t reason;
		CHECK(hv_vcpu_run(vcpu));
		reason = rvmcs(vcpu, VMCS_RO_EXIT_REASON) & 0xffff;
		switch (reason) {
		case VMX_REASON_IO: {
			uint64_t qual = rvmcs(vcpu, VMCS_RO_EXIT_QUALIFIC), rax, rip;
			CHECK(hv_vcpu_read_register(vcpu, HV_X86_RAX, &rax));
			if ((qual >> 16) == 0xe9 && !(qual & 8)) putchar((int)(rax & 0xff));
			CHECK(hv_vcpu_read_register(vcpu, HV_X86_RIP, &rip));
			CHECK(hv_vcpu_write_register(vcpu, HV_X86_RIP, rip + rvmcs(vcpu, VMCS_RO_VMEXIT_INSTR_LEN)));
			break;
		}
		case VMX_REASON_EPT_VIOLATION: {
			uint64_t gpa = rvmcs(vcpu, VMCS_GUEST_PHYSICAL_ADDRESS);
			uint64_t qual = rvmcs(vcpu, VMCS_RO_EXIT_QUALIFIC);
			if (gpa >= MEM_SIZE || !(qual & 2) || faults++) {
				fprintf(stderr, "unexpected EPT violation at 0x%llx (qual 0x%llx)\n", (unsigned long long)gpa,
				        (unsigned long long)qual);
				return 1;
			}
			printf("VMM: guest wrote to read-only page 0x%llx (qualification 0x%llx); granting write\n",
			       (unsigned long long)gpa, (unsigned long long)qual);
			CHECK(hv_vm_protect(gpa & ~0xfffull, 4096, HV_MEMORY_READ | HV_MEMORY_WRITE));
			break;
		}
		case VMX_REASON_HLT:
			done = 1;
			break;
		case VMX_REASON_IRQ:
			break;
		default:
			fprintf(stderr, "unexpected exit reason %llu\n", (unsigned long long)reason);
			return 1;
		}
	}
	ok = mem[RO_GPA] == 0x42;
	printf("VMM: guest halted; byte at 0x%x is 0x%02x (expected 0x42)\n", RO_GPA, mem[RO_GPA]);
	CHECK(hv_vcpu_destroy(vcpu));
	CHECK(hv_vm_unmap(0, MEM_SIZE));
	CHECK(hv_vm_destroy());
	free(mem);
	return ok ? 0 : 1;
}
