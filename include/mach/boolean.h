/* boolean_t as Darwin user space defines it for the host architecture. */
#ifndef HVSHIM_MACH_BOOLEAN_H
#define HVSHIM_MACH_BOOLEAN_H

#if defined(__x86_64__) || defined(__i386__)
typedef unsigned int boolean_t;
#else
typedef int boolean_t;
#endif

#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif

#endif
