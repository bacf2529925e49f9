/* The C half of a macOS-style VMM: creates the VM and hands guest RAM to memory.cpp. */
#include <Hypervisor/hv.h>
#include <stdint.h>
#include <stdio.h>
#ifdef __APPLE__
#include <CoreFoundation/CoreFoundation.h> /* only used on macOS: -framework CoreFoundation */
#endif

int vmm_memory_selftest(void); /* memory.cpp */

int main(void) {
	uint64_t spaces = 0;
	hv_return_t r = hv_vm_create(HV_VM_DEFAULT);
	if (r == HV_NO_DEVICE || r == HV_UNSUPPORTED) {
		printf("skipped: no usable hypervisor on this machine\n");
		return 77;
	}
	if (r != HV_SUCCESS) {
		fprintf(stderr, "hv_vm_create: 0x%x\n", (unsigned)r);
		return 1;
	}
	if (hv_capability(HV_CAP_ADDRSPACEMAX, &spaces) != HV_SUCCESS || spaces < 1) return 1;
	if (vmm_memory_selftest() != 0) return 1;
	if (hv_vm_destroy() != HV_SUCCESS) return 1;
	printf("vmm: ok (%llu address spaces available)\n", (unsigned long long)spaces);
	return 0;
}
