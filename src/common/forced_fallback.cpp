#include "common/forced_fallback.h"

#include <cstdlib>
#include <string>

namespace hvshim {

bool fallback_listed(std::string_view spec, std::string_view feature) {
  while (!spec.empty()) {
    size_t comma = spec.find(',');
    std::string_view name = spec.substr(0, comma);
    if (name == feature || name == "all") return true;
    if (comma == std::string_view::npos) break;
    spec.remove_prefix(comma + 1);
  }
  return false;
}

bool fallback_forced(std::string_view feature) {
  static const std::string spec = [] {
    const char* e = getenv("HVSHIM_FORCE_FALLBACK");
    return std::string(e ? e : "");
  }();
  return fallback_listed(spec, feature);
}

}  // namespace hvshim
