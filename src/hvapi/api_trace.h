// The C ABI's call tracing: at HVSHIM_LOG=debug every hv_* call is logged
// with its arguments, its result name and how long it took. Arguments are
// formatted only when the level is on; a failure adds hvshim_last_error()'s reason.
#pragma once

#include <Hypervisor/hv_error.h>

#include <chrono>
#include <string>

#include "common/last_error.h"
#include "common/log.h"

namespace hvshim::hv {

const char* hv_return_name(hv_return_t r);

template <class DescribeArgs, class Body>
hv_return_t traced(const char* fn, DescribeArgs&& describe_args, Body&& body) {
  if (!log::enabled(log::Level::debug)) return body();
  auto t0 = std::chrono::steady_clock::now();
  hv_return_t r = body();
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
  if (r == HV_SUCCESS) {
    log::debug("{}({}) -> {} [{} ns]", fn, describe_args(), hv_return_name(r), ns);
  } else {
    // The reason's first line; a multi-line fix is for the caller to print.
    std::string_view why = last_error_cstr();
    log::debug("{}({}) -> {} [{} ns]: {}", fn, describe_args(), hv_return_name(r), ns, why.substr(0, why.find('\n')));
  }
  return r;
}

}  // namespace hvshim::hv
