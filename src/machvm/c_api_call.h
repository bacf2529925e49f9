// The wrapper every exported Mach call goes through: no exception crosses
// into C, every failure carries a reason, and HVSHIM_LOG=debug shows the
// call, its arguments, its result and how long it took.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>

#include <mach/message.h>

#include "common/c_boundary.h"
#include "common/export.h"
#include "common/last_error.h"
#include "machvm/fail.h"
#include "machvm/ports.h"

namespace hvshim::machvm {

namespace detail {
inline thread_local const char* t_alias = nullptr;
}  // namespace detail

// Set by the vm_* twins so the log names the call the user made.
struct CallAlias {
  explicit CallAlias(const char* n) : prev(detail::t_alias) { detail::t_alias = n; }
  ~CallAlias() { detail::t_alias = prev; }
  CallAlias(const CallAlias&) = delete;
  CallAlias& operator=(const CallAlias&) = delete;
  const char* prev;
};

struct MachApi {
  using Code = kern_return_t;
  static constexpr Code kSuccess = KERN_SUCCESS;
  static constexpr Code kOutOfMemory = KERN_RESOURCE_SHORTAGE;
  static constexpr Code kInternalError = KERN_FAILURE;
  static std::string result_text(Code kr) { return fmt::format("{} ({})", kr_name(kr), kr); }
  static void begin() { detail::t_failed_with_reason = false; }
  static void record(Code kr, const std::string& reason) { fail(kr, "{}", reason); }
  // A failure without a fail() of its own still says which call failed.
  static void end(const char* call, Code kr) {
    if (kr != KERN_SUCCESS && !detail::t_failed_with_reason) set_last_error(std::string(kr_name(kr)) + ": " + call);
  }
};

template <class ArgsFn, class Body>
kern_return_t api_call(const char* call, ArgsFn&& args, Body&& body) {
  const char* name = detail::t_alias ? detail::t_alias : call;
  detail::t_alias = nullptr;  // calls made on our behalf log under their own names
  return c_boundary<MachApi>(name, std::forward<ArgsFn>(args), std::forward<Body>(body));
}

// Which task a vm_map_t names.
struct TaskTarget {
  enum Kind { self, remote, invalid } kind = invalid;
  pid_t pid = 0;
};
TaskTarget resolve_task(mach_port_t port);

// For calls only the calling task supports: MACH_SEND_INVALID_DEST for a
// bad port, KERN_NOT_SUPPORTED for another process, else KERN_SUCCESS.
kern_return_t require_self(mach_port_t port, const char* call);

}  // namespace hvshim::machvm
