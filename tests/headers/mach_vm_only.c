/*
 * A program that includes only <mach/mach_vm.h>, as macOS code often does,
 * still has the allocation flags, the page size, memset and the error text
 * function: the SDK header pulls them in through mach_types.h and friends.
 */
#include <mach/mach_vm.h>
#include "inc_funcs.h"

static char ht_page[PAGE_SIZE];

int ht_mach_vm_only(void)
{
	int flags = VM_FLAGS_ANYWHERE | VM_MAKE_TAG(VM_MEMORY_SCENEKIT);
	memset(ht_page, 0, sizeof(ht_page));
	/* unevaluated: checks the prototype without needing the library */
	(void)sizeof(mach_error_string(KERN_NO_SPACE));
	(void)sizeof(mach_vm_round_page(1));
	return (flags & VM_FLAGS_ANYWHERE) + (int)(sizeof(ht_page) == PAGE_SIZE) + (PAGE_MASK == PAGE_SIZE - 1) +
	       (PAGE_MIN_SIZE <= PAGE_SIZE) + (PAGE_SIZE <= PAGE_MAX_SIZE);
}
