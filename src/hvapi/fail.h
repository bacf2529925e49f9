// How hv_* calls fail: every failing path records why (for
// hvshim_last_error) and returns the code, and a KVM or host errno maps to
// a code in one place, so the same errno means the same code everywhere.
#pragma once

#include <Hypervisor/hv_error.h>

#include <string>
#include <utility>

#include "kvm/result.h"

namespace hvshim::hv {

// Resource exhaustion (ENOMEM, EMFILE, ENFILE, ENOSPC) is HV_NO_RESOURCES,
// as documented; any other errno is HV_ERROR. Opening /dev/kvm has its own
// HV_NO_DEVICE cases first (vm_create_locked).
[[nodiscard]] hv_return_t code_for_errno(int err);

// Records `why` and returns `code`.
[[nodiscard]] hv_return_t fail(hv_return_t code, std::string why);
[[nodiscard]] inline hv_return_t bad(std::string why) { return fail(HV_BAD_ARGUMENT, std::move(why)); }
// Records the failed KVM call and returns code_for_errno(e.err).
[[nodiscard]] hv_return_t kvm_fail(const kvm::Error& e);

}  // namespace hvshim::hv
