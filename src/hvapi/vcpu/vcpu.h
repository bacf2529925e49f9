// The logical vCPU behind an hv_vcpuid_t: one KVM vCPU per address space it
// has visited (spaces are separate KVM VMs), the VMX-shaped state KVM does
// not hold (controls, masks, shadows, exit information), and the thread that
// owns it.
//
// State model: the architectural state lives in the current KVM vCPU's
// kvm_run sync area (KVM_CAP_SYNC_REGS: REGS, SREGS, EVENTS), which KVM fills
// at every exit and reads back at the next KVM_RUN for every class marked in
// kvm_dirty_regs. Register and VMCS accessors therefore read and write plain
// memory and mark the class dirty; nothing costs an ioctl except the classes
// outside the sync area (debug registers, XCR0, MSRs, XSAVE), which are
// cached here and pushed before the next run when changed.
#pragma once

#include <Hypervisor/hv_error.h>
#include <linux/kvm.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>
#include <unordered_map>
#include <vector>

#include "hvapi/space.h"
#include "hvapi/vcpu/decode.h"
#include "hvapi/wp/fault_router.h"
#include "kvm/vcpu.h"

namespace hvshim::hv::vcpu {

// Library-owned real-mode trap (see docs/vcpu.md, "Real-mode INT traps"):
// an IVT' page whose vectors all point at one unmapped linear address.
inline constexpr uint64_t kTrapIvtGpa = 0xFFFFF000;
inline constexpr uint64_t kTrapLinear = 0x100000;

class LogicalVcpu {
 public:
  LogicalVcpu(uint32_t id, pid_t tid) : id_(id), tid_(tid) {}

  uint32_t id() const { return id_; }
  pid_t tid() const { return tid_; }
  uint32_t space_id() const { return space_id_; }
  Space* space() const { return space_; }

  // Creates the KVM vCPU in `space` and puts the VMX defaults in place.
  [[nodiscard]] hv_return_t init(Space* space, uint32_t space_id);
  // Moves the state to the KVM vCPU of another space (created on demand).
  [[nodiscard]] hv_return_t set_space(Space* space, uint32_t space_id);

  kvm::Vcpu& k() { return *cur_; }
  kvm_run* run() { return cur_->run_page(); }
  kvm_regs& regs() { return run()->s.regs.regs; }
  kvm_sregs& sregs() { return run()->s.regs.sregs; }
  kvm_vcpu_events& events() { return run()->s.regs.events; }
  void dirty(uint64_t bits) { run()->kvm_dirty_regs |= bits; }

  // Register file in Apple's numbering.
  [[nodiscard]] hv_return_t read_register(uint32_t reg, uint64_t* v);
  [[nodiscard]] hv_return_t write_register(uint32_t reg, uint64_t v);
  [[nodiscard]] hv_return_t read_fpstate(void* buf, size_t size);
  [[nodiscard]] hv_return_t write_fpstate(const void* buf, size_t size);
  [[nodiscard]] hv_return_t read_msr(uint32_t msr, uint64_t* v);
  [[nodiscard]] hv_return_t write_msr(uint32_t msr, uint64_t v);

  // VMCS view (vmcs.cpp).
  [[nodiscard]] hv_return_t read_vmcs(uint32_t field, uint64_t* v);
  [[nodiscard]] hv_return_t write_vmcs(uint32_t field, uint64_t v);
  uint64_t ctl(uint32_t field) const;
  void set_ro(uint32_t field, uint64_t v) { vmcs_[field] = v; }
  void set_dr7(uint64_t v);
  uint64_t dr7() const;

  // Guest run loop (run.cpp). deadline_ns: CLOCK_MONOTONIC, ~0 = none.
  [[nodiscard]] hv_return_t run_until(uint64_t deadline_ns);
  bool has_run = false;

  // CPUID the guest sees (default: cpuid_policy.h); replaceable until the
  // first run (hvshim_vcpu_set_cpuid).
  const std::vector<kvm_cpuid_entry2>& cpuid() const { return cpuid_; }
  [[nodiscard]] hv_return_t set_cpuid(std::vector<kvm_cpuid_entry2> table);

  // Cross-thread kick (hv_vcpu_interrupt).
  std::atomic<bool> kick{false};
  std::atomic<uint64_t> exec_ns{0};
  // hv_vm_sync_tsc: applied by the owner before its next run.
  std::atomic<bool> tsc_pending{false};
  std::atomic<uint64_t> tsc_value{0};

  // Fast write protection (hvapi/wp/fault_router.h): the router and this
  // thread's fault slot, when the VM has a router.
  FaultRouter* wp_router = nullptr;
  std::shared_ptr<VcpuFaultSlot> wp_slot;
  // Guest modes (CpuMode) seen to write memory through KVM's page-fault
  // path rather than its emulator: their write faults are kicked, not
  // demoted (on VT-x/SVM hosts, every mode).
  bool wp_native_mode[4] = {};
  bool wp_runs_native();

