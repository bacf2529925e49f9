/* Memory-object types and the mach_make_memory_entry permission word. */
#ifndef HVSHIM_MACH_MEMORY_OBJECT_TYPES_H
#define HVSHIM_MACH_MEMORY_OBJECT_TYPES_H

#include <mach/port.h>
#include <mach/vm_types.h>

typedef unsigned long long memory_object_offset_t;
typedef unsigned long long memory_object_size_t;
typedef natural_t memory_object_cluster_size_t;

#define MEMORY_OBJECT_NULL ((memory_object_t)0)
#define MEMORY_OBJECT_NAME_NULL ((memory_object_name_t)0)

#define MAP_MEM_NOOP 0
#define MAP_MEM_COPYBACK 1
#define MAP_MEM_IO 2
#define MAP_MEM_WTHRU 3
#define MAP_MEM_WCOMB 4
#define MAP_MEM_INNERWBACK 5
#define MAP_MEM_POSTED 6
#define MAP_MEM_RT 7
#define MAP_MEM_POSTED_REORDERED 8
#define MAP_MEM_POSTED_COMBINED_REORDERED 9

#define GET_MAP_MEM(flags) ((((unsigned int)(flags)) >> 24) & 0xFF)
#define SET_MAP_MEM(caching, flags) \
  ((flags) = ((((unsigned int)(caching)) << 24) & 0xFF000000) | ((flags) & 0xFFFFFF));

#define MAP_MEM_PROT_MASK 0xFF
#define MAP_MEM_LEDGER_TAGGED 0x002000
#define MAP_MEM_PURGABLE_KERNEL_ONLY 0x004000
#define MAP_MEM_GRAB_SECLUDED 0x008000
#define MAP_MEM_ONLY 0x010000
#define MAP_MEM_NAMED_CREATE 0x020000
#define MAP_MEM_PURGABLE 0x040000
#define MAP_MEM_NAMED_REUSE 0x080000
#define MAP_MEM_USE_DATA_ADDR 0x100000
#define MAP_MEM_VM_COPY 0x200000
#define MAP_MEM_VM_SHARE 0x400000
#define MAP_MEM_4K_DATA_ADDR 0x800000
#define MAP_MEM_FLAGS_MASK 0x00FFFF00
#define MAP_MEM_FLAGS_USER                                                               \
  (MAP_MEM_PURGABLE_KERNEL_ONLY | MAP_MEM_GRAB_SECLUDED | MAP_MEM_ONLY |                  \
   MAP_MEM_NAMED_CREATE | MAP_MEM_PURGABLE | MAP_MEM_NAMED_REUSE | MAP_MEM_USE_DATA_ADDR | \
   MAP_MEM_VM_COPY | MAP_MEM_VM_SHARE | MAP_MEM_LEDGER_TAGGED | MAP_MEM_4K_DATA_ADDR)

#endif
