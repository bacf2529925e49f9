// A tiny 64-bit guest for benchmarks, run on a raw kvm::Vcpu.
//
// On this machine /dev/kvm is KVM on PVM: only 64-bit code at CPL 3 runs
// natively; every other guest mode is emulated at ~1 µs per instruction.
// So every guest loop here runs in 64-bit user mode: identity-mapped 2 MiB
// pages (PML4/PDPT/PD with U/S set), CS=0x33, SS=0x2b, CR0=0x80050033,
// CR4=PAE|FSGSBASE, EFER=LME|LMA|SCE|NXE, STAR=0x0023_0010_0000_0000.
//
// The guest's "system" page (page tables, GDT, code) is one 2 MiB host
// buffer mapped at guest-physical 0; callers map it into whichever VM runs
// the guest (a raw kvm::Vm slot, or hv_vm_map into the shim's space).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "kvm/system.h"
#include "kvm/vcpu.h"
#include "kvm/vm.h"

namespace hvbench {

inline constexpr uint64_t kSysGpa = 0;
inline constexpr uint64_t kSysSize = 2ull << 20;
// Identity map covers [0, kIdentityLimit).
inline constexpr uint64_t kIdentityLimit = 32ull << 30;

// Ports the guest code uses to report.
inline constexpr uint16_t kPortWalkDone = 0x10;
inline constexpr uint16_t kPortIo = 0x11;
inline constexpr uint16_t kPortWrote = 0x12;
inline constexpr uint16_t kPortTag = 0x13;
// The store in the MMIO loop: `movb %al, (%rdi)`, 2 bytes (88 07).
inline constexpr uint8_t kMmioStore[] = {0x88, 0x07};

// The 2 MiB host buffer holding the page tables, GDT and code.
class SysImage {
 public:
  SysImage();
  ~SysImage();
  SysImage(const SysImage&) = delete;
  SysImage& operator=(const SysImage&) = delete;
  void* host() const { return mem_; }

  // Guest-physical (= guest-linear) addresses of the code entry points.
  uint64_t walk_write_rip() const;  // rdi=base, rsi=pages: write 1 byte/page, out 0x10, repeat
  uint64_t walk_read_rip() const;   // same, reading
  uint64_t io_loop_rip() const;     // out 0x11 forever
  uint64_t write_one_rip() const;   // rdi=addr: write 1 byte, out 0x12, repeat
  uint64_t mmio_loop_rip() const;   // rdi=addr: inc al, store al to (rdi) (kMmioStore), repeat
  uint64_t mmio_store_rip() const;  // where that store is
  uint64_t tag_loop_rip() const;    // rdi=addr: al = byte at (rdi), out 0x13, repeat

 private:
  void* mem_ = nullptr;
};

// A raw KVM vCPU put in 64-bit CPL3 mode on `vm`, running code from a
// SysImage that the caller mapped at kSysGpa in that VM.
class Guest {
 public:
  static std::unique_ptr<Guest> create(const hvshim::kvm::System& sys, hvshim::kvm::Vm& vm, unsigned vcpu_id,
                                       const SysImage& img, std::string* err);

  hvshim::kvm::Vcpu& vcpu() { return vcpu_; }
  kvm_run* run_page() { return vcpu_.run_page(); }

  // Starts the guest at rip with rdi/rsi (one KVM_SET_REGS).
  bool start(uint64_t rip, uint64_t rdi, uint64_t rsi);
  // One KVM_RUN; returns the exit reason, or -errno.
  int run_once();
  // Runs until an I/O exit on `port`; false (with *err) on anything else.
  // With mmio_exits, MMIO exits (writes the VM's slots do not allow) are
  // counted and resumed (KVM then treats the write as done; the data is
  // dropped) instead of failing.
  bool run_until_port(uint16_t port, std::string* err, uint64_t* mmio_exits = nullptr);

  // Walks [base, base + pages*4K) once, one byte per page; returns the
  // wall time of the KVM_RUN(s) in ns, or -1 (with *err).
  int64_t walk(uint64_t base, uint64_t pages, bool write, std::string* err, uint64_t* mmio_exits = nullptr);

 private:
  Guest(hvshim::kvm::Vcpu v, const SysImage& img) : vcpu_(std::move(v)), img_(img) {}
  hvshim::kvm::Vcpu vcpu_;
  const SysImage& img_;
  uint64_t cur_rip_ = 0, cur_rdi_ = 0, cur_rsi_ = 0;
  bool pending_ = false;
};

std::string describe_exit(kvm_run* run);

}  // namespace hvbench
