/*
 * address-spaces: several guest-physical address spaces in one VM (hv_vm_space_*), as a
 * VMM uses them to give a nested guest or an enclave its own view of memory.
 *
 * The same file builds on macOS:   cc address_spaces.c -framework Hypervisor
 * and on Linux with hvshim:        hvshim-cc address_spaces.c -framework Hypervisor
 *
 * What it shows:
 *   1. hv_capability(HV_CAP_ADDRSPACEMAX): how many spaces this host allows
 *   2. one host buffer mapped into the default space read-write and into a second space
 *      read-only at another guest address; a third space with memory of its own
 *   3. the *_space calls act on one space only: protecting or unmapping in one leaves the
 *      others untouched (re-mapping proves the page was free in one space and not the other)
 *   4. the default space cannot be destroyed; unknown ids are rejected
 * A vCPU is moved between spaces with hv_vcpu_set_space (not shown).
 * Exit status 77: no usable hypervisor here (ctest reports "skipped").
 */
#include <Hypervisor/hv.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#ifdef __linux__
#include <hvshim/hvshim.h> /* hvshim_last_error(): which check or KVM call failed */
#define WHY() hvshim_last_error()
#else
#define WHY() ""
#endif

#define SIZE (256 * 1024ull)
#define RW (HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC)

static int failures;

static void check(hv_return_t r, hv_return_t want, const char *call) {
	if (r != want) {
		fprintf(stderr, "%s returned 0x%x, expected 0x%x (%s)\n", call, (unsigned)r, (unsigned)want, WHY());
		failures++;
		return;
	}
	printf("  %-66s %s\n", call, want == HV_SUCCESS ? "ok" : "refused as expected");
}

static void *host_alloc(size_t size) {
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANON, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return p;
}

int main(void) {
	uint64_t max_spaces = 0;
	hv_vm_space_t shadow, secure;
	void *shared, *private_mem;
	hv_return_t r;

	r = hv_vm_create(HV_VM_DEFAULT);
	if (r == HV_NO_DEVICE || r == HV_UNSUPPORTED) {
		printf("skipped: no usable hypervisor on this machine (%s)\n", WHY());
		return 77;
	}
	check(r, HV_SUCCESS, "hv_vm_create(HV_VM_DEFAULT)");

	printf("1. capability\n");
	check(hv_capability(HV_CAP_ADDRSPACEMAX, &max_spaces), HV_SUCCESS, "hv_capability(HV_CAP_ADDRSPACEMAX)");
	printf("  this host allows %llu address spaces (the default one included)\n", (unsigned long long)max_spaces);
	if (max_spaces < 3) {
		printf("skipped: the example needs 3 address spaces\n");
		hv_vm_destroy();
		return 77;
	}

	printf("2. one buffer in two spaces, a third space with its own memory\n");
	shared = host_alloc(SIZE);
	private_mem = host_alloc(SIZE);
	check(hv_vm_space_create(&shadow), HV_SUCCESS, "hv_vm_space_create(&shadow)");
	check(hv_vm_space_create(&secure), HV_SUCCESS, "hv_vm_space_create(&secure)");
	printf("  space ids: default %u, shadow %u, secure %u\n", HV_VM_SPACE_DEFAULT, shadow, secure);
	check(hv_vm_map(shared, 0x100000, SIZE, RW), HV_SUCCESS, "hv_vm_map(shared, 0x100000, RWX)            [default]");
	check(hv_vm_map_space(shadow, shared, 0x400000, SIZE, HV_MEMORY_READ), HV_SUCCESS,
	      "hv_vm_map_space(shadow, shared, 0x400000, R)   [shadow]");
	check(hv_vm_map_space(secure, private_mem, 0x100000, SIZE, RW), HV_SUCCESS,
	      "hv_vm_map_space(secure, private, 0x100000, RWX) [secure]");

	printf("3. changes stay in their space\n");
	check(hv_vm_protect_space(shadow, 0x400000, 4096, 0), HV_SUCCESS, "hv_vm_protect_space(shadow, 0x400000, none)");
	check(hv_vm_unmap_space(secure, 0x100000, 4096), HV_SUCCESS, "hv_vm_unmap_space(secure, 0x100000, 4 KiB)");
	/* 0x100000 is free in "secure" now, but still mapped in the default space. */
	check(hv_vm_map_space(secure, private_mem, 0x100000, 4096, HV_MEMORY_READ), HV_SUCCESS,
	      "hv_vm_map_space(secure, private, 0x100000, R)");
	check(hv_vm_map(shared, 0x100000, 4096, HV_MEMORY_READ), HV_ERROR, "hv_vm_map(shared, 0x100000, R)  [still mapped]");

	printf("4. lifetime rules\n");
	check(hv_vm_space_destroy(HV_VM_SPACE_DEFAULT), HV_BAD_ARGUMENT, "hv_vm_space_destroy(HV_VM_SPACE_DEFAULT)");
	check(hv_vm_space_destroy(4242), HV_BAD_ARGUMENT, "hv_vm_space_destroy(4242)");
	check(hv_vm_space_destroy(shadow), HV_SUCCESS, "hv_vm_space_destroy(shadow)   (its mappings go with it)");
	check(hv_vm_space_destroy(secure), HV_SUCCESS, "hv_vm_space_destroy(secure)");
	check(hv_vm_unmap(0x100000, SIZE), HV_SUCCESS, "hv_vm_unmap(0x100000)");
	check(hv_vm_destroy(), HV_SUCCESS, "hv_vm_destroy()");
	munmap(shared, SIZE);
	munmap(private_mem, SIZE);
	if (failures) return 1;
	printf("address-spaces: done\n");
	return 0;
}
