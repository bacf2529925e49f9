// One logger for the whole library. HVSHIM_LOG=error|warn|info|debug|trace
// (default warn) chooses what is written; HVSHIM_LOG_FILE=path redirects it.
// A disabled level costs one relaxed atomic load and a branch.
#pragma once

#include <atomic>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace hvshim::log {

enum class Level : int { error = 0, warn = 1, info = 2, debug = 3, trace = 4 };

namespace detail {
extern std::atomic<int> g_level;
void init_once();
}  // namespace detail

inline bool enabled(Level l) {
  int cur = detail::g_level.load(std::memory_order_relaxed);
  if (cur < 0) {
    detail::init_once();
    cur = detail::g_level.load(std::memory_order_relaxed);
  }
  return static_cast<int>(l) <= cur;
}

void write(Level l, std::string_view msg);

// Re-reads HVSHIM_LOG / HVSHIM_LOG_FILE (tests change them at run time).
void reload_from_env();

template <class... A>
void logf(Level l, fmt::format_string<A...> f, A&&... a) {
  if (enabled(l)) write(l, fmt::format(f, std::forward<A>(a)...));
}

template <class... A> void error(fmt::format_string<A...> f, A&&... a) { logf(Level::error, f, std::forward<A>(a)...); }
template <class... A> void warn(fmt::format_string<A...> f, A&&... a) { logf(Level::warn, f, std::forward<A>(a)...); }
template <class... A> void info(fmt::format_string<A...> f, A&&... a) { logf(Level::info, f, std::forward<A>(a)...); }
template <class... A> void debug(fmt::format_string<A...> f, A&&... a) { logf(Level::debug, f, std::forward<A>(a)...); }
template <class... A> void trace(fmt::format_string<A...> f, A&&... a) { logf(Level::trace, f, std::forward<A>(a)...); }

}  // namespace hvshim::log
