#include "vcpu_api.h"

#include <hvshim/hvshim.h>

#include <utility>

#include <fmt/format.h>

namespace hvbench {

std::string hv_err(const char* what, hv_return_t r) {
  return fmt::format("{} returned {:#x}: {}", what, r, hvshim_last_error());
}

bool get_hv_vcpu(Env& env, hv_vcpuid_t* v, std::string* why) {
  if (&hv_vcpu_create == nullptr || &hv_vcpu_run == nullptr) {
    *why = "skipped: hv_vcpu_create is not in this build of libhvshim (vCPU API not written yet)";
    return false;
  }
  if (env.hv_vcpu < 0 && env.hv_vcpu_error.empty()) {
    hv_vcpuid_t id = 0;
    if (hv_return_t e = hv_vcpu_create(&id, HV_VCPU_DEFAULT); e != HV_SUCCESS)
      env.hv_vcpu_error = "skipped: " + hv_err("hv_vcpu_create", e);
    else
      env.hv_vcpu = id;
  }
  if (env.hv_vcpu < 0) {
    *why = env.hv_vcpu_error;
    return false;
  }
  *v = static_cast<hv_vcpuid_t>(env.hv_vcpu);
  return true;
}

std::string setup_hv_vcpu(hv_vcpuid_t v, uint64_t rip, uint64_t rdi) {
  struct W {
    uint32_t f;
    uint64_t v;
  };
  // The same state as Guest::create (guest64.cpp), in VMCS terms.
  const W vmcs[] = {
      {VMCS_GUEST_CS, 0x33},          {VMCS_GUEST_CS_BASE, 0},          {VMCS_GUEST_CS_LIMIT, 0xffffffff},
      {VMCS_GUEST_CS_AR, 0xa0fb},     {VMCS_GUEST_SS, 0x2b},            {VMCS_GUEST_SS_BASE, 0},
      {VMCS_GUEST_SS_LIMIT, 0xffffffff}, {VMCS_GUEST_SS_AR, 0xc0f3},    {VMCS_GUEST_DS, 0x2b},
      {VMCS_GUEST_DS_BASE, 0},        {VMCS_GUEST_DS_LIMIT, 0xffffffff}, {VMCS_GUEST_DS_AR, 0xc0f3},
      {VMCS_GUEST_ES, 0x2b},          {VMCS_GUEST_ES_BASE, 0},          {VMCS_GUEST_ES_LIMIT, 0xffffffff},
      {VMCS_GUEST_ES_AR, 0xc0f3},     {VMCS_GUEST_FS, 0x2b},            {VMCS_GUEST_FS_BASE, 0},
      {VMCS_GUEST_FS_LIMIT, 0xffffffff}, {VMCS_GUEST_FS_AR, 0xc0f3},    {VMCS_GUEST_GS, 0x2b},
      {VMCS_GUEST_GS_BASE, 0},        {VMCS_GUEST_GS_LIMIT, 0xffffffff}, {VMCS_GUEST_GS_AR, 0xc0f3},
      {VMCS_GUEST_TR, 0x38},          {VMCS_GUEST_TR_BASE, 0x31000},    {VMCS_GUEST_TR_LIMIT, 0x67},
      {VMCS_GUEST_TR_AR, 0x8b},       {VMCS_GUEST_LDTR, 0},             {VMCS_GUEST_LDTR_AR, 0x10000},
      {VMCS_GUEST_GDTR_BASE, 0x30000}, {VMCS_GUEST_GDTR_LIMIT, 9 * 8 - 1}, {VMCS_GUEST_IDTR_BASE, 0},
      {VMCS_GUEST_IDTR_LIMIT, 0},     {VMCS_GUEST_CR0, 0x80050033},     {VMCS_GUEST_CR3, 0x1000},
      {VMCS_GUEST_CR4, 0x10020 | 0x2000 /* VMXE, as a VMM must set it */},
      {VMCS_GUEST_IA32_EFER, 0xd01},
  };
  for (const auto& w : vmcs)
    if (hv_return_t r = hv_vmx_vcpu_write_vmcs(v, w.f, w.v); r != HV_SUCCESS)
      return hv_err(fmt::format("hv_vmx_vcpu_write_vmcs({:#x})", w.f).c_str(), r);
  uint64_t entry = 0;
  hv_vmx_vcpu_read_vmcs(v, VMCS_CTRL_VMENTRY_CONTROLS, &entry);
  if (hv_return_t r = hv_vmx_vcpu_write_vmcs(v, VMCS_CTRL_VMENTRY_CONTROLS, entry | VMENTRY_GUEST_IA32E);
      r != HV_SUCCESS)
    return hv_err("write VMENTRY_CONTROLS", r);
  if (&hv_vcpu_write_msr) hv_vcpu_write_msr(v, 0xc0000081, 0x0023001000000000ull);  // STAR
  const std::pair<hv_x86_reg_t, uint64_t> regs[] = {
      {HV_X86_RIP, rip}, {HV_X86_RFLAGS, 0x3002}, {HV_X86_RDI, rdi}, {HV_X86_RAX, 0}};
  for (const auto& [reg, val] : regs)
    if (hv_return_t r = hv_vcpu_write_register(v, reg, val); r != HV_SUCCESS) return hv_err("hv_vcpu_write_register", r);
  return {};
}

bool skip_insn(hv_vcpuid_t v) {
  uint64_t rip = 0, len = 0;
  return hv_vcpu_read_register(v, HV_X86_RIP, &rip) == HV_SUCCESS &&
         hv_vmx_vcpu_read_vmcs(v, VMCS_RO_VMEXIT_INSTR_LEN, &len) == HV_SUCCESS &&
         hv_vcpu_write_register(v, HV_X86_RIP, rip + len) == HV_SUCCESS;
}

uint64_t read_vmcs(hv_vcpuid_t v, uint32_t field) {
  uint64_t x = 0;
  return hv_vmx_vcpu_read_vmcs(v, field, &x) == HV_SUCCESS ? x : ~0ull;
}

uint64_t read_reg(hv_vcpuid_t v, hv_x86_reg_t reg) {
  uint64_t x = 0;
  return hv_vcpu_read_register(v, reg, &x) == HV_SUCCESS ? x : ~0ull;
}

uint64_t exit_reason(hv_vcpuid_t v) {
  uint64_t r = read_vmcs(v, VMCS_RO_EXIT_REASON);
  return r == ~0ull ? r : r & 0xffff;
}

bool raw_io_samples(Env& env, unsigned n, Samples* s, std::string* err) {
  if (!env.raw_guest->start(env.img.io_loop_rip(), 0, 0)) {
    *err = "set regs";
    return false;
  }
  for (unsigned i = 0; i < n + 10; ++i) {
    int64_t t0 = now_ns();
    int r = env.raw_guest->run_once();
    int64_t t1 = now_ns();
    if (r != KVM_EXIT_IO) {
      *err = "raw io loop: " + describe_exit(env.raw_guest->run_page());
      return false;
    }
    if (i >= 10) s->add(static_cast<double>(t1 - t0));
  }
  return true;
}

bool raw_io_one(Env& env, Samples* s) {
  int64_t t0 = now_ns();
  int r = env.raw_guest->run_once();
  int64_t t1 = now_ns();
  if (r != KVM_EXIT_IO) return false;
  s->add(static_cast<double>(t1 - t0));
  return true;
}

}  // namespace hvbench
