/*
 * guest-memory: mapping, protecting and unmapping guest-physical memory with
 * Hypervisor.framework, as a VMM sets up guest RAM, ROM and holes.
 *
 * The same file builds on macOS:   cc guest_memory.c -framework Hypervisor
 * and on Linux with hvshim:        hvshim-cc guest_memory.c -framework Hypervisor
 *
 * What it shows:
 *   1. hv_vm_map: 1 MiB of host memory becomes guest RAM at guest-physical 0
 *   2. hv_vm_protect: the top 64 KiB become read-only "ROM", one page becomes a hole
 *      with no access (guest accesses to it exit to the VMM as EPT violations)
 *   3. hv_vm_map refuses a range that is already mapped, and changes nothing
 *   4. hv_vm_unmap takes out any page-aligned sub-range (a hole for an MMIO device),
 *      and a range that touches an unmapped page is refused as a whole
 *   5. another host buffer mapped into the hole
 * Exit status 77: no usable hypervisor here (ctest reports "skipped").
 */
#include <Hypervisor/hv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#ifdef __linux__
#include <hvshim/hvshim.h> /* hvshim_last_error(): which check or KVM call failed */
#define WHY() hvshim_last_error()
#else
#define WHY() ""
#endif

#define KiB 1024ull
#define MiB (1024 * KiB)
#define RAM_SIZE (1 * MiB)
#define ROM_GPA (RAM_SIZE - 64 * KiB)
#define HOLE_GPA 0x80000ull /* one page with no access */
#define MMIO_GPA 0xa0000ull /* 128 KiB taken out of RAM, then given other memory */
#define MMIO_SIZE (128 * KiB)

static void check(hv_return_t r, const char *call) {
	if (r != HV_SUCCESS) {
		fprintf(stderr, "%s failed: 0x%x %s\n", call, (unsigned)r, WHY());
		exit(1);
	}
	printf("  %-60s ok\n", call);
}

/* A call that must fail with a given error. */
static void expect(hv_return_t r, hv_return_t want, const char *call) {
	if (r != want) {
		fprintf(stderr, "%s returned 0x%x, expected 0x%x\n", call, (unsigned)r, (unsigned)want);
		exit(1);
	}
	printf("  %-60s refused as expected (%s)\n", call, WHY());
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
	void *ram, *device;
	hv_return_t r = hv_vm_create(HV_VM_DEFAULT);
	if (r == HV_NO_DEVICE || r == HV_UNSUPPORTED) {
		printf("skipped: no usable hypervisor on this machine (%s)\n", WHY());
		return 77;
	}
	check(r, "hv_vm_create(HV_VM_DEFAULT)");

	printf("1. guest RAM\n");
	ram = host_alloc(RAM_SIZE);
	memset(ram, 0xf4, RAM_SIZE); /* hlt everywhere */
	check(hv_vm_map(ram, 0, RAM_SIZE, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC),
	      "hv_vm_map(ram, 0, 1 MiB, RWX)");

	printf("2. ROM and a no-access page\n");
	check(hv_vm_protect(ROM_GPA, 64 * KiB, HV_MEMORY_READ | HV_MEMORY_EXEC), "hv_vm_protect(0xf0000, 64 KiB, RX)");
	check(hv_vm_protect(HOLE_GPA, 4 * KiB, 0), "hv_vm_protect(0x80000, 4 KiB, none)");
	check(hv_vm_protect(HOLE_GPA, 4 * KiB, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC),
	      "hv_vm_protect(0x80000, 4 KiB, RWX) again");

	printf("3. overlapping mappings are refused\n");
	device = host_alloc(MMIO_SIZE);
	expect(hv_vm_map(device, MMIO_GPA, MMIO_SIZE, HV_MEMORY_READ), HV_ERROR, "hv_vm_map(device, 0xa0000, 128 KiB, R)");
	expect(hv_vm_map((char *)ram + 1, 2 * MiB, 4 * KiB, HV_MEMORY_READ), HV_BAD_ARGUMENT,
	       "hv_vm_map(unaligned host address, ...)");

	printf("4. a hole in the middle of RAM\n");
	check(hv_vm_unmap(MMIO_GPA, MMIO_SIZE), "hv_vm_unmap(0xa0000, 128 KiB)");
	/* As on macOS, unmapping pages that are not mapped is not an error. */
	check(hv_vm_unmap(MMIO_GPA, MMIO_SIZE), "hv_vm_unmap(0xa0000, 128 KiB) again");

	printf("5. other memory in the hole\n");
	check(hv_vm_map(device, MMIO_GPA, MMIO_SIZE, HV_MEMORY_READ | HV_MEMORY_WRITE), "hv_vm_map(device, 0xa0000, 128 KiB, RW)");

	/* Tear down: unmapping may span several mappings. */
	check(hv_vm_unmap(0, RAM_SIZE), "hv_vm_unmap(0, 1 MiB)");
	check(hv_vm_destroy(), "hv_vm_destroy()");
	munmap(device, MMIO_SIZE);
	munmap(ram, RAM_SIZE);
	printf("guest-memory: done\n");
	return 0;
}
