#include "hvapi/wp/fault_router.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace hvshim::hv {

namespace {
constexpr uint64_t kPage = 4096;
}

std::unique_ptr<FaultRouter> FaultRouter::create(std::string* why) {
  auto u = kvm::Userfault::open();
  if (!u) {
    *why = u.error().describe();
    return nullptr;
  }
  int stop = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop < 0) {
    *why = fmt::format("eventfd: {}", strerror(errno));
    return nullptr;
  }
  std::unique_ptr<FaultRouter> r(new FaultRouter(std::move(*u), stop));
  r->owner_pid_ = getpid();
  // The router thread must never take a kick or any signal meant for the
  // VMM's threads: block everything it could inherit.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int e = pthread_create(
      &r->thread_, nullptr,
      [](void* p) -> void* {
        static_cast<FaultRouter*>(p)->loop();
        return nullptr;
      },
      r.get());
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (e != 0) {
    *why = fmt::format("pthread_create: {}", strerror(e));
    close(stop);
    r->stop_fd_ = -1;
    return nullptr;
  }
  pthread_setname_np(r->thread_, "hvshim-wp");
  r->started_ = true;
  return r;
}

FaultRouter::~FaultRouter() {
  // A fork child has the object but not the thread (nor the aliases).
  if (started_ && owner_pid_ == getpid()) {
    uint64_t one = 1;
    if (write(stop_fd_, &one, sizeof one) != sizeof one) log::error("wp router: cannot stop its thread");
    pthread_join(thread_, nullptr);
  }
  if (stop_fd_ >= 0) close(stop_fd_);
}

void FaultRouter::loop() {
  pollfd fds[2] = {{uffd_.fd(), POLLIN, 0}, {stop_fd_, POLLIN, 0}};
  for (;;) {
    int n = poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      log::error("wp router: poll: {}", strerror(errno));
      return;
    }
    if (fds[1].revents) return;
    for (;;) {
      auto m = uffd_.read_msg();
      if (!m) break;
      on_fault(*m);
    }
  }
}

void FaultRouter::on_fault(const kvm::UserfaultMsg& m) {
  uint64_t page = m.address & ~(kPage - 1);
  std::shared_ptr<VcpuFaultSlot> slot;
  {
    std::lock_guard lk(mu_);
    auto it = slots_.find(m.tid);
    if (it != slots_.end()) slot = it->second;
    log::trace("wp router: {} fault at {:#x} by tid {}{}", m.write ? "write" : "read", m.address, m.tid,
               !slot ? " (not a vCPU of ours)" : slot->emulated.load() ? " (emulated mode)" : "");
    if (!slot || slot->emulated.load()) {
      demote(page);
      return;
    }
  }
  {
    std::lock_guard lk(slot->mu);
    if (slot->fault_addr.load() == 0) {
      slot->fault_addr.store(m.address);
      syscall(SYS_tgkill, getpid(), slot->tid, slot->kick_signal);
      return;
    }
    slot->kernel_write_refused.store(true);
  }
  // Kicked, yet faulting again: KVM itself is writing, which a kick cannot
  // stop. Demoted, the write fails before anything lands: KVM's emulator
  // turns it into MMIO, its shadow page walker into a guest #PF, which the
  // vCPU takes back and reports as the EPT violation (kernel_write_refused).
  // Never let through and undone afterwards: the host would see the
  // guest's bytes meanwhile, and an undo could overwrite a host write.
  log::trace("wp router: {:#x} demoted for a kernel access of tid {}", page, m.tid);
  std::lock_guard lk(mu_);
  demote(page);
}

void FaultRouter::demote(uint64_t page) {
  // KVM's write through this page now fails instead of blocking, and turns
  // into an MMIO exit with nothing written.
  if (mprotect(reinterpret_cast<void*>(page), kPage, PROT_READ) != 0) {
    log::error("wp router: mprotect {:#x}: {}", page, strerror(errno));
  } else if (std::find(demoted_.begin(), demoted_.end(), page) == demoted_.end()) {
    demoted_.push_back(page);
    demoted_count_.store(demoted_.size());
  }
  if (auto st = uffd_.wake(page, kPage); !st) log::error("wp router: wake {:#x}: {}", page, st.error().describe());
}

bool FaultRouter::restore_demoted() {
  if (demoted_count_.load() == 0) return false;
  std::lock_guard lk(mu_);
  bool any = !demoted_.empty();
  // Back under userfaultfd control: the write-protect bit is still set.
  for (uint64_t p : demoted_) mprotect(reinterpret_cast<void*>(p), kPage, PROT_READ | PROT_WRITE);
  demoted_.clear();
  demoted_count_.store(0);
  return any;
}

std::shared_ptr<VcpuFaultSlot> FaultRouter::attach(pid_t tid, int kick_signal) {
  std::lock_guard lk(mu_);
  auto& s = slots_[tid];
  if (!s) {
    s = std::make_shared<VcpuFaultSlot>();
    s->tid = tid;
    s->kick_signal = kick_signal;
  }
  ++s->users;
  return s;
}

void FaultRouter::detach(pid_t tid) {
  std::lock_guard lk(mu_);
  auto it = slots_.find(tid);
  if (it != slots_.end() && --it->second->users <= 0) slots_.erase(it);
}

std::optional<WriteFault> FaultRouter::take_fault(VcpuFaultSlot& slot) {
  std::lock_guard lk(slot.mu);
  uint64_t addr = slot.fault_addr.exchange(0);
  if (!addr) return std::nullopt;
  WriteFault f;
  f.alias_addr = addr;
  f.kernel_write_refused = slot.kernel_write_refused.exchange(false);
  return f;
}

void FaultRouter::end_access(VcpuFaultSlot& slot) {
  std::lock_guard lk(slot.mu);
  slot.fault_addr.store(0);
  slot.kernel_write_refused.store(false);
}

void FaultRouter::forget(uint64_t alias, uint64_t len) {
  std::lock_guard lk(mu_);
  std::erase_if(demoted_, [&](uint64_t p) { return p >= alias && p < alias + len; });
  demoted_count_.store(demoted_.size());
}

void FaultRouter::undemote(uint64_t alias, uint64_t len) {
  if (demoted_count_.load() == 0) return;
  std::lock_guard lk(mu_);
  std::erase_if(demoted_, [&](uint64_t p) {
    if (p < alias || p >= alias + len) return false;
    mprotect(reinterpret_cast<void*>(p), kPage, PROT_READ | PROT_WRITE);
    return true;
  });
  demoted_count_.store(demoted_.size());
}

}  // namespace hvshim::hv
