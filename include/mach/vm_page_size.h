/* The page size of this system, set when the library loads, and the
 * rounding macros built on it. */
#ifndef HVSHIM_MACH_VM_PAGE_SIZE_H
#define HVSHIM_MACH_VM_PAGE_SIZE_H

#include <mach/vm_types.h>
#include <mach/mach_types.h>

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

#define mach_vm_trunc_page(x) ((mach_vm_offset_t)(x) & ~((mach_vm_offset_t)vm_page_mask))
#define mach_vm_round_page(x) (((mach_vm_offset_t)(x) + vm_page_mask) & ~((mach_vm_offset_t)vm_page_mask))

#define trunc_page_kernel(x) ((x) & (~vm_kernel_page_mask))
#define round_page_kernel(x) trunc_page_kernel((x) + vm_kernel_page_mask)

#endif
