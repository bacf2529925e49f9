/*
 * glibc's <sys/user.h> (included by debuggers and emulators) defines
 * PAGE_SIZE, PAGE_SHIFT and a PAGE_MASK with the opposite meaning; the Mach
 * headers after it must compile cleanly and keep the program's definitions.
 */
#include <sys/user.h>
#include <mach/mach.h>
#include <mach/vm_param.h>
#include "inc_funcs.h"

int ht_mach_clash(void)
{
	return (PAGE_SIZE == 4096) + (PAGE_MASK == ~(PAGE_SIZE - 1)) + (I386_PGBYTES == 4096);
}
