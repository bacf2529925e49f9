/*
 * consumer: the smallest program that uses an installed hvshim.  It creates a VM,
 * maps 64 KiB of host memory into the guest, unmaps it and destroys the VM.
 *
 * Built three ways by the test suite (tests/packaging):
 *   CMake:       find_package(hvshim REQUIRED) + target_link_libraries(consumer hvshim::hvshim)
 *   pkg-config:  cc consumer.c $(pkg-config --cflags --libs hvshim)   (Makefile)
 *   macOS:       cc consumer.c -framework Hypervisor
 *
 * Exit status: 0 on success, 77 (the "skipped" code of ctest and automake) when this machine
 * has no usable hypervisor, 1 on any other failure.
 */
#include <Hypervisor/hv.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#if defined(__has_include)
#if __has_include(<hvshim/hvshim.h>)
#include <hvshim/hvshim.h> /* hvshim's extension: why the last call failed */
#define HAVE_HVSHIM 1
#endif
#endif

static const char *why(void) {
#ifdef HAVE_HVSHIM
	return hvshim_last_error();
#else
	return "";
#endif
}

static int check(hv_return_t r, const char *call) {
	if (r == HV_SUCCESS) return 1;
	fprintf(stderr, "%s failed: 0x%x %s\n", call, (unsigned)r, why());
	return 0;
}

int main(void) {
	const size_t size = 64 * 1024;
	const hv_gpaddr_t gpa = 0x100000;
	void *mem;
	hv_return_t r;
	int ok;

#ifdef HAVE_HVSHIM
	printf("hvshim %s\n", hvshim_version());
#endif
	r = hv_vm_create(HV_VM_DEFAULT);
	if (r == HV_NO_DEVICE || r == HV_UNSUPPORTED) {
		printf("skipped: no usable hypervisor on this machine (%s)\n", why());
		return 77;
	}
	if (!check(r, "hv_vm_create")) return 1;

	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANON, -1, 0);
	if (mem == MAP_FAILED) return 1;
	memset(mem, 0x90, size);

	ok = check(hv_vm_map(mem, gpa, size, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC), "hv_vm_map") &&
	     check(hv_vm_unmap(gpa, size), "hv_vm_unmap");
	ok = check(hv_vm_destroy(), "hv_vm_destroy") && ok;
	munmap(mem, size);
	if (ok) printf("consumer: mapped and unmapped %zu KiB at guest 0x%llx\n", size / 1024, (unsigned long long)gpa);
	return ok ? 0 : 1;
}
