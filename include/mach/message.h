/* The part of <mach/message.h> VM callers see: counts and send errors. */
#ifndef HVSHIM_MACH_MESSAGE_H
#define HVSHIM_MACH_MESSAGE_H

#include <mach/port.h>
#include <mach/kern_return.h>

typedef natural_t mach_msg_type_number_t;
typedef kern_return_t mach_msg_return_t;

#define MACH_MSG_SUCCESS 0x00000000
#define MACH_SEND_INVALID_DATA 0x10000002
#define MACH_SEND_INVALID_DEST 0x10000003
#define MACH_SEND_INVALID_RIGHT 0x1000000a
#define MACH_SEND_INVALID_MEMORY 0x1000000c

#define MIG_TYPE_ERROR (-300)
#define MIG_BAD_ARGUMENTS (-304)
#define MIG_ARRAY_TOO_LARGE (-307)

#endif
