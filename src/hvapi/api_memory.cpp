// C ABI: VM lifetime, capabilities, guest memory and address spaces.
// Validate, call the core under the VM lock, map the result.
#include <Hypervisor/hv.h>
#include <sys/mman.h>

#include <cerrno>

#include "common/export.h"
#include "common/last_error.h"
#include "hvapi/api_trace.h"
#include "hvapi/fail.h"
#include "hvapi/vm_instance.h"
#include "kvm/system.h"

using namespace hvshim;
using namespace hvshim::hv;

namespace {

constexpr uint64_t kPageMask = kPageSize - 1;
constexpr uint64_t kKnownVmOptions = HV_VM_SPECIFY_MITIGATIONS | HV_VM_MITIGATION_A_ENABLE | HV_VM_MITIGATION_B_ENABLE |
                                     HV_VM_MITIGATION_C_ENABLE | HV_VM_MITIGATION_D_ENABLE | HV_VM_MITIGATION_E_ENABLE;

hv_return_t no_vm() {
  set_last_error("no VM: call hv_vm_create first");
  return HV_DENIED;
}

hv_return_t check_range(const VmInstance& vm, hv_gpaddr_t gpa, size_t size) {
  if (size == 0) return bad("size is 0");
  if ((gpa & kPageMask) || (size & kPageMask)) return bad("gpa and size must be multiples of 4096");
  if (gpa + size < gpa) return bad("gpa range wraps around");
  if (gpa + size > vm.gpa_limit()) return bad("gpa range exceeds the guest physical address width");
  return HV_SUCCESS;
}

hv_return_t check_flags(hv_memory_flags_t flags) {
  if (flags & ~static_cast<hv_memory_flags_t>(HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC))
    return bad("flags other than HV_MEMORY_READ|WRITE|EXEC");
  return HV_SUCCESS;
}

hv_return_t check_host_range(hv_uvaddr_t uva, size_t size) {
  auto a = reinterpret_cast<uintptr_t>(uva);
  if (a == 0 || (a & kPageMask)) return bad("uva is null or not page aligned");
  if (a + size < a) return bad("uva range wraps around");
  // The whole host range must be mapped in this process: msync fails with
  // ENOMEM on a hole and touches nothing.
  if (msync(const_cast<void*>(uva), size, MS_ASYNC) != 0 && errno == ENOMEM)
    return bad("uva range is not entirely mapped in this process");
  return HV_SUCCESS;
}

// Runs `body(vm, space)` under the VM lock once the VM and the space exist.
template <class Body>
hv_return_t in_space(hv_vm_space_t asid, Body&& body) {
  std::lock_guard lk(vm_mutex());
  VmInstance* vm = current_vm();
  if (!vm) return no_vm();
  Space* s = vm->space(asid);
  if (!s) {
    set_last_error(fmt::format("no address space {}", asid));
    return HV_BAD_ARGUMENT;
  }
  return body(*vm, *s);
}

hv_return_t do_map(hv_vm_space_t asid, hv_uvaddr_t uva, hv_gpaddr_t gpa, size_t size, hv_memory_flags_t flags) {
  return in_space(asid, [&](VmInstance& vm, Space& s) -> hv_return_t {
    if (hv_return_t r = check_range(vm, gpa, size); r) return r;
    if (hv_return_t r = check_flags(flags); r) return r;
    if (hv_return_t r = check_host_range(uva, size); r) return r;
    return s.map(reinterpret_cast<uintptr_t>(uva), gpa, size, static_cast<uint8_t>(flags));
  });
}

hv_return_t do_unmap(hv_vm_space_t asid, hv_gpaddr_t gpa, size_t size) {
  return in_space(asid, [&](VmInstance& vm, Space& s) -> hv_return_t {
    if (hv_return_t r = check_range(vm, gpa, size); r) return r;
    return s.unmap(gpa, size);
  });
}

hv_return_t do_protect(hv_vm_space_t asid, hv_gpaddr_t gpa, size_t size, hv_memory_flags_t flags) {
  return in_space(asid, [&](VmInstance& vm, Space& s) -> hv_return_t {
    if (hv_return_t r = check_range(vm, gpa, size); r) return r;
    if (hv_return_t r = check_flags(flags); r) return r;
    return s.protect(gpa, size, static_cast<uint8_t>(flags));
  });
}

}  // namespace

