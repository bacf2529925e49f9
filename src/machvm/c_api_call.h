// The wrapper every exported Mach call goes through: no exception crosses
// into C, every failure carries a reason, and HVSHIM_LOG=debug shows the
// call, its arguments, its result and how long it took.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <new>
#include <string>

#include <mach/message.h>

#include "common/export.h"
#include "common/last_error.h"
#include "common/log.h"
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

template <class ArgsFn, class Body>
kern_return_t api_call(const char* call, ArgsFn&& args, Body&& body) {
  const char* name = detail::t_alias ? detail::t_alias : call;
  detail::t_alias = nullptr;  // calls made on our behalf log under their own names
  const bool dbg = log::enabled(log::Level::debug);
  // The clock only when the call is logged: a region walk step costs less
  // than two clock reads.
  const auto t0 = dbg ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
  detail::t_failed_with_reason = false;
  kern_return_t kr;
  try {
    kr = body();
  } catch (const std::bad_alloc&) {
    kr = fail(KERN_RESOURCE_SHORTAGE, "{}: out of memory", name);
  } catch (...) {
    kr = fail(KERN_FAILURE, "{}: internal error", name);
  }
  if (kr != KERN_SUCCESS && !detail::t_failed_with_reason) set_last_error(std::string(kr_name(kr)) + ": " + name);
  if (dbg) {
    double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    log::debug("{}({}) = {} ({}) in {:.1f} us", name, args(), kr_name(kr), kr, us);
  }
  return kr;
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
