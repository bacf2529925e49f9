#include "common/last_error.h"

namespace hvshim {
namespace {
thread_local std::string t_last_error;
}
void set_last_error(std::string text) { t_last_error = std::move(text); }
void clear_last_error() { t_last_error.clear(); }
const char* last_error_cstr() { return t_last_error.c_str(); }
}  // namespace hvshim
