// What the cases that drive the public vCPU API share: the run's one hv
// vCPU, the guest state every case starts from, the per-exit work an HVF
// VMM does, and the raw KVM_RUN I/O exit yardstick they are compared with.
#pragma once

#include <Hypervisor/hv.h>
#include <Hypervisor/hv_vmx.h>

#include <string>

#include "harness.h"

// The vCPU API may be absent from a build of the library. hvbench links the
// static library whole, so these resolve to null only when the symbols
// really are absent, and the cases report "skipped" instead of failing to
// link.
#pragma weak hv_vcpu_create
#pragma weak hv_vcpu_destroy
#pragma weak hv_vcpu_run
#pragma weak hv_vcpu_read_register
#pragma weak hv_vcpu_write_register
#pragma weak hv_vcpu_write_msr
#pragma weak hv_vcpu_set_space
#pragma weak hv_vmx_vcpu_read_vmcs
#pragma weak hv_vmx_vcpu_write_vmcs

namespace hvbench {

inline constexpr hv_memory_flags_t kRWX = HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC;
inline constexpr hv_memory_flags_t kRX = HV_MEMORY_READ | HV_MEMORY_EXEC;
inline constexpr hv_memory_flags_t kRW = HV_MEMORY_READ | HV_MEMORY_WRITE;

// "<what> returned <code>: <hvshim_last_error()>".
std::string hv_err(const char* what, hv_return_t r);

// The run's one hv vCPU, created on first use (re-creating after
// hv_vcpu_destroy is a separate question, not what these cases measure).
// False with *why = "skipped: …" when the vCPU API is absent or refuses.
bool get_hv_vcpu(Env& env, hv_vcpuid_t* v, std::string* why);

// Puts an hv vCPU into the 64-bit CPL3 state the raw guests use (guest64.h)
// at rip with rdi, rax = 0. Returns "" or what failed.
std::string setup_hv_vcpu(hv_vcpuid_t v, uint64_t rip, uint64_t rdi);

// Advances RIP by the exit's instruction length (what a VMM does after it
// completed an I/O exit).
bool skip_insn(hv_vcpuid_t v);
uint64_t exit_reason(hv_vcpuid_t v);  // basic exit reason (low 16 bits), ~0 on error
uint64_t read_vmcs(hv_vcpuid_t v, uint32_t field);  // ~0 on error
uint64_t read_reg(hv_vcpuid_t v, hv_x86_reg_t reg);  // ~0 on error

// The raw yardstick: KVM_RUNs of the raw guest's `out` loop that end in an
// I/O exit. raw_io_samples starts the loop (n warm-up-free samples after 10
// untimed); raw_io_one takes one more sample, interleaved with the shim's.
bool raw_io_samples(Env& env, unsigned n, Samples* s, std::string* err);
bool raw_io_one(Env& env, Samples* s);

}  // namespace hvbench