  // Native MSRs (hv_vcpu_enable_native_msr); informational on KVM.
  std::set<uint32_t> native_msrs;

  // Flushes cached non-sync state into KVM before KVM_RUN.
  [[nodiscard]] hv_return_t push_state();
  // Finishes an exit KVM expects to complete at the next KVM_RUN, without
  // letting the completion change the registers the VMM sees.
  [[nodiscard]] hv_return_t drain_pending();

  CpuMode mode();
  // Guest memory, by guest-physical / guest-linear address. Take vm_mutex.
  [[nodiscard]] bool read_gpa(uint64_t gpa, void* buf, size_t len);
  [[nodiscard]] bool linear_to_gpa(uint64_t la, uint64_t* gpa);
  [[nodiscard]] bool walk(uint64_t la, uint64_t* gpa);
  [[nodiscard]] bool read_linear(uint64_t la, void* buf, size_t len);

  // VMM view of CR0/CR4 bits KVM never sees.
  uint64_t cr4_vmx_bits = 0;  // CR4.VMXE written by the VMM
  // Real-mode trap (IDTR relocated to IVT').
  bool trap_active = false;
  uint64_t idtr_base_shadow = 0;
  uint32_t idtr_limit_shadow = 0;
  bool injected_valid = false;
  uint8_t injected_vector = 0;
  uint32_t activity_state = 0;
  bool trap_slot_ok = false;
  // Where KVM leaves RIP at an OUT exit, learnt once per CPU mode and CPL:
  // 0 unknown, 1 on the OUT with a completion pending (hardware fast path),
  // 2 already past it with nothing pending (instruction emulator).
  uint8_t out_convention[8] = {};  // IVT' memslot present in the current space

 private:
  struct KCpu {
    std::unique_ptr<kvm::Vcpu> vcpu;
    Space* space = nullptr;
    // A dup of the space's VM fd: keeps that file alive, so comparing it
    // with the space's current fd (kcmp) tells a destroyed-and-recreated
    // space id apart from the one this KVM vCPU was made in.
    int vm_fd_dup = -1;
    KCpu() = default;
    KCpu(KCpu&& o) noexcept : vcpu(std::move(o.vcpu)), space(o.space), vm_fd_dup(std::exchange(o.vm_fd_dup, -1)) {}
    KCpu& operator=(KCpu&& o) noexcept;
    ~KCpu();
  };
  [[nodiscard]] hv_return_t make_kcpu(Space* space, KCpu* out);
  void set_defaults();

  uint32_t id_;
  pid_t tid_;
  uint32_t space_id_ = 0;
  Space* space_ = nullptr;
  std::map<uint32_t, KCpu> kcpus_;
  kvm::Vcpu* cur_ = nullptr;

  // Non-sync state, cached.
  kvm_debugregs dregs_{};
  bool dregs_dirty_ = false;
  uint64_t dr45_[2] = {0, 0};
  uint64_t xcr0_ = 1;
  bool xcr0_dirty_ = false;
  std::map<uint32_t, uint64_t> written_msrs_;
  std::vector<kvm_cpuid_entry2> cpuid_;

  std::unordered_map<uint32_t, uint64_t> vmcs_;

  friend class Registry;
};

// Process-wide table of logical vCPUs (guarded by hv::vm_mutex()), plus a
// per-thread view so owner-thread calls need no lock.
LogicalVcpu* owned_vcpu(uint32_t id, hv_return_t* err);  // for calls from the owner thread
[[nodiscard]] hv_return_t create_vcpu(uint32_t* id);
[[nodiscard]] hv_return_t destroy_vcpu(uint32_t id);
[[nodiscard]] hv_return_t interrupt_vcpus(const uint32_t* ids, unsigned count);
[[nodiscard]] hv_return_t sync_tsc_all(uint64_t tsc);
// hv_vcpu_enable_native_msr: updates the vCPU's set and every space's filter.
[[nodiscard]] hv_return_t set_native_msr(LogicalVcpu& v, uint32_t msr, bool enable);

// Kick signal: blocked outside KVM_RUN in owner threads, unblocked inside.
int kick_signal();
// The kvm_run page of the vCPU this thread is running (for the kick handler).
kvm_run*& running_page();
void drain_kick_signal();

// VMX capability words (vmcs.cpp).
[[nodiscard]] hv_return_t read_capability(uint32_t cap, uint64_t* v);
[[nodiscard]] hv_return_t cap_write_vmcs(uint32_t field, uint64_t* allowed0, uint64_t* allowed1);

// Host CPUID given to every KVM vCPU (cached once KVM answered).
kvm::Result<const std::vector<kvm_cpuid_entry2>*> guest_cpuid(const kvm::System& sys);

}  // namespace hvshim::hv::vcpu
