// Names for kern_return_t values, for logs and test messages.
#pragma once

#include <mach/kern_return.h>

namespace hvshim::machvm {
const char* kr_name(kern_return_t kr);
}
