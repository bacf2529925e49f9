/* Page rounding for mach_vm_* addresses and the user address-space bounds. */
#ifndef HVSHIM_MACH_VM_PARAM_H
#define HVSHIM_MACH_VM_PARAM_H

#include <mach/vm_page_size.h>

#define mach_vm_trunc_page(x) ((mach_vm_offset_t)(x) & ~((mach_vm_offset_t)vm_page_mask))
#define mach_vm_round_page(x) (((mach_vm_offset_t)(x) + vm_page_mask) & ~((mach_vm_offset_t)vm_page_mask))
#define round_page_64(x) mach_vm_round_page(x)
#define trunc_page_64(x) mach_vm_trunc_page(x)

#define MACH_VM_MIN_ADDRESS ((mach_vm_offset_t)0)
#if defined(__x86_64__)
#define MACH_VM_MAX_ADDRESS ((mach_vm_offset_t)0x00007FFFFFE00000ULL)
#else
#define MACH_VM_MAX_ADDRESS ((mach_vm_offset_t)0x0000FFFFFFFFF000ULL)
#endif
#define VM_MIN_ADDRESS ((vm_offset_t)0)
#define VM_MAX_ADDRESS ((vm_offset_t)MACH_VM_MAX_ADDRESS)

#endif
