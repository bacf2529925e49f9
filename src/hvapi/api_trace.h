// The C ABI's boundary for hv_* calls (common/c_boundary.h): at
// HVSHIM_LOG=debug every call is logged with its arguments, its result name
// and how long it took, and no exception reaches the C caller.
#pragma once

#include <Hypervisor/hv_error.h>

#include <string>
#include <utility>

#include "common/c_boundary.h"
#include "common/last_error.h"

namespace hvshim::hv {

const char* hv_return_name(hv_return_t r);

struct HvApi {
  using Code = hv_return_t;
  static constexpr Code kSuccess = HV_SUCCESS;
  static constexpr Code kOutOfMemory = HV_NO_RESOURCES;
  static constexpr Code kInternalError = HV_ERROR;
  static std::string result_text(Code r) { return hv_return_name(r); }
  static void begin() {}
  static void record(Code, std::string reason) { set_last_error(std::move(reason)); }
  // Every failing path of an hv_* call records its own reason.
  static void end(const char*, Code) {}
};

template <class DescribeArgs, class Body>
hv_return_t traced(const char* fn, DescribeArgs&& describe_args, Body&& body) {
  return c_boundary<HvApi>(fn, std::forward<DescribeArgs>(describe_args), std::forward<Body>(body));
}

}  // namespace hvshim::hv
