#include "common/log.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

namespace hvshim::log {
namespace detail {
std::atomic<int> g_level{-1};
}

namespace {
std::mutex g_mu;
FILE* g_out = nullptr;  // nullptr means stderr

int parse_level(const char* s) {
  if (!s || !*s) return static_cast<int>(Level::warn);
  static const char* names[] = {"error", "warn", "info", "debug", "trace"};
  for (int i = 0; i < 5; ++i)
    if (strcasecmp(s, names[i]) == 0) return i;
  return static_cast<int>(Level::warn);
}

void configure_locked() {
  if (g_out) {
    fclose(g_out);
    g_out = nullptr;
  }
  if (const char* path = getenv("HVSHIM_LOG_FILE"); path && *path) g_out = fopen(path, "ae");
  detail::g_level.store(parse_level(getenv("HVSHIM_LOG")), std::memory_order_relaxed);
}
}  // namespace

void detail::init_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    std::lock_guard lk(g_mu);
    configure_locked();
  });
}

void reload_from_env() {
  detail::init_once();
  std::lock_guard lk(g_mu);
  configure_locked();
}

void write(Level l, std::string_view msg) {
  static const char* tags[] = {"error", "warn", "info", "debug", "trace"};
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  std::string line = fmt::format("[hvshim {}.{:06} {} tid={}] {}\n", ts.tv_sec, ts.tv_nsec / 1000,
                                 tags[static_cast<int>(l)], static_cast<long>(syscall(SYS_gettid)), msg);
  std::lock_guard lk(g_mu);
  FILE* out = g_out ? g_out : stderr;
  fwrite(line.data(), 1, line.size(), out);
  fflush(out);
}

}  // namespace hvshim::log
