// C ABI: vCPUs, registers, MSRs, the VMCS view and running guests.
// Every call except hv_vcpu_create and hv_vcpu_interrupt must come from the
// vCPU's owning thread; from another thread it returns HV_DENIED, for an
// unknown id HV_BAD_ARGUMENT.
#include <Hypervisor/hv.h>
#include <Hypervisor/hv_vmx.h>
#include <x86intrin.h>

#include <cstring>
#include <mutex>

#include "common/export.h"
#include "common/last_error.h"
#include "hvapi/api_trace.h"
#include "hvapi/fail.h"
#include "hvapi/vcpu/vcpu.h"
#include "hvapi/vm_instance.h"

using namespace hvshim;
using namespace hvshim::hv;
using namespace hvshim::hv::vcpu;

namespace {

hv_return_t unsupported(const char* why) {
  set_last_error(why);
  return HV_UNSUPPORTED;
}

// Runs `f(LogicalVcpu&)` for a vCPU owned by the calling thread.
template <class F>
hv_return_t with_vcpu(hv_vcpuid_t id, F&& f) {
  hv_return_t err = HV_SUCCESS;
  LogicalVcpu* v = owned_vcpu(id, &err);
  if (!v) return err;
  return f(*v);
}

}  // namespace

extern "C" {

HVSHIM_EXPORT hv_return_t hv_vcpu_create(hv_vcpuid_t* vcpu, hv_vcpu_options_t flags) {
  return traced("hv_vcpu_create", [&] { return fmt::format("{}, {:#x}", static_cast<void*>(vcpu), flags); },
                [&]() -> hv_return_t {
                  if (!vcpu) return bad("vcpu is null");
                  if (flags & ~static_cast<hv_vcpu_options_t>(HV_VCPU_ACCEL_RDPMC | HV_VCPU_TSC_RELATIVE))
                    return bad("unknown hv_vcpu_options_t bits");
                  uint32_t id = 0;
                  hv_return_t r = create_vcpu(&id);
                  if (r == HV_SUCCESS) *vcpu = id;
                  return r;
                });
}

HVSHIM_EXPORT hv_return_t hv_vcpu_destroy(hv_vcpuid_t vcpu) {
  return traced("hv_vcpu_destroy", [&] { return fmt::format("{}", vcpu); }, [&] { return destroy_vcpu(vcpu); });
}

HVSHIM_EXPORT hv_return_t hv_vcpu_set_space(hv_vcpuid_t vcpu, hv_vm_space_t asid) {
  return traced("hv_vcpu_set_space", [&] { return fmt::format("{}, {}", vcpu, asid); }, [&] {
    return with_vcpu(vcpu, [&](LogicalVcpu& v) -> hv_return_t {
      std::lock_guard lk(vm_mutex());
      VmInstance* vm = current_vm();
      if (!vm) return bad("no VM");
      Space* s = vm->space(asid);
      if (!s) {
        set_last_error(fmt::format("no address space {}", asid));
        return HV_BAD_ARGUMENT;
      }
      return v.set_space(s, asid);
    });
  });
}

HVSHIM_EXPORT hv_return_t hv_vcpu_read_register(hv_vcpuid_t vcpu, hv_x86_reg_t reg_in, uint64_t* value) {
  uint32_t reg;
  memcpy(&reg, &reg_in, sizeof reg);  // any int a C caller passes
  return traced("hv_vcpu_read_register", [&] { return fmt::format("{}, {}", vcpu, reg); }, [&] {
    return with_vcpu(vcpu, [&](LogicalVcpu& v) -> hv_return_t {
      if (!value) return bad("value is null");
      return v.read_register(reg, value);
    });
  });
}

HVSHIM_EXPORT hv_return_t hv_vcpu_write_register(hv_vcpuid_t vcpu, hv_x86_reg_t reg_in, uint64_t value) {
  uint32_t reg;
  memcpy(&reg, &reg_in, sizeof reg);
  return traced("hv_vcpu_write_register", [&] { return fmt::format("{}, {}, {:#x}", vcpu, reg, value); },
                [&] { return with_vcpu(vcpu, [&](LogicalVcpu& v) { return v.write_register(reg, value); }); });
}

HVSHIM_EXPORT hv_return_t hv_vcpu_read_fpstate(hv_vcpuid_t vcpu, void* buffer, size_t size) {
  return traced("hv_vcpu_read_fpstate", [&] { return fmt::format("{}, {}, {}", vcpu, buffer, size); },
                [&] { return with_vcpu(vcpu, [&](LogicalVcpu& v) { return v.read_fpstate(buffer, size); }); });
}

HVSHIM_EXPORT hv_return_t hv_vcpu_write_fpstate(hv_vcpuid_t vcpu, void* buffer, size_t size) {
  return traced("hv_vcpu_write_fpstate", [&] { return fmt::format("{}, {}, {}", vcpu, buffer, size); },
                [&] { return with_vcpu(vcpu, [&](LogicalVcpu& v) { return v.write_fpstate(buffer, size); }); });
}

HVSHIM_EXPORT hv_return_t hv_vcpu_enable_native_msr(hv_vcpuid_t vcpu, uint32_t msr, bool enable) {
  return traced("hv_vcpu_enable_native_msr", [&] { return fmt::format("{}, {:#x}, {}", vcpu, msr, enable); }, [&] {
    return with_vcpu(vcpu, [&](LogicalVcpu& v) -> hv_return_t {
      uint64_t dummy;
      if (v.read_msr(msr, &dummy) != HV_SUCCESS) return HV_BAD_ARGUMENT;
      return set_native_msr(v, msr, enable);
    });
  });
}

HVSHIM_EXPORT hv_return_t hv_vcpu_enable_managed_msr(hv_vcpuid_t vcpu, uint32_t msr, bool enable) {
  return traced("hv_vcpu_enable_managed_msr", [&] { return fmt::format("{}, {:#x}, {}", vcpu, msr, enable); }, [&] {
    return with_vcpu(vcpu, [&](LogicalVcpu&) -> hv_return_t {
      return unsupported("managed MSRs (RDMSR/WRMSR exits for chosen MSRs) are not provided on KVM");
    });
  });
}

HVSHIM_EXPORT hv_return_t hv_vcpu_set_msr_access(hv_vcpuid_t vcpu, uint32_t msr, hv_msr_flags_t flags) {
  return traced("hv_vcpu_set_msr_access", [&] { return fmt::format("{}, {:#x}, {:#x}", vcpu, msr, flags); }, [&] {
    return with_vcpu(vcpu, [&](LogicalVcpu&) -> hv_return_t {
      return unsupported("per-MSR access control is not provided on KVM");
    });
  });
}

HVSHIM_EXPORT hv_return_t hv_vcpu_read_msr(hv_vcpuid_t vcpu, uint32_t msr, uint64_t* value) {
  return traced("hv_vcpu_read_msr", [&] { return fmt::format("{}, {:#x}", vcpu, msr); }, [&] {
    return with_vcpu(vcpu, [&](LogicalVcpu& v) -> hv_return_t {
      if (!value) return bad("value is null");
      return v.read_msr(msr, value);
    });
  });
}

HVSHIM_EXPORT hv_return_t hv_vcpu_write_msr(hv_vcpuid_t vcpu, uint32_t msr, uint64_t value) {
  return traced("hv_vcpu_write_msr", [&] { return fmt::format("{}, {:#x}, {:#x}", vcpu, msr, value); },
                [&] { return with_vcpu(vcpu, [&](LogicalVcpu& v) { return v.write_msr(msr, value); }); });
}

HVSHIM_EXPORT hv_return_t hv_vcpu_flush(hv_vcpuid_t vcpu) {
  // State is written through to KVM's sync area; nothing is cached elsewhere.
  return traced("hv_vcpu_flush", [&] { return fmt::format("{}", vcpu); },
                [&] { return with_vcpu(vcpu, [&](LogicalVcpu&) { return HV_SUCCESS; }); });
}

HVSHIM_EXPORT hv_return_t hv_vcpu_invalidate_tlb(hv_vcpuid_t vcpu) {
  // Re-loading SREGS makes KVM reset the vCPU's MMU context (a CR3 reload).
  return traced("hv_vcpu_invalidate_tlb", [&] { return fmt::format("{}", vcpu); }, [&] {
    return with_vcpu(vcpu, [&](LogicalVcpu& v) {
      v.dirty(KVM_SYNC_X86_SREGS);
      return HV_SUCCESS;
    });
  });
}

HVSHIM_EXPORT hv_return_t hv_vcpu_run(hv_vcpuid_t vcpu) {
  return traced("hv_vcpu_run", [&] { return fmt::format("{}", vcpu); },
                [&] { return with_vcpu(vcpu, [&](LogicalVcpu& v) { return v.run_until(~0ull); }); });
}

HVSHIM_EXPORT hv_return_t hv_vcpu_run_until(hv_vcpuid_t vcpu, uint64_t deadline) {
  return traced("hv_vcpu_run_until", [&] { return fmt::format("{}, {:#x}", vcpu, deadline); },
                [&] { return with_vcpu(vcpu, [&](LogicalVcpu& v) { return v.run_until(deadline); }); });
}

HVSHIM_EXPORT hv_return_t hv_vcpu_interrupt(hv_vcpuid_t* vcpus, unsigned int vcpu_count) {
  return traced("hv_vcpu_interrupt", [&] { return fmt::format("{}, {}", static_cast<void*>(vcpus), vcpu_count); },
                [&] { return interrupt_vcpus(vcpus, vcpu_count); });
}

HVSHIM_EXPORT hv_return_t hv_vcpu_get_exec_time(hv_vcpuid_t vcpu, uint64_t* time) {
  return traced("hv_vcpu_get_exec_time", [&] { return fmt::format("{}", vcpu); }, [&] {
    return with_vcpu(vcpu, [&](LogicalVcpu& v) -> hv_return_t {
      if (!time) return bad("time is null");
      *time = v.exec_ns.load();
      return HV_SUCCESS;
    });
  });
}

HVSHIM_EXPORT hv_return_t hv_vm_sync_tsc(uint64_t tsc) {
  return traced("hv_vm_sync_tsc", [&] { return fmt::format("{:#x}", tsc); }, [&] { return sync_tsc_all(tsc); });
}

HVSHIM_EXPORT uint64_t hv_tsc_clock(void) { return __rdtsc(); }

HVSHIM_EXPORT hv_return_t hv_vcpu_set_tsc_relative(hv_vcpuid_t vcpu, int64_t offset) {
  return traced("hv_vcpu_set_tsc_relative", [&] { return fmt::format("{}, {}", vcpu, offset); }, [&] {
    return with_vcpu(vcpu, [&](LogicalVcpu&) -> hv_return_t {
      return unsupported("a host-relative guest TSC offset is not provided (KVM on PVM ignores TSC offsets)");
    });
  });
}

// ---- VMX --------------------------------------------------------------------

HVSHIM_EXPORT hv_return_t hv_vmx_read_capability(hv_vmx_capability_t field, uint64_t* value) {
  // C callers may pass any int; read it as bytes, not as the enum type.
  uint32_t raw;
  static_assert(sizeof raw == sizeof field);
  memcpy(&raw, &field, sizeof raw);
  return traced("hv_vmx_read_capability", [&] { return fmt::format("{}", raw); }, [&]() -> hv_return_t {
    if (!value) return bad("value is null");
    return read_capability(raw, value);
  });
}

HVSHIM_EXPORT hv_return_t hv_vmx_vcpu_read_vmcs(hv_vcpuid_t vcpu, uint32_t field, uint64_t* value) {
  return traced("hv_vmx_vcpu_read_vmcs", [&] { return fmt::format("{}, {:#x}", vcpu, field); }, [&] {
    return with_vcpu(vcpu, [&](LogicalVcpu& v) -> hv_return_t {
      if (!value) return bad("value is null");
      return v.read_vmcs(field, value);
    });
  });
}

HVSHIM_EXPORT hv_return_t hv_vmx_vcpu_write_vmcs(hv_vcpuid_t vcpu, uint32_t field, uint64_t value) {
  return traced("hv_vmx_vcpu_write_vmcs", [&] { return fmt::format("{}, {:#x}, {:#x}", vcpu, field, value); },
                [&] { return with_vcpu(vcpu, [&](LogicalVcpu& v) { return v.write_vmcs(field, value); }); });
}

HVSHIM_EXPORT hv_return_t hv_vmx_vcpu_get_cap_write_vmcs(hv_vcpuid_t vcpu, uint32_t field, uint64_t* allowed_0,
                                                         uint64_t* allowed_1) {
  return traced("hv_vmx_vcpu_get_cap_write_vmcs", [&] { return fmt::format("{}, {:#x}", vcpu, field); }, [&] {
    return with_vcpu(vcpu, [&](LogicalVcpu&) -> hv_return_t {
      if (!allowed_0 || !allowed_1) return bad("allowed_0/allowed_1 is null");
      return cap_write_vmcs(field, allowed_0, allowed_1);
    });
  });
}

HVSHIM_EXPORT hv_return_t hv_vmx_vcpu_read_shadow_vmcs(hv_vcpuid_t vcpu, uint32_t field, uint64_t* value) {
  return traced("hv_vmx_vcpu_read_shadow_vmcs", [&] { return fmt::format("{}, {:#x}", vcpu, field); }, [&] {
    return with_vcpu(vcpu, [&](LogicalVcpu&) -> hv_return_t {
      (void)value;
      return unsupported("shadow VMCS (nested VMX) is not provided on KVM");
    });
  });
}

HVSHIM_EXPORT hv_return_t hv_vmx_vcpu_write_shadow_vmcs(hv_vcpuid_t vcpu, uint32_t field, uint64_t value) {
  return traced("hv_vmx_vcpu_write_shadow_vmcs", [&] { return fmt::format("{}, {:#x}, {:#x}", vcpu, field, value); },
                [&] {
                  return with_vcpu(vcpu, [&](LogicalVcpu&) -> hv_return_t {
                    return unsupported("shadow VMCS (nested VMX) is not provided on KVM");
                  });
                });
}

HVSHIM_EXPORT hv_return_t hv_vmx_vcpu_set_shadow_access(hv_vcpuid_t vcpu, uint32_t field, hv_shadow_flags_t flags) {
  return traced("hv_vmx_vcpu_set_shadow_access", [&] { return fmt::format("{}, {:#x}, {:#x}", vcpu, field, flags); },
                [&] {
                  return with_vcpu(vcpu, [&](LogicalVcpu&) -> hv_return_t {
                    return unsupported("shadow VMCS (nested VMX) is not provided on KVM");
                  });
                });
}

HVSHIM_EXPORT hv_return_t hv_vmx_get_msr_info(hv_vmx_msr_info_t field, uint64_t* value) {
  return traced("hv_vmx_get_msr_info", [&] { return fmt::format("{}", field); }, [&]() -> hv_return_t {
    if (!value) return bad("value is null");
    if (field > HV_VMX_NEED_MSR_IA32_SPEC_CTRL) return bad("unknown hv_vmx_msr_info_t");
    // No PMU, LBR or speculation-control MSRs are exposed to guests.
    *value = 0;
    return HV_SUCCESS;
  });
}

HVSHIM_EXPORT hv_return_t hv_vmx_vcpu_set_apic_address(hv_vcpuid_t vcpu, hv_gpaddr_t gpa) {
  return traced("hv_vmx_vcpu_set_apic_address", [&] { return fmt::format("{}, {:#x}", vcpu, gpa); }, [&] {
    return with_vcpu(vcpu, [&](LogicalVcpu& v) -> hv_return_t {
      if (gpa & 0xfff) return bad("APIC address must be page aligned");
      v.set_ro(VMCS_CTRL_APIC_ACCESS, gpa);
      return HV_SUCCESS;
    });
  });
}

}  // extern "C"
