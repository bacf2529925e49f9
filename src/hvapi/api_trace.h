// The C ABI's call tracing: at HVSHIM_LOG=debug every hv_* call is logged
// with its arguments, its result name and how long it took. Arguments are
// formatted only when the level is on.
#pragma once

#include <Hypervisor/hv_error.h>

#include <chrono>
#include <string>

#include "common/log.h"

namespace hvshim::hv {

const char* hv_return_name(hv_return_t r);

template <class DescribeArgs, class Body>
hv_return_t traced(const char* fn, DescribeArgs&& describe_args, Body&& body) {
  if (!log::enabled(log::Level::debug)) return body();
  auto t0 = std::chrono::steady_clock::now();
  hv_return_t r = body();
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
  log::debug("{}({}) -> {} [{} ns]", fn, describe_args(), hv_return_name(r), ns);
  return r;
}

}  // namespace hvshim::hv
