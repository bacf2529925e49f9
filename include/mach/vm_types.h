/* Address, size and offset types of the Mach VM interface (LP64). */
#ifndef HVSHIM_MACH_VM_TYPES_H
#define HVSHIM_MACH_VM_TYPES_H

#include <stdint.h>
#include <mach/port.h>

typedef uintptr_t vm_offset_t;
typedef uintptr_t vm_size_t;
typedef uintptr_t vm_address_t;
typedef vm_offset_t pointer_t;

typedef uint64_t mach_vm_address_t;
typedef uint64_t mach_vm_offset_t;
typedef uint64_t mach_vm_size_t;
typedef uint64_t vm_map_offset_t;
typedef uint64_t vm_map_address_t;
typedef uint64_t vm_map_size_t;
typedef uint64_t vm_object_offset_t;
typedef uint64_t vm_object_size_t;

typedef uint32_t vm32_object_id_t;
typedef unsigned long long vm_object_id_t;

typedef uint32_t vm32_address_t;
typedef uint32_t vm32_offset_t;
typedef uint32_t vm32_size_t;

typedef uint8_t *vm_map_copy_t;
typedef int vm_page_info_flavor_t;

#endif
