/*
 * real-mode-io: a real-mode guest that talks to a device the VMM emulates through I/O ports,
 * the first thing every x86 VMM does (PIT, serial port, keyboard controller...).
 *
 * The guest reads ten values from a "counter" device at port 0x40, adds them up and writes
 * the sum to port 0x41, then halts:
 *
 *       xor bx, bx ; mov cx, 10
 *   1:  in al, 0x40 ; add bl, al ; loop 1b
 *       mov ax, bx ; out 0x41, ax ; hlt
 *
 * The VMM sets up a real-mode VMCS, runs the vCPU and handles every VMX_REASON_IO exit from
 * the exit qualification (port, size, direction): an IN gets its value in AL, an OUT has
 * its value in AX; then it moves RIP past the instruction.
 *
 * The same file builds on macOS:   cc real_mode_io.c -framework Hypervisor
 * and on Linux with hvshim:        hvshim-cc real_mode_io.c -framework Hypervisor
 * Exit status 77: no usable hypervisor here (ctest reports "skipped").
 */
#include <Hypervisor/hv.h>
#include <Hypervisor/hv_vmx.h>
#include <Hypervisor/hv_arch_vmx.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MEM_SIZE (1u << 20)
#define CODE_GPA 0x1000u
#define PORT_COUNTER 0x40
#define PORT_RESULT 0x41

static void check(hv_return_t r, const char *call, int line) {
	if (r != HV_SUCCESS) {
		fprintf(stderr, "line %d: %s failed: 0x%x\n", line, call, (unsigned)r);
		exit(1);
	}
}
#define CHECK(call) check((call), #call, __LINE__)

static uint64_t rvmcs(hv_vcpuid_t v, uint32_t field) {
	uint64_t x = 0;
	CHECK(hv_vmx_vcpu_read_vmcs(v, field, &x));
	return x;
}
static void wvmcs(hv_vcpuid_t v, uint32_t field, uint64_t x) { CHECK(hv_vmx_vcpu_write_vmcs(v, field, x)); }

/* A control value with every bit the CPU requires and none it does not allow. */
static uint64_t cap2ctrl(uint32_t capability, uint64_t wanted) {
	uint64_t cap = 0;
	CHECK(hv_vmx_read_capability(capability, &cap));
	return (wanted | (cap & 0xffffffff)) & (cap >> 32);
}

/* Flat 64 KiB real-mode segment at 0. */
static void real_mode_segment(hv_vcpuid_t v, uint32_t sel, uint32_t limit, uint32_t ar, uint32_t base,
                              uint32_t access_rights) {
	wvmcs(v, sel, 0);
	wvmcs(v, limit, 0xffff);
	wvmcs(v, ar, access_rights);
	wvmcs(v, base, 0);
}

static void setup_real_mode(hv_vcpuid_t v) {
	wvmcs(v, VMCS_CTRL_PIN_BASED, cap2ctrl(HV_VMX_CAP_PINBASED, 0));
	wvmcs(v, VMCS_CTRL_CPU_BASED, cap2ctrl(HV_VMX_CAP_PROCBASED, CPU_BASED_HLT | CPU_BASED_CR8_LOAD | CPU_BASED_CR8_STORE));
	wvmcs(v, VMCS_CTRL_CPU_BASED2, cap2ctrl(HV_VMX_CAP_PROCBASED2, 0));
	wvmcs(v, VMCS_CTRL_VMENTRY_CONTROLS, cap2ctrl(HV_VMX_CAP_ENTRY, 0));
	wvmcs(v, VMCS_CTRL_EXC_BITMAP, 0);
	wvmcs(v, VMCS_CTRL_CR0_MASK, 0x60000000);
	wvmcs(v, VMCS_CTRL_CR0_SHADOW, 0);
	wvmcs(v, VMCS_CTRL_CR4_MASK, 0);
	wvmcs(v, VMCS_CTRL_CR4_SHADOW, 0);

	real_mode_segment(v, VMCS_GUEST_CS, VMCS_GUEST_CS_LIMIT, VMCS_GUEST_CS_AR, VMCS_GUEST_CS_BASE, 0x9b);
	real_mode_segment(v, VMCS_GUEST_DS, VMCS_GUEST_DS_LIMIT, VMCS_GUEST_DS_AR, VMCS_GUEST_DS_BASE, 0x93);
	real_mode_segment(v, VMCS_GUEST_ES, VMCS_GUEST_ES_LIMIT, VMCS_GUEST_ES_AR, VMCS_GUEST_ES_BASE, 0x93);
	real_mode_segment(v, VMCS_GUEST_SS, VMCS_GUEST_SS_LIMIT, VMCS_GUEST_SS_AR, VMCS_GUEST_SS_BASE, 0x93);
	real_mode_segment(v, VMCS_GUEST_FS, VMCS_GUEST_FS_LIMIT, VMCS_GUEST_FS_AR, VMCS_GUEST_FS_BASE, 0x93);
	real_mode_segment(v, VMCS_GUEST_GS, VMCS_GUEST_GS_LIMIT, VMCS_GUEST_GS_AR, VMCS_GUEST_GS_BASE, 0x93);
	wvmcs(v, VMCS_GUEST_LDTR, 0);
	wvmcs(v, VMCS_GUEST_LDTR_LIMIT, 0);
	wvmcs(v, VMCS_GUEST_LDTR_AR, 0x10000); /* unusable */
	wvmcs(v, VMCS_GUEST_LDTR_BASE, 0);
	wvmcs(v, VMCS_GUEST_TR, 0);
	wvmcs(v, VMCS_GUEST_TR_LIMIT, 0);
	wvmcs(v, VMCS_GUEST_TR_AR, 0x83);
	wvmcs(v, VMCS_GUEST_TR_BASE, 0);
	wvmcs(v, VMCS_GUEST_GDTR_LIMIT, 0);
	wvmcs(v, VMCS_GUEST_GDTR_BASE, 0);
	wvmcs(v, VMCS_GUEST_IDTR_LIMIT, 0x3ff);
	wvmcs(v, VMCS_GUEST_IDTR_BASE, 0);
	wvmcs(v, VMCS_GUEST_CR0, 0x20); /* NE */
	wvmcs(v, VMCS_GUEST_CR3, 0);
	wvmcs(v, VMCS_GUEST_CR4, 0x2000); /* VMXE */
}

