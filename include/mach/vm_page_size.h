/* The page size of this system, set when the library loads. */
#ifndef HVSHIM_MACH_VM_PAGE_SIZE_H
#define HVSHIM_MACH_VM_PAGE_SIZE_H

#include <mach/vm_types.h>

#ifdef __cplusplus
extern "C" {
#endif

extern vm_size_t vm_page_size;
extern vm_size_t vm_page_mask;
extern int vm_page_shift;
extern vm_size_t vm_kernel_page_size;
extern vm_size_t vm_kernel_page_mask;
extern int vm_kernel_page_shift;

#ifdef __cplusplus
}
#endif

#define trunc_page(x) ((x) & (~(vm_page_size - 1)))
#define round_page(x) trunc_page((x) + (vm_page_size - 1))

#endif
