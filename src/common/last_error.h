// Thread-local text that says why the last failing call failed (which check,
// which ioctl, which errno). Exposed to users through <hvshim/hvshim.h>.
#pragma once

#include <string>

namespace hvshim {
void set_last_error(std::string text);
void clear_last_error();
const char* last_error_cstr();
}  // namespace hvshim