int main(void) {
	static const uint8_t code[] = {
	    0x31, 0xdb,             /* xor bx, bx */
	    0xb9, 0x0a, 0x00,       /* mov cx, 10 */
	    0xe4, PORT_COUNTER,     /* 1: in al, 0x40 */
	    0x00, 0xc3,             /* add bl, al */
	    0xe2, 0xfa,             /* loop 1b */
	    0x89, 0xd8,             /* mov ax, bx */
	    0xe7, PORT_RESULT,      /* out 0x41, ax */
	    0xf4,                   /* hlt */
	};
	uint8_t *mem;
	hv_vcpuid_t vcpu;
	unsigned counter = 0, result = 0, ins = 0;
	int halted = 0;
	hv_return_t r = hv_vm_create(HV_VM_DEFAULT);

	if (r == HV_NO_DEVICE || r == HV_UNSUPPORTED) {
		printf("skipped: no usable hypervisor on this machine\n");
		return 77;
	}
	CHECK(r);
	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANON, -1, 0);
	if (mem == MAP_FAILED) return 1;
	memcpy(mem + CODE_GPA, code, sizeof code);
	CHECK(hv_vm_map(mem, 0, MEM_SIZE, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC));

	CHECK(hv_vcpu_create(&vcpu, HV_VCPU_DEFAULT));
	setup_real_mode(vcpu);
	CHECK(hv_vcpu_write_register(vcpu, HV_X86_RIP, CODE_GPA));
	CHECK(hv_vcpu_write_register(vcpu, HV_X86_RFLAGS, 0x2));
	CHECK(hv_vcpu_write_register(vcpu, HV_X86_RSP, 0x8000));

	while (!halted) {
		uint64_t reason, qual, rax, rip;
		CHECK(hv_vcpu_run(vcpu));
		reason = rvmcs(vcpu, VMCS_RO_EXIT_REASON) & 0xffff;
		switch (reason) {
		case VMX_REASON_IO:
			qual = rvmcs(vcpu, VMCS_RO_EXIT_QUALIFIC);
			CHECK(hv_vcpu_read_register(vcpu, HV_X86_RAX, &rax));
			if ((qual & 8) && (qual >> 16) == PORT_COUNTER && (qual & 7) == 0) { /* IN, 1 byte */
				rax = (rax & ~0xffull) | ++counter;
				CHECK(hv_vcpu_write_register(vcpu, HV_X86_RAX, rax));
				ins++;
			} else if (!(qual & 8) && (qual >> 16) == PORT_RESULT && (qual & 7) == 1) { /* OUT, 2 bytes */
				result = (unsigned)(rax & 0xffff);
			} else {
				fprintf(stderr, "unexpected port access, qualification 0x%llx\n", (unsigned long long)qual);
				return 1;
			}
			CHECK(hv_vcpu_read_register(vcpu, HV_X86_RIP, &rip));
			CHECK(hv_vcpu_write_register(vcpu, HV_X86_RIP, rip + rvmcs(vcpu, VMCS_RO_VMEXIT_INSTR_LEN)));
			break;
		case VMX_REASON_HLT:
			halted = 1;
			break;
		case VMX_REASON_IRQ: /* hv_vcpu_interrupt or a host signal: just run again */
			break;
		default:
			fprintf(stderr, "unexpected exit reason %llu\n", (unsigned long long)reason);
			return 1;
		}
	}
	printf("guest read the counter %u times and reported the sum %u (expected 55)\n", ins, result);

	CHECK(hv_vcpu_destroy(vcpu));
	CHECK(hv_vm_unmap(0, MEM_SIZE));
	CHECK(hv_vm_destroy());
	munmap(mem, MEM_SIZE);
	if (ins != 10 || result != 55) return 1;
	printf("real-mode-io: done\n");
	return 0;
}
