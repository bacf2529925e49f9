#include "live_vm.h"

#include <mach/mach.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <thread>

#include "common/last_error.h"
#include "long_mode_guest.h"
#include "process_usage.h"

namespace stress {
namespace {

constexpr uint64_t kWindow = 0x40000000;
constexpr uint64_t kRwx = HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC;

// Kept reachable from globals: the process exits with them alive.
SysImage* g_sys = nullptr;
LongModeGuest* g_main_guest = nullptr;

bool fail(std::string* err, const std::string& what) {
  *err = what + ": " + hvshim::last_error_cstr();
  return false;
}

}  // namespace

bool build_live_vm(VcpuThread thread, std::string* err) {
  if (hv_vm_create(HV_VM_DEFAULT) != HV_SUCCESS) return fail(err, "hv_vm_create");
  g_sys = new SysImage();
  if (g_sys->map_into(HV_VM_SPACE_DEFAULT) != HV_SUCCESS) return fail(err, "map system image");
  // Guest RAM from a Mach memory entry (a memfd underneath).
  memory_object_size_t size = 16 * 4096;
  mach_port_t entry = MACH_PORT_NULL;
  if (mach_make_memory_entry_64(mach_task_self(), &size, 0, VM_PROT_DEFAULT | MAP_MEM_NAMED_CREATE, &entry,
                                MACH_PORT_NULL) != KERN_SUCCESS)
    return fail(err, "mach_make_memory_entry_64");
  mach_vm_address_t ram = 0;
  if (mach_vm_map(mach_task_self(), &ram, size, 0, VM_FLAGS_ANYWHERE, entry, 0, FALSE, VM_PROT_DEFAULT,
                  VM_PROT_DEFAULT, VM_INHERIT_DEFAULT) != KERN_SUCCESS)
    return fail(err, "mach_vm_map");
  if (hv_vm_map(reinterpret_cast<void*>(ram), kWindow, size, kRwx) != HV_SUCCESS) return fail(err, "hv_vm_map");
  hv_vm_space_t s1 = 0;
  if (hv_vm_space_create(&s1) != HV_SUCCESS) return fail(err, "hv_vm_space_create");
  if (g_sys->map_into(s1) != HV_SUCCESS || hv_vm_map_space(s1, reinterpret_cast<void*>(ram), kWindow, size, kRwx))
    return fail(err, "map into space 1");
  auto g = LongModeGuest::create(err);
  if (!g) return false;
  if (!g->write64(kWindow, 0x11).ok()) return fail(err, "guest write");
  if (hv_vcpu_set_space(g->id(), s1) != HV_SUCCESS || !g->read64(kWindow).ok())
    return fail(err, "guest in space 1");
  g_main_guest = g.release();
  if (thread == VcpuThread::None) return true;
  std::atomic<int> ready{0};
  std::thread([&ready, thread] {
    std::string e;
    auto t = LongModeGuest::create(&e);
    if (!t) {
      ready = -1;
      return;
    }
    LongModeGuest* kept = t.release();
    if (thread == VcpuThread::Parked) {
      ready = 1;
      for (;;) pause();
    }
    if (thread == VcpuThread::InGuest) {
      kept->start(GuestCode::spin());
      ready = 1;
      for (;;) hv_vcpu_run(kept->id());  // the guest never exits on its own
    }
    // Busy: read the system image and report through port I/O, forever;
    // every iteration is an exit the library decodes from guest memory.
    kept->start(GuestCode::read64(), kSysGpa + 0x7000);
    ready = 1;
    for (;;) {
      hv_vcpu_run(kept->id());
      kept->skip();
    }
  }).detach();
  while (ready.load() == 0) std::this_thread::yield();
  if (ready.load() < 0) return fail(err, "vCPU thread");
  return true;
}

std::string kvm_holdings() {
  std::string out = "fds:";
  for (const auto& f : kvm_fds(getpid())) out += " " + f;
  out += "; maps:";
  for (const auto& m : kvm_maps(getpid())) out += " " + m.substr(m.find_last_of(' ') + 1);
  return out;
}

}  // namespace stress
