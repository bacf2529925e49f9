// How hard the stress tests push. Counts are sized so each test stays well
// under a minute under ASan on a 2-core PVM host; HVSHIM_STRESS_SCALE
// multiplies them for soak runs (e.g. HVSHIM_STRESS_SCALE=50 for a night).
#pragma once

#include <cstdlib>
#include <string>

namespace stress {

inline double scale_factor() {
  const char* s = getenv("HVSHIM_STRESS_SCALE");
  if (!s || !*s) return 1.0;
  char* end = nullptr;
  double f = strtod(s, &end);
  return (end != s && f > 0) ? f : 1.0;
}

// `base` scaled, at least 1.
inline int scaled(int base) {
  double v = base * scale_factor();
  return v < 1 ? 1 : static_cast<int>(v);
}

// Seconds of wall time, scaled.
inline double scaled_seconds(double base) { return base * scale_factor(); }

}  // namespace stress
