// The library is built with hidden visibility; only the public C ABI is
// exported, marked on each definition with HVSHIM_EXPORT.
#pragma once
#define HVSHIM_EXPORT __attribute__((visibility("default")))
