#include "kvm/fault_injection.h"

#include <atomic>
#include <cstring>
#include <mutex>
#include <string>

namespace hvshim::kvm::fault_injection {
namespace {
std::atomic<bool> g_armed{false};
std::mutex g_mu;
std::string g_name;
int g_err = 0, g_skip = 0, g_count = 0;
}  // namespace

void arm(const char* name, int err, int skip, int count) {
  std::lock_guard lk(g_mu);
  g_name = name;
  g_err = err;
  g_skip = skip;
  g_count = count;
  g_armed.store(true);
}

void disarm() {
  std::lock_guard lk(g_mu);
  g_count = 0;
  g_armed.store(false);
}

int should_fail(const char* name) {
  if (!g_armed.load(std::memory_order_relaxed)) return 0;
  std::lock_guard lk(g_mu);
  if (g_count <= 0 || g_name != name) return 0;
  if (g_skip > 0) {
    --g_skip;
    return 0;
  }
  if (--g_count == 0) g_armed.store(false);
  return g_err;
}

}  // namespace hvshim::kvm::fault_injection
