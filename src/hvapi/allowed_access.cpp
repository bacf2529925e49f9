#include "hvapi/allowed_access.h"

#include <cstring>

namespace hvshim::hv {

bool complete_allowed_access(const Space& space, uint64_t gpa, unsigned len, bool is_write, uint8_t* data) {
  if (len == 0 || len > 8) return false;
  // An access may straddle two pages; both must allow it.
  uint64_t first = gpa & ~(kPageSize - 1), last = (gpa + len - 1) & ~(kPageSize - 1);
  uint8_t* host[2] = {nullptr, nullptr};
  for (uint64_t pg = first, i = 0; pg <= last; pg += kPageSize, ++i) {
    auto e = space.pages().lookup(pg);
    // Readable on KVM means any permission at all (exec implies read).
    bool ok = e && (is_write ? (e->perms & kPermWrite) != 0 : e->perms != 0);
    if (!ok) return false;
    host[i] = reinterpret_cast<uint8_t*>(e->hva);
  }
  unsigned off = static_cast<unsigned>(gpa - first);
  unsigned in_first = first == last ? len : static_cast<unsigned>(kPageSize - off);
  if (is_write) {
    memcpy(host[0] + off, data, in_first);
    if (in_first < len) memcpy(host[1], data + in_first, len - in_first);
  } else {
    memcpy(data, host[0] + off, in_first);
    if (in_first < len) memcpy(data + in_first, host[1], len - in_first);
  }
  return true;
}

}  // namespace hvshim::hv
