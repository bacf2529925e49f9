// The one way in from C: every exported hv_* and mach_* call runs its body
// through c_boundary(). No exception may cross extern "C" (a C caller has no
// handler, so the process would terminate): std::bad_alloc becomes the API's
// out-of-resources code, anything else its generic failure, each with a
// reason for hvshim_last_error(). At HVSHIM_LOG=debug the call is logged with
// its arguments, result and duration (and a failure's reason); arguments
// are formatted only then.
#pragma once

#include <chrono>
#include <concepts>
#include <exception>
#include <new>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "common/last_error.h"
#include "common/log.h"

namespace hvshim {

// What an API tells the boundary (see hvapi/api_trace.h, machvm/c_api_call.h):
//   using Code; static constexpr Code kSuccess, kOutOfMemory, kInternalError;
//   static std::string result_text(Code)            for the log line;
//   static void begin();                            before the body;
//   static void record(Code, std::string reason);   a failure the boundary caught;
//   static void end(const char* call, Code);        after the body (fallback reasons).
template <class Api>
concept CBoundaryApi = requires(typename Api::Code c, std::string s, const char* n) {
  { Api::kSuccess } -> std::convertible_to<typename Api::Code>;
  { Api::kOutOfMemory } -> std::convertible_to<typename Api::Code>;
  { Api::kInternalError } -> std::convertible_to<typename Api::Code>;
  { Api::result_text(c) } -> std::convertible_to<std::string>;
  Api::begin();
  Api::record(c, s);
  Api::end(n, c);
};

namespace detail {
// Records a caught failure's reason. Formatting it may itself run out of
// memory; then the stale reason is cleared rather than left to mislead.
template <class Api>
void record_caught(typename Api::Code code, const char* call, const char* what) noexcept {
  try {
    Api::record(code, fmt::format("{}: {}", call, what));
  } catch (...) {
    clear_last_error();
  }
}
}  // namespace detail

template <CBoundaryApi Api, class ArgsFn, class Body>
[[nodiscard]] typename Api::Code c_boundary(const char* call, ArgsFn&& args, Body&& body) noexcept {
  using Code = typename Api::Code;
  const bool dbg = log::enabled(log::Level::debug);
  // The clock only when the call is logged: a cheap call (a register read,
  // a region walk step) costs less than two clock reads.
  const auto t0 = dbg ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
  Code r;
  try {
    Api::begin();
    r = body();
    Api::end(call, r);
  } catch (const std::bad_alloc&) {
    r = Api::kOutOfMemory;
    detail::record_caught<Api>(r, call, "out of memory");
  } catch (const std::exception& e) {
    r = Api::kInternalError;
    detail::record_caught<Api>(r, call, e.what());
  } catch (...) {
    r = Api::kInternalError;
    detail::record_caught<Api>(r, call, "internal error");
  }
  if (dbg) {
    try {
      double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
      if (r == Api::kSuccess) {
        log::debug("{}({}) = {} in {:.1f} us", call, args(), Api::result_text(r), us);
      } else {
        // The reason's first line; a multi-line fix is for the caller to print.
        std::string_view why = last_error_cstr();
        log::debug("{}({}) = {} in {:.1f} us: {}", call, args(), Api::result_text(r), us,
                   why.substr(0, why.find('\n')));
      }
    } catch (...) {
      // The log line is lost (no memory to format it); the result stands.
    }
  }
  return r;
}

}  // namespace hvshim
