// Every failing path goes through fail(): it records why (for
// hvshim_last_error) and hands the code back, so no error is silent.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include <mach/kern_return.h>

#include "common/last_error.h"
#include "machvm/kr_name.h"

namespace hvshim::machvm {

namespace detail {
// Set by fail() so the C layer knows whether a specific reason was recorded.
inline thread_local bool t_failed_with_reason = false;
}  // namespace detail

template <class... A>
kern_return_t fail(kern_return_t kr, fmt::format_string<A...> f, A&&... a) {
  hvshim::set_last_error(fmt::format("{}: {}", kr_name(kr), fmt::format(f, std::forward<A>(a)...)));
  detail::t_failed_with_reason = true;
  return kr;
}

inline std::string errno_text(int e) { return fmt::format("errno {} ({})", e, std::strerror(e)); }

}  // namespace hvshim::machvm