extern "C" {

HVSHIM_EXPORT hv_return_t hv_vm_create(hv_vm_options_t flags) {
  return traced("hv_vm_create", [&] { return fmt::format("{:#x}", flags); }, [&]() -> hv_return_t {
    if (flags & HV_VM_ACCEL_APIC) {
      set_last_error("HV_VM_ACCEL_APIC (in-kernel APIC emulation) is not provided");
      return HV_UNSUPPORTED;
    }
    if (flags & ~kKnownVmOptions) return bad("unknown hv_vm_options_t bits");
    std::lock_guard lk(vm_mutex());
    return vm_create_locked(flags);
  });
}

HVSHIM_EXPORT hv_return_t hv_vm_destroy(void) {
  return traced("hv_vm_destroy", [] { return std::string(); }, [] {
    std::lock_guard lk(vm_mutex());
    return vm_destroy_locked();
  });
}

HVSHIM_EXPORT hv_return_t hv_capability(hv_capability_t capability, uint64_t* value) {
  return traced("hv_capability", [&] { return fmt::format("{}", capability); }, [&]() -> hv_return_t {
    if (!value) return bad("value is null");
    if (capability == HV_CAP_ADDRSPACEMAX) {
      *value = kMaxSpaces;
      return HV_SUCCESS;
    }
    if (capability != HV_CAP_VCPUMAX) return bad("unknown capability");
    std::lock_guard lk(vm_mutex());
    int n;
    if (VmInstance* vm = current_vm()) {
      n = vm->system().check_extension(kvm::kCapMaxVcpus);
    } else {
      auto sys = kvm::System::open();
      if (!sys) return no_device(sys.error());
      n = sys->check_extension(kvm::kCapMaxVcpus);
    }
    *value = n > 0 ? static_cast<uint64_t>(n) : 1;
    return HV_SUCCESS;
  });
}

HVSHIM_EXPORT hv_return_t hv_vm_map(hv_uvaddr_t uva, hv_gpaddr_t gpa, size_t size, hv_memory_flags_t flags) {
  return traced("hv_vm_map", [&] { return fmt::format("{}, {:#x}, {:#x}, {:#x}", uva, gpa, size, flags); },
                [&] { return do_map(HV_VM_SPACE_DEFAULT, uva, gpa, size, flags); });
}

HVSHIM_EXPORT hv_return_t hv_vm_unmap(hv_gpaddr_t gpa, size_t size) {
  return traced("hv_vm_unmap", [&] { return fmt::format("{:#x}, {:#x}", gpa, size); },
                [&] { return do_unmap(HV_VM_SPACE_DEFAULT, gpa, size); });
}

HVSHIM_EXPORT hv_return_t hv_vm_protect(hv_gpaddr_t gpa, size_t size, hv_memory_flags_t flags) {
  return traced("hv_vm_protect", [&] { return fmt::format("{:#x}, {:#x}, {:#x}", gpa, size, flags); },
                [&] { return do_protect(HV_VM_SPACE_DEFAULT, gpa, size, flags); });
}

HVSHIM_EXPORT hv_return_t hv_vm_space_create(hv_vm_space_t* asid) {
  return traced("hv_vm_space_create", [] { return std::string(); }, [&]() -> hv_return_t {
    if (!asid) return bad("asid is null");
    std::lock_guard lk(vm_mutex());
    VmInstance* vm = current_vm();
    if (!vm) return no_vm();
    uint32_t id = 0;
    hv_return_t r = vm->create_space(&id);
    if (r == HV_SUCCESS) *asid = id;
    return r;
  });
}

HVSHIM_EXPORT hv_return_t hv_vm_space_destroy(hv_vm_space_t asid) {
  return traced("hv_vm_space_destroy", [&] { return fmt::format("{}", asid); }, [&]() -> hv_return_t {
    std::lock_guard lk(vm_mutex());
    VmInstance* vm = current_vm();
    if (!vm) return no_vm();
    return vm->destroy_space(asid);
  });
}

HVSHIM_EXPORT hv_return_t hv_vm_map_space(hv_vm_space_t asid, hv_uvaddr_t uva, hv_gpaddr_t gpa, size_t size,
                                          hv_memory_flags_t flags) {
  return traced("hv_vm_map_space",
                [&] { return fmt::format("{}, {}, {:#x}, {:#x}, {:#x}", asid, uva, gpa, size, flags); },
                [&] { return do_map(asid, uva, gpa, size, flags); });
}

HVSHIM_EXPORT hv_return_t hv_vm_unmap_space(hv_vm_space_t asid, hv_gpaddr_t gpa, size_t size) {
  return traced("hv_vm_unmap_space", [&] { return fmt::format("{}, {:#x}, {:#x}", asid, gpa, size); },
                [&] { return do_unmap(asid, gpa, size); });
}

HVSHIM_EXPORT hv_return_t hv_vm_protect_space(hv_vm_space_t asid, hv_gpaddr_t gpa, size_t size,
                                              hv_memory_flags_t flags) {
  return traced("hv_vm_protect_space",
                [&] { return fmt::format("{}, {:#x}, {:#x}, {:#x}", asid, gpa, size, flags); },
                [&] { return do_protect(asid, gpa, size, flags); });
}

}  // extern "C"
