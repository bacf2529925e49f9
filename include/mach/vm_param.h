/* Page-size constants and the user address-space bounds.
 *
 * On x86_64 the page size is 4 KiB on Linux as on Intel macOS, so PAGE_SIZE
 * is the compile-time constant the SDK gives (I386_PGBYTES); elsewhere it is
 * vm_page_size, as in the arm64 SDK. A program that included glibc's
 * <sys/user.h> first keeps glibc's PAGE_* (there PAGE_MASK is ~(size - 1)). */
#ifndef HVSHIM_MACH_VM_PARAM_H
#define HVSHIM_MACH_VM_PARAM_H

#include <mach/vm_page_size.h>

#define BYTE_SIZE 8

#if defined(__x86_64__) || defined(__i386__)
#define I386_PGBYTES 4096
#define I386_PGSHIFT 12
#ifndef PAGE_SHIFT
#define PAGE_SHIFT I386_PGSHIFT
#endif
#ifndef PAGE_SIZE
#define PAGE_SIZE I386_PGBYTES
#endif
#ifndef PAGE_MASK
#define PAGE_MASK (PAGE_SIZE - 1)
#endif
#else
#ifndef PAGE_SHIFT
#define PAGE_SHIFT vm_page_shift
#endif
#ifndef PAGE_SIZE
#define PAGE_SIZE vm_page_size
#endif
#ifndef PAGE_MASK
#define PAGE_MASK vm_page_mask
#endif
#define VM_PAGE_SIZE vm_page_size
#endif

#define PAGE_MAX_SHIFT 14
#define PAGE_MAX_SIZE (1 << PAGE_MAX_SHIFT)
#define PAGE_MAX_MASK (PAGE_MAX_SIZE - 1)

#define PAGE_MIN_SHIFT 12
#define PAGE_MIN_SIZE (1 << PAGE_MIN_SHIFT)
#define PAGE_MIN_MASK (PAGE_MIN_SIZE - 1)

#define MACH_VM_MIN_ADDRESS ((mach_vm_offset_t)0)
#if defined(__x86_64__) || defined(__i386__)
#define MACH_VM_MAX_ADDRESS ((mach_vm_offset_t)0x00007FFFFFE00000ULL)
#define VM_MIN_ADDRESS ((vm_offset_t)0)
#define VM_MAX_ADDRESS ((vm_offset_t)0xFFE00000)
#else
#define MACH_VM_MAX_ADDRESS ((mach_vm_offset_t)0x0000FFFFFFFFF000ULL)
#define VM_MAX_PAGE_ADDRESS MACH_VM_MAX_ADDRESS
#define VM_MIN_ADDRESS ((vm_offset_t)MACH_VM_MIN_ADDRESS)
#define VM_MAX_ADDRESS ((vm_offset_t)MACH_VM_MAX_ADDRESS)
#endif

#endif
