#include "hvapi/vm_instance.h"

#include <pthread.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/last_error.h"
#include "common/log.h"
#include "hvapi/fail.h"
#include "kvm/device_advice.h"

namespace hvshim::hv {
namespace {

std::mutex g_mu;
// A plain pointer, never destroyed by static destructors: a VMM may exit()
// while its vCPU threads are still inside hv_vcpu_run, which must not find
// the VM freed under them. The kernel releases the KVM objects at exit.
VmInstance* g_vm = nullptr;

// KVM refuses a VM's ioctls from any process but its creator, so a forked
// child starts with no VM and may create its own, as on macOS.
void register_fork_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    pthread_atfork([] { g_mu.lock(); }, [] { g_mu.unlock(); },
                   [] {
                     delete g_vm;
                     g_vm = nullptr;
                     g_mu.unlock();
                   });
  });
}

uint64_t guest_gpa_limit(const kvm::System& sys) {
  unsigned bits = 36;
  if (auto cpuid = sys.supported_cpuid(); cpuid) {
    for (const auto& e : *cpuid)
      if (e.function == 0x80000008 && (e.eax & 0xff) != 0) bits = e.eax & 0xff;
  }
  return bits >= 64 ? UINT64_MAX : (1ull << bits);
}

// HVSHIM_PROTECT_PATH=memslot turns the userfaultfd path off, so both
// paths can be tested and compared on the same host.
std::unique_ptr<FaultRouter> make_router() {
  const char* e = getenv("HVSHIM_PROTECT_PATH");
  if (e && strcmp(e, "memslot") == 0) {
    log::debug("write protection: memslots only (HVSHIM_PROTECT_PATH=memslot)");
    return nullptr;
  }
  std::string why;
  auto r = FaultRouter::create(&why);
  if (r) {
    log::debug("write protection: userfaultfd for shared memory, memslots otherwise");
    return r;
  }
  // Permission is the one cause a user can fix: say how, once per process.
  static std::once_flag told;
  auto advice = kvm::userfaultfd_problem();
  if (advice && !advice->commands.empty())
    std::call_once(told, [&] { log::warn("{}", kvm::render(*advice)); });
  else log::info("write protection: memslots only; userfaultfd unavailable: {}", why);
  return r;
}

}  // namespace

std::mutex& vm_mutex() { return g_mu; }
VmInstance* current_vm() { return g_vm; }

kvm::Result<std::unique_ptr<VmInstance>> VmInstance::create(uint64_t options) {
  auto sys = kvm::System::open();
  if (!sys) return sys.error();
  uint64_t limit = guest_gpa_limit(*sys);
  std::unique_ptr<VmInstance> vm(new VmInstance(std::move(*sys), options, limit));
  vm->router_ = make_router();
  auto sp = Space::create(vm->sys_, 0, vm->router_.get());
  if (!sp) return sp.error();
  vm->spaces_.emplace(0, std::move(*sp));
  return vm;
}

Space* VmInstance::space(uint32_t id) {
  auto it = spaces_.find(id);
  return it == spaces_.end() ? nullptr : it->second.get();
}

hv_return_t VmInstance::create_space(uint32_t* id) {
  if (spaces_.size() >= kMaxSpaces) {
    set_last_error(fmt::format("all {} address spaces are in use", kMaxSpaces));
    return HV_NO_RESOURCES;
  }
  uint32_t next = 1;
  while (spaces_.count(next)) ++next;
  auto sp = Space::create(sys_, next, router_.get());
  if (!sp) {
    set_last_error(sp.error().describe());
    return code_for_errno(sp.error().err);
  }
  spaces_.emplace(next, std::move(*sp));
  *id = next;
  return HV_SUCCESS;
}

hv_return_t VmInstance::destroy_space(uint32_t id) {
  auto it = spaces_.find(id);
  if (id == 0 || it == spaces_.end()) {
    set_last_error(fmt::format("no address space {}{}", id, id == 0 ? " (the default space cannot be destroyed)" : ""));
    return HV_BAD_ARGUMENT;
  }
  if (it->second->vcpu_users.load() > 0) {
    set_last_error(fmt::format("address space {} is in use by {} vCPU(s)", id, it->second->vcpu_users.load()));
    return HV_BUSY;
  }
  spaces_.erase(it);
  return HV_SUCCESS;
}

hv_return_t vm_create_locked(uint64_t options) {
  register_fork_handlers();
  if (g_vm) {
    set_last_error("a VM already exists in this process");
    return HV_BUSY;
  }
  auto vm = VmInstance::create(options);
  if (!vm) {
    if (kvm::System::is_device_error(vm.error())) return no_device(vm.error());
    set_last_error(vm.error().describe());
    int e = vm.error().err;
    if (e == ENODEV || e == ENXIO) return HV_NO_DEVICE;
    return code_for_errno(e);
  }
  g_vm = vm->release();
  return HV_SUCCESS;
}

hv_return_t no_device(const kvm::Error& e) {
  set_last_error(kvm::render(kvm::kvm_problem(e)));
  return HV_NO_DEVICE;
}

hv_return_t vm_destroy_locked() {
  if (!g_vm) {
    set_last_error("no VM exists in this process");
    return HV_DENIED;
  }
  if (g_vm->live_vcpus > 0) {
    set_last_error(fmt::format("{} vCPU(s) still exist", g_vm->live_vcpus));
    return HV_BUSY;
  }
  delete g_vm;
  g_vm = nullptr;
  return HV_SUCCESS;
}

}  // namespace hvshim::hv
