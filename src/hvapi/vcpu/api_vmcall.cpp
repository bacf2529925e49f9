// <hvshim/hvshim.h>: what a guest VMCALL does on this host kind.
#include <cpuid.h>
#include <hvshim/hvshim.h>

#include <cstring>

#include "common/export.h"
#include "common/last_error.h"
#include "hvapi/api_trace.h"
#include "kvm/system.h"

using namespace hvshim;
using namespace hvshim::hv;

namespace {

// KVM treats the hypercall instruction of the host's own vendor as native;
// the other one is emulated (patched, or #UD with patching off).
bool host_is_amd() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(0, &a, &b, &c, &d)) return false;
  char v[13] = {};
  memcpy(v, &b, 4);
  memcpy(v + 4, &d, 4);
  memcpy(v + 8, &c, 4);
  return strcmp(v, "AuthenticAMD") == 0 || strcmp(v, "HygonGenuine") == 0;
}

}  // namespace

extern "C" {

HVSHIM_EXPORT hv_return_t hvshim_vmcall_behaviour(uint32_t* out) {
  return traced("hvshim_vmcall_behaviour", [&] { return fmt::format("{}", static_cast<void*>(out)); },
                [&]() -> hv_return_t {
                  if (!out) {
                    set_last_error("out is null");
                    return HV_BAD_ARGUMENT;
                  }
                  auto sys = kvm::System::open();
                  if (!sys) {
                    set_last_error(sys.error().describe());
                    return HV_NO_DEVICE;
                  }
                  int quirks = sys->check_extension(kvm::kCapDisableQuirks2);
                  bool no_patch = quirks > 0 && (static_cast<uint64_t>(quirks) & kvm::kQuirkFixHypercallInsn);
                  uint32_t b = 0;
                  if (host_is_amd()) {
                    if (no_patch) b |= HVSHIM_VMCALL_CODE_INTACT | HVSHIM_VMCALL_EXIT_REAL_MODE | HVSHIM_VMCALL_GUEST_UD;
                    else b |= HVSHIM_VMCALL_EXIT_READ_ONLY_PAGE;
                  } else {
                    b |= HVSHIM_VMCALL_CODE_INTACT | HVSHIM_VMCALL_KVM_HYPERCALL;
                  }
                  *out = b;
                  return HV_SUCCESS;
                });
}

}  // extern "C"
