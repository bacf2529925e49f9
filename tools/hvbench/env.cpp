#include <Hypervisor/hv.h>
#include <hvshim/hvshim.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <numeric>

#include <fmt/format.h>

#include "harness.h"
#include "hvapi/vm_instance.h"

#pragma weak hv_vcpu_destroy

namespace hvbench {

double Samples::quantile(double q) const {
  if (v_.empty()) return NAN;
  std::vector<double> s = v_;
  std::sort(s.begin(), s.end());
  double pos = q * static_cast<double>(s.size() - 1);
  size_t i = static_cast<size_t>(pos);
  double f = pos - static_cast<double>(i);
  return i + 1 < s.size() ? s[i] * (1 - f) + s[i + 1] * f : s[i];
}

double Samples::sum() const { return std::accumulate(v_.begin(), v_.end(), 0.0); }
double Samples::mean() const { return v_.empty() ? NAN : sum() / static_cast<double>(v_.size()); }

std::string Samples::summary(double scale, const char* unit) const {
  if (v_.empty()) return "no samples";
  return fmt::format("med {:.1f} {} [p25 {:.1f}, p75 {:.1f}, p99 {:.1f}, mean {:.1f}] n={}", median() / scale, unit,
                     quantile(0.25) / scale, quantile(0.75) / scale, quantile(0.99) / scale, mean() / scale,
                     v_.size());
}

std::string fmt_ns(double ns) {
  if (std::isnan(ns)) return "-";
  if (ns >= 1e9) return fmt::format("{:.2f} s", ns / 1e9);
  if (ns >= 1e6) return fmt::format("{:.2f} ms", ns / 1e6);
  if (ns >= 1e3) return fmt::format("{:.2f} us", ns / 1e3);
  return fmt::format("{:.0f} ns", ns);
}

HostBuf::~HostBuf() {
  if (p) munmap(p, size);
  if (fd >= 0) close(fd);
}

std::unique_ptr<HostBuf> HostBuf::make(uint64_t size, bool shared, std::string* err) {
  auto b = std::make_unique<HostBuf>();
  b->size = size;
  if (shared) {
    b->fd = memfd_create("hvbench", MFD_CLOEXEC);
    if (b->fd < 0 || ftruncate(b->fd, static_cast<off_t>(size)) != 0) {
      *err = fmt::format("memfd: {}", strerror(errno));
      return nullptr;
    }
    b->p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd, 0);
  } else {
    b->p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  }
  if (b->p == MAP_FAILED) {
    b->p = nullptr;
    *err = fmt::format("mmap {} bytes: {}", size, strerror(errno));
    return nullptr;
  }
  // Transparent huge pages would make first touch and refault costs depend
  // on the host's compaction luck; keep 4 KiB host pages everywhere.
  madvise(b->p, size, MADV_NOHUGEPAGE);
  return b;
}

std::unique_ptr<Env> Env::create(std::string* err) {
  std::unique_ptr<Env> e(new Env());
  if (!e->img.host()) {
    *err = "cannot allocate the guest system image";
    return nullptr;
  }
  // The shim.
  if (hv_return_t r = hv_vm_create(HV_VM_DEFAULT); r != HV_SUCCESS) {
    *err = fmt::format("hv_vm_create: {:#x} ({})", r, hvshim_last_error());
    return nullptr;
  }
  if (hv_return_t r = hv_vm_map(e->img.host(), kSysGpa, kSysSize, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC);
      r != HV_SUCCESS) {
    *err = fmt::format("hv_vm_map(system image): {:#x} ({})", r, hvshim_last_error());
    return nullptr;
  }
  {
    std::lock_guard lk(hvshim::hv::vm_mutex());
    auto* vm = hvshim::hv::current_vm();
    auto* sp = vm->space(0);
    e->shim_zap_off = sp->zap_all_disabled();
    e->shim_guest = Guest::create(vm->system(), sp->kvm_vm(), 200, e->img, err);
    if (!e->shim_guest) {
      *err = "shim-side guest: " + *err;
      return nullptr;
    }
  }
  // Raw KVM.
  auto sys = hvshim::kvm::System::open();
  if (!sys) {
    *err = "raw: " + sys.error().describe();
    return nullptr;
  }
  e->raw_sys.emplace(std::move(*sys));
  auto vm = hvshim::kvm::Vm::create(*e->raw_sys);
  if (!vm) {
    *err = "raw: " + vm.error().describe();
    return nullptr;
  }
  e->raw_vm.emplace(std::move(*vm));
  e->raw_zap_off = e->raw_vm->disable_slot_zap_all();
  if (auto st = e->raw_vm->set_memslot({0, kSysGpa, kSysSize, reinterpret_cast<uint64_t>(e->img.host()), false});
      !st) {
    *err = "raw: slot 0: " + st.error().describe();
    return nullptr;
  }
  e->raw_guest = Guest::create(*e->raw_sys, *e->raw_vm, 0, e->img, err);
  if (!e->raw_guest) {
    *err = "raw-side guest: " + *err;
    return nullptr;
  }
  // Smoke-run both guests over the system page.
  for (auto* g : {e->shim_guest.get(), e->raw_guest.get()}) {
    if (g->walk(kSysGpa, kSysSize / kPage, false, err) < 0) {
      *err = fmt::format("{} guest does not run: {}", g == e->shim_guest.get() ? "shim-side" : "raw", *err);
      return nullptr;
    }
  }
  return e;
}

Env::~Env() {
  shim_guest.reset();
  raw_guest.reset();
  if (hv_vcpu >= 0 && &hv_vcpu_destroy) hv_vcpu_destroy(static_cast<hv_vcpuid_t>(hv_vcpu));
  hv_vm_unmap(kSysGpa, kSysSize);
  hv_vm_destroy();
}

int64_t Env::raw_page_add(uint64_t hva) {
  const uint32_t slot = raw_slot(100);
  int64_t t0 = now_ns();
  auto st = raw_vm->set_memslot({slot, kProbeGpa, kPage, hva, false});
  int64_t t1 = now_ns();
  if (!st) return -1;
  (void)raw_vm->delete_memslot(slot);
  return t1 - t0;
}

size_t Env::shim_slot_count() const {
  std::lock_guard lk(hvshim::hv::vm_mutex());
  auto* vm = hvshim::hv::current_vm();
  return vm && vm->space(0) ? vm->space(0)->slots().count() : 0;
}

size_t Env::shim_slot_limit() const {
  std::lock_guard lk(hvshim::hv::vm_mutex());
  auto* vm = hvshim::hv::current_vm();
  return vm && vm->space(0) ? vm->space(0)->slots().max_slots() : 0;
}

}  // namespace hvbench
