/*
 * long-mode-mmio: a 64-bit guest with paging that drives a memory-mapped device.
 *
 * Guest RAM is the first 1 MiB; the device's registers live at guest-physical 0x1f0000,
 * which is deliberately *not* mapped with hv_vm_map, so every guest access there exits to
 * the VMM as an EPT violation (VMX_REASON_EPT_VIOLATION) carrying the guest-physical address
 * and whether it was a read or a write. The VMM emulates the device:
 *
 *   0x1f0000  ID register (read)       returns 0xC0FFEE00
 *   0x1f0008  doorbell (write)         the guest writes ID + 1 to it
 *
 * Guest code (identity-mapped with one 2 MiB page):
 *   mov eax, [0x1f0000] ; add eax, 1 ; mov [0x1f0008], eax ; hlt
 *
 * A real VMM decodes the instruction at RIP to find the register and the length; this one
 * knows its guest and only checks the opcode bytes.
 *
 * The same file builds on macOS:   cc long_mode_mmio.c -framework Hypervisor
 * and on Linux with hvshim:        hvshim-cc long_mode_mmio.c -framework Hypervisor
 * Exit status 77: no usable hypervisor here (ctest reports "skipped").
 */
#include <Hypervisor/hv.h>
#include <Hypervisor/hv_vmx.h>
#include <Hypervisor/hv_arch_vmx.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define RAM_SIZE (1u << 20)
#define CODE_GPA 0x8000u
#define PML4_GPA 0x10000u /* PML4 -> PDPT at 0x11000 -> PD at 0x12000 -> one 2 MiB page at 0 */
#define DEV_GPA 0x1f0000u
#define DEV_ID 0xC0FFEE00u

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

static uint64_t cap2ctrl(uint32_t capability, uint64_t wanted) {
	uint64_t cap = 0;
	CHECK(hv_vmx_read_capability(capability, &cap));
	return (wanted | (cap & 0xffffffff)) & (cap >> 32);
}

static void put64(uint8_t *ram, uint64_t gpa, uint64_t value) { memcpy(ram + gpa, &value, 8); }

static void setup_long_mode(hv_vcpuid_t v, uint8_t *ram) {
	static const uint32_t data_segs[][4] = {
	    {VMCS_GUEST_DS, VMCS_GUEST_DS_LIMIT, VMCS_GUEST_DS_AR, VMCS_GUEST_DS_BASE},
	    {VMCS_GUEST_ES, VMCS_GUEST_ES_LIMIT, VMCS_GUEST_ES_AR, VMCS_GUEST_ES_BASE},
	    {VMCS_GUEST_SS, VMCS_GUEST_SS_LIMIT, VMCS_GUEST_SS_AR, VMCS_GUEST_SS_BASE},
	    {VMCS_GUEST_FS, VMCS_GUEST_FS_LIMIT, VMCS_GUEST_FS_AR, VMCS_GUEST_FS_BASE},
	    {VMCS_GUEST_GS, VMCS_GUEST_GS_LIMIT, VMCS_GUEST_GS_AR, VMCS_GUEST_GS_BASE}};
	size_t i;

	/* Page tables: identity map of the first 2 MiB, RAM and device window alike. */
	put64(ram, PML4_GPA, (PML4_GPA + 0x1000) | 3);          /* present, writable */
	put64(ram, PML4_GPA + 0x1000, (PML4_GPA + 0x2000) | 3);
	put64(ram, PML4_GPA + 0x2000, 0x0 | 0x83);               /* 2 MiB page at 0 */

	wvmcs(v, VMCS_CTRL_PIN_BASED, cap2ctrl(HV_VMX_CAP_PINBASED, 0));
	wvmcs(v, VMCS_CTRL_CPU_BASED, cap2ctrl(HV_VMX_CAP_PROCBASED, CPU_BASED_HLT | CPU_BASED_CR8_LOAD | CPU_BASED_CR8_STORE));
	wvmcs(v, VMCS_CTRL_CPU_BASED2, cap2ctrl(HV_VMX_CAP_PROCBASED2, 0));
	wvmcs(v, VMCS_CTRL_VMENTRY_CONTROLS, cap2ctrl(HV_VMX_CAP_ENTRY, VMENTRY_GUEST_IA32E));
	wvmcs(v, VMCS_CTRL_EXC_BITMAP, 0);
	wvmcs(v, VMCS_CTRL_CR0_MASK, 0x60000000);
	wvmcs(v, VMCS_CTRL_CR0_SHADOW, 0);
	wvmcs(v, VMCS_CTRL_CR4_MASK, 0);
	wvmcs(v, VMCS_CTRL_CR4_SHADOW, 0);

	wvmcs(v, VMCS_GUEST_CR0, 0x80000021);  /* PG | NE | PE */
	wvmcs(v, VMCS_GUEST_CR3, PML4_GPA);
	wvmcs(v, VMCS_GUEST_CR4, 0x2020);      /* VMXE | PAE */
	wvmcs(v, VMCS_GUEST_IA32_EFER, 0x500); /* LMA | LME */

	wvmcs(v, VMCS_GUEST_CS, 0x08);
	wvmcs(v, VMCS_GUEST_CS_BASE, 0);
	wvmcs(v, VMCS_GUEST_CS_LIMIT, 0xffffffff);
	wvmcs(v, VMCS_GUEST_CS_AR, 0xa09b); /* 64-bit code, present, DPL 0 */
	for (i = 0; i < sizeof data_segs / sizeof data_segs[0]; ++i) {
		wvmcs(v, data_segs[i][0], 0x10);
		wvmcs(v, data_segs[i][1], 0xffffffff);
		wvmcs(v, data_segs[i][2], 0xc093);
		wvmcs(v, data_segs[i][3], 0);
	}
	wvmcs(v, VMCS_GUEST_TR, 0x40);
	wvmcs(v, VMCS_GUEST_TR_BASE, 0);
	wvmcs(v, VMCS_GUEST_TR_LIMIT, 0x67);
	wvmcs(v, VMCS_GUEST_TR_AR, 0x8b); /* busy 64-bit TSS */
	wvmcs(v, VMCS_GUEST_LDTR, 0);
	wvmcs(v, VMCS_GUEST_LDTR_AR, 0x10000); /* unusable */
	wvmcs(v, VMCS_GUEST_GDTR_BASE, 0);
	wvmcs(v, VMCS_GUEST_GDTR_LIMIT, 0);
	wvmcs(v, VMCS_GUEST_IDTR_BASE, 0);
	wvmcs(v, VMCS_GUEST_IDTR_LIMIT, 0);
}

