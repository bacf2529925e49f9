#include "hvapi/fail.h"

#include <cerrno>
#include <utility>

#include "common/last_error.h"

namespace hvshim::hv {

hv_return_t code_for_errno(int err) {
  switch (err) {
    case ENOMEM:
    case EMFILE:
    case ENFILE:
    case ENOSPC: return HV_NO_RESOURCES;
    default: return HV_ERROR;
  }
}

hv_return_t fail(hv_return_t code, std::string why) {
  set_last_error(std::move(why));
  return code;
}

hv_return_t kvm_fail(const kvm::Error& e) { return fail(code_for_errno(e.err), e.describe()); }

}  // namespace hvshim::hv
