// A 64-bit CPL3 guest driven through the public hv_vcpu API. On this host
// (KVM on PVM) only 64-bit user-mode code runs natively; everything else is
// emulated at ~1 us per instruction, so every long-running or storming guest
// in the stress suite is one of these.
//
// Guest-physical layout of the system image (mapped RWX at GPA 0 by the
// caller, in every space the vCPU visits):
//   0x1000 PML4, 0x2000 PDPT, 0x3000-0x6fff four PDs: identity map of
//   [0, 4 GiB) in 2 MiB user pages; 0x7000 GDT, 0x7800 TSS, 0x8000 code.
// So any GPA below 4 GiB is also the guest-linear address that reaches it.
#pragma once

#include <Hypervisor/hv.h>
#include <Hypervisor/hv_vmx.h>

#include <cstdint>
#include <memory>
#include <string>

namespace stress {

inline constexpr uint64_t kSysGpa = 0;
inline constexpr uint64_t kSysSize = 64 * 1024;
inline constexpr uint64_t kIdentityLimit = 4ull << 30;

// Ports the guest code reports on.
inline constexpr uint16_t kPortCount = 0x10;  // count loop: another 2^18 iterations done
inline constexpr uint16_t kPortRead = 0x11;   // read probe: RAX holds the value read
inline constexpr uint16_t kPortWrite = 0x12;  // write probe: the store retired
inline constexpr uint16_t kPortExec = 0x13;   // exec stub: reached
inline constexpr uint16_t kPortCopy = 0x14;   // copy probe: the movsq retired
inline constexpr uint16_t kPortCpuid = 0x15;  // cpuid probe: RAX holds EAX of the leaf

// Page tables, GDT/TSS and code, in page-aligned host memory of its own.
class SysImage {
 public:
  SysImage();
  ~SysImage();
  SysImage(const SysImage&) = delete;
  SysImage& operator=(const SysImage&) = delete;
  void* host() const { return mem_; }
  // hv_vm_map_space(space, host(), kSysGpa, kSysSize, RWX).
  hv_return_t map_into(hv_vm_space_t space) const;

 private:
  void* mem_ = nullptr;
};

// Entry points (guest addresses) of the code in the image.
struct GuestCode {
  // rbx counts up forever; every 2^18 iterations `out 0x10`. With rdi != 0
  // the counter is also stored at [rdi] each iteration.
  static uint64_t count_loop();
  // rbx counts up forever, no exit of its own: only a kick stops it.
  static uint64_t spin();
  // rax = [rdi] (8 bytes); out 0x11; repeat.
  static uint64_t read64();
  // [rdi] = rsi (8 bytes); out 0x12; repeat.
  static uint64_t write64();
  // jmp rdi: the target page must hold exec_stub().
  static uint64_t jump();
  // movsq ([rdi] = [rsi], 8 bytes; KVM emulates it when either side is
  // not plain RAM); out 0x14; repeat.
  static uint64_t movsq();
  // eax = cpuid(leaf edi, subleaf 0).eax; out 0x15; repeat.
  static uint64_t cpuid();
};

// `out 0x13, al; jmp $-2`: placed in a page to prove the guest can run it.
void place_exec_stub(void* host);

// What one probe saw.
struct Access {
  enum Kind { Ok, Fault, Other } kind = Other;
  uint64_t value = 0;   // Ok of a read: what the guest read
  uint64_t gpa = 0;     // Fault: VMCS_GUEST_PHYSICAL_ADDRESS
  uint64_t qual = 0;    // Fault: exit qualification
  uint64_t reason = 0;  // the exit reason, or ~0 when hv_vcpu_run failed
  bool ok() const { return kind == Ok; }
  bool fault() const { return kind == Fault; }
};
std::string to_string(const Access& a);

// One hv vCPU owned by the creating thread, in 64-bit CPL3 mode with IOPL 3.
class LongModeGuest {
 public:
  // Call after hv_vm_create, with the SysImage mapped in the default space.
  static std::unique_ptr<LongModeGuest> create(std::string* err);
  ~LongModeGuest();  // hv_vcpu_destroy (owner thread only)

  hv_vcpuid_t id() const { return id_; }

  // Sets RIP/RDI/RSI (and RBX when given) for the next run.
  bool start(uint64_t rip, uint64_t rdi = 0, uint64_t rsi = 0);
  bool set_rbx(uint64_t v);
  uint64_t reg(hv_x86_reg_t r);
  uint64_t vmcs(uint32_t field);
  // Moves RIP past the instruction of the last exit.
  void skip();

  // Probes: one guest access each, through hv_vcpu_run.
  Access read64(uint64_t gpa);
  Access write64(uint64_t gpa, uint64_t value);
  Access exec(uint64_t gpa);
  // movsq from `from` to `to`: a fault names whichever side KVM stopped at.
  Access copy64(uint64_t to, uint64_t from);
  // What the guest's CPUID returns in EAX for `leaf`.
  Access cpuid(uint32_t leaf);

 private:
  explicit LongModeGuest(hv_vcpuid_t id) : id_(id) {}
  Access probe(uint64_t rip, uint64_t rdi, uint64_t rsi, uint16_t port);
  hv_vcpuid_t id_;
};

}  // namespace stress