int main(void) {
	static const uint8_t code[] = {
	    0x8b, 0x04, 0x25, 0x00, 0x00, 0x1f, 0x00, /* mov eax, [0x1f0000] */
	    0x83, 0xc0, 0x01,                         /* add eax, 1 */
	    0x89, 0x04, 0x25, 0x08, 0x00, 0x1f, 0x00, /* mov [0x1f0008], eax */
	    0xf4,                                     /* hlt */
	};
	uint8_t *ram;
	hv_vcpuid_t vcpu;
	uint64_t doorbell = 0;
	int reads = 0, writes = 0, halted = 0;
	hv_return_t r = hv_vm_create(HV_VM_DEFAULT);

	if (r == HV_NO_DEVICE || r == HV_UNSUPPORTED) {
		printf("skipped: no usable hypervisor on this machine\n");
		return 77;
	}
	CHECK(r);
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANON, -1, 0);
	if (ram == MAP_FAILED) return 1;
	memcpy(ram + CODE_GPA, code, sizeof code);
	CHECK(hv_vm_map(ram, 0, RAM_SIZE, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC));

	CHECK(hv_vcpu_create(&vcpu, HV_VCPU_DEFAULT));
	setup_long_mode(vcpu, ram);
	CHECK(hv_vcpu_write_register(vcpu, HV_X86_RIP, CODE_GPA));
	CHECK(hv_vcpu_write_register(vcpu, HV_X86_RFLAGS, 0x2));
	CHECK(hv_vcpu_write_register(vcpu, HV_X86_RSP, 0x7000));

	while (!halted) {
		uint64_t reason, gpa, qual, rip, rax;
		CHECK(hv_vcpu_run(vcpu));
		reason = rvmcs(vcpu, VMCS_RO_EXIT_REASON) & 0xffff;
		switch (reason) {
		case VMX_REASON_EPT_VIOLATION:
			gpa = rvmcs(vcpu, VMCS_GUEST_PHYSICAL_ADDRESS);
			qual = rvmcs(vcpu, VMCS_RO_EXIT_QUALIFIC);
			CHECK(hv_vcpu_read_register(vcpu, HV_X86_RIP, &rip));
			CHECK(hv_vcpu_read_register(vcpu, HV_X86_RAX, &rax));
			if (rip + 7 > RAM_SIZE) return 1;
			if (gpa == DEV_GPA && (qual & 1) && ram[rip] == 0x8b) { /* read of the ID register */
				CHECK(hv_vcpu_write_register(vcpu, HV_X86_RAX, DEV_ID)); /* a 32-bit load zero-extends */
				reads++;
			} else if (gpa == DEV_GPA + 8 && (qual & 2) && ram[rip] == 0x89) { /* doorbell write */
				doorbell = rax & 0xffffffff;
				writes++;
			} else {
				fprintf(stderr, "unexpected access to 0x%llx (qualification 0x%llx) at rip 0x%llx\n",
				        (unsigned long long)gpa, (unsigned long long)qual, (unsigned long long)rip);
				return 1;
			}
			CHECK(hv_vcpu_write_register(vcpu, HV_X86_RIP, rip + 7));
			break;
		case VMX_REASON_HLT:
			halted = 1;
			break;
		case VMX_REASON_IRQ:
			break;
		default:
			fprintf(stderr, "unexpected exit reason %llu\n", (unsigned long long)reason);
			return 1;
		}
	}
	printf("device: %d read(s) of the ID register, doorbell written %d time(s) with 0x%llx\n", reads, writes,
	       (unsigned long long)doorbell);

	CHECK(hv_vcpu_destroy(vcpu));
	CHECK(hv_vm_unmap(0, RAM_SIZE));
	CHECK(hv_vm_destroy());
	munmap(ram, RAM_SIZE);
	if (reads != 1 || writes != 1 || doorbell != DEV_ID + 1) return 1;
	printf("long-mode-mmio: done\n");
	return 0;
}
