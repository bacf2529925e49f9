// HVSHIM_FORCE_FALLBACK=name[,name...] (or "all"): take the path the library
// uses on kernels that lack a feature, on a kernel that has it, so the suite
// runs the old-kernel paths too. Names (docs/kernels.md):
//   procmap_query        /proc/self/maps text instead of the PROCMAP_QUERY ioctl (< 6.11)
//   zap_all_quirk        KVM_X86_QUIRK_SLOT_ZAP_ALL left enabled (< 6.12)
//   uffd_wp_unpopulated  userfaultfd handshake without UFFD_FEATURE_WP_UNPOPULATED (< 6.4)
//   userfaultfd_syscall  /dev/userfaultfd instead of userfaultfd(2), as an ordinary user gets
//                        with vm.unprivileged_userfaultfd=0
//   userfaultfd          no userfaultfd at all: write protection by memslots only
#pragma once

#include <string_view>

namespace hvshim {

// Read once per process; unknown names are ignored.
[[nodiscard]] bool fallback_forced(std::string_view feature);

// For tests: parse `spec` as the variable's value would be.
[[nodiscard]] bool fallback_listed(std::string_view spec, std::string_view feature);

}  // namespace hvshim
