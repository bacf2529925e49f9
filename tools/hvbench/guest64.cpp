#include "guest64.h"

#include <sys/ioctl.h>
#include <sys/mman.h>

#include <chrono>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

// Position-independent 64-bit guest code, copied into the SysImage.
asm(R"(
  .pushsection .rodata.hvbench_guest,"a"
  .p2align 4
  .globl hvbench_guest_begin, hvbench_walk_write, hvbench_walk_read, hvbench_io_loop, hvbench_write_one
  .globl hvbench_mmio_loop, hvbench_mmio_store, hvbench_tag_loop, hvbench_guest_end
  .hidden hvbench_guest_begin, hvbench_walk_write, hvbench_walk_read, hvbench_io_loop, hvbench_write_one
  .hidden hvbench_mmio_loop, hvbench_mmio_store, hvbench_tag_loop, hvbench_guest_end
hvbench_guest_begin:
hvbench_walk_write:
  mov %rsi, %rcx
  mov %rdi, %rax
1:
  movb $1, (%rax)
  add $4096, %rax
  dec %rcx
  jnz 1b
  out %al, $0x10
  jmp hvbench_walk_write
hvbench_walk_read:
  mov %rsi, %rcx
  mov %rdi, %rax
2:
  movb (%rax), %dl
  add $4096, %rax
  dec %rcx
  jnz 2b
  out %al, $0x10
  jmp hvbench_walk_read
hvbench_io_loop:
  out %al, $0x11
  jmp hvbench_io_loop
hvbench_write_one:
  movb $1, (%rdi)
  out %al, $0x12
  jmp hvbench_write_one
hvbench_mmio_loop:
  inc %al
hvbench_mmio_store:
  movb %al, (%rdi)
  jmp hvbench_mmio_loop
hvbench_tag_loop:
  movb (%rdi), %al
  out %al, $0x13
  jmp hvbench_tag_loop
hvbench_guest_end:
  .popsection
)");

extern "C" const uint8_t hvbench_guest_begin[], hvbench_walk_write[], hvbench_walk_read[], hvbench_io_loop[],
    hvbench_write_one[], hvbench_mmio_loop[], hvbench_mmio_store[], hvbench_tag_loop[], hvbench_guest_end[];

namespace hvbench {
namespace {

constexpr uint64_t kPml4 = 0x1000;
constexpr uint64_t kPdpt = 0x2000;
constexpr uint64_t kPd0 = 0x3000;  // 32 PDs, up to 0x23000
constexpr uint64_t kGdt = 0x30000;
constexpr uint64_t kTss = 0x31000;
constexpr uint64_t kCode = 0x40000;
constexpr uint16_t kSelTss = 0x38;

bool set_host_cpuid(const hvshim::kvm::System& sys, hvshim::kvm::Vcpu& vc, std::string* err) {
  auto cpuid = sys.supported_cpuid();
  if (!cpuid) {
    *err = cpuid.error().describe();
    return false;
  }
  if (auto st = vc.set_cpuid(*cpuid); !st) {
    *err = st.error().describe();
    return false;
  }
  return true;
}

bool set_msr(hvshim::kvm::Vcpu& vc, uint32_t index, uint64_t value, std::string* err) {
  if (auto st = vc.set_msr(index, value); !st) {
    *err = fmt::format("MSR {:#x}: {}", index, st.error().describe());
    return false;
  }
  return true;
}

uint64_t code_gpa(const uint8_t* sym) { return kSysGpa + kCode + static_cast<uint64_t>(sym - hvbench_guest_begin); }

kvm_segment seg(uint16_t sel, uint8_t type, uint8_t dpl, bool code64) {
  kvm_segment s{};
  s.base = 0;
  s.limit = 0xffffffff;
  s.selector = sel;
  s.type = type;
  s.present = 1;
  s.dpl = dpl;
  s.s = 1;
  s.l = code64 ? 1 : 0;
  s.db = code64 ? 0 : 1;
  s.g = 1;
  return s;
}

}  // namespace

SysImage::SysImage() {
  mem_ = mmap(nullptr, kSysSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (mem_ == MAP_FAILED) {
    mem_ = nullptr;
    return;
  }
  auto* b = static_cast<uint8_t*>(mem_);
  auto q = [&](uint64_t off) { return reinterpret_cast<uint64_t*>(b + off); };
  constexpr uint64_t kPresentRwUser = 0x7, kLarge = 0x80;
  q(kPml4)[0] = kPdpt | kPresentRwUser;
  constexpr unsigned kPds = kIdentityLimit >> 30;
  static_assert(kPd0 + kPds * 0x1000 <= kGdt);
  for (unsigned i = 0; i < kPds; ++i) {
    q(kPdpt)[i] = (kPd0 + i * 0x1000) | kPresentRwUser;
    for (unsigned j = 0; j < 512; ++j)
      q(kPd0 + i * 0x1000)[j] = ((uint64_t(i) << 30) + (uint64_t(j) << 21)) | kPresentRwUser | kLarge;
  }
  uint64_t* gdt = q(kGdt);
  gdt[2] = 0x00af9b000000ffffull;  // 0x10 kernel code 64
  gdt[3] = 0x00cf93000000ffffull;  // 0x18 kernel data
  gdt[4] = 0x00cffb000000ffffull;  // 0x23 user code 32
  gdt[5] = 0x00cff3000000ffffull;  // 0x2b user data
  gdt[6] = 0x00affb000000ffffull;  // 0x33 user code 64
  gdt[7] = 0x67 | ((kTss & 0xffffff) << 16) | (0x89ull << 40) | (((kTss >> 24) & 0xff) << 56);
  gdt[8] = kTss >> 32;
  memcpy(b + kCode, hvbench_guest_begin, static_cast<size_t>(hvbench_guest_end - hvbench_guest_begin));
}

SysImage::~SysImage() {
  if (mem_) munmap(mem_, kSysSize);
}

uint64_t SysImage::walk_write_rip() const { return code_gpa(hvbench_walk_write); }
uint64_t SysImage::walk_read_rip() const { return code_gpa(hvbench_walk_read); }
uint64_t SysImage::io_loop_rip() const { return code_gpa(hvbench_io_loop); }
uint64_t SysImage::write_one_rip() const { return code_gpa(hvbench_write_one); }
uint64_t SysImage::mmio_loop_rip() const { return code_gpa(hvbench_mmio_loop); }
uint64_t SysImage::mmio_store_rip() const { return code_gpa(hvbench_mmio_store); }
uint64_t SysImage::tag_loop_rip() const { return code_gpa(hvbench_tag_loop); }

std::unique_ptr<Guest> Guest::create(const hvshim::kvm::System& sys, hvshim::kvm::Vm& vm, unsigned vcpu_id,
                                     const SysImage& img, std::string* err) {
  auto v = vm.create_vcpu(sys, vcpu_id);
  if (!v) {
    *err = "create vcpu: " + v.error().describe();
    return nullptr;
  }
  std::unique_ptr<Guest> g(new Guest(std::move(*v), img));
  auto& vc = g->vcpu_;
  if (!set_host_cpuid(sys, vc, err)) return nullptr;
  auto sr = vc.get_sregs();
  if (!sr) {
    *err = "get sregs: " + sr.error().describe();
    return nullptr;
  }
  kvm_sregs s = *sr;
  s.cs = seg(0x33, 0xb, 3, true);
  s.ss = seg(0x2b, 0x3, 3, false);
  s.ds = s.es = s.fs = s.gs = s.ss;
  s.tr = kvm_segment{};
  s.tr.base = kTss;
  s.tr.limit = 0x67;
  s.tr.selector = kSelTss;
  s.tr.type = 11;
  s.tr.present = 1;
  s.ldt = kvm_segment{};
  s.ldt.unusable = 1;
  s.gdt.base = kGdt;
  s.gdt.limit = 9 * 8 - 1;
  s.idt.base = 0;
  s.idt.limit = 0;
  s.cr0 = 0x80050033;
  s.cr3 = kPml4;
  s.cr4 = 0x10020;  // PAE | FSGSBASE (PCIDE gives EINVAL on PVM)
  s.efer = 0xd01;   // SCE | LME | LMA | NXE
  if (auto st = vc.set_sregs(s); !st) {
    *err = "set sregs: " + st.error().describe();
    return nullptr;
  }
  if (!set_msr(vc, 0xc0000081, 0x0023001000000000ull, err)) return nullptr;  // STAR
  return g;
}

bool Guest::start(uint64_t rip, uint64_t rdi, uint64_t rsi) {
  // Let KVM complete an I/O or MMIO exit before the registers change under
  // it (its completion would otherwise write back the old RIP).
  if (pending_) {
    kvm_run* run = run_page();
    run->immediate_exit = 1;
    (void)vcpu_.run();
    run->immediate_exit = 0;
    pending_ = false;
  }
  kvm_regs r{};
  r.rflags = 0x3002;  // IOPL 3: `out` from CPL 3 exits as I/O
  r.rip = rip;
  r.rdi = rdi;
  r.rsi = rsi;
  cur_rip_ = rip;
  cur_rdi_ = rdi;
  cur_rsi_ = rsi;
  return vcpu_.set_regs(r).ok();
}

int Guest::run_once() {
  auto st = vcpu_.run();
  if (!st) return -st.error().err;
  uint32_t why = vcpu_.run_page()->exit_reason;
  pending_ = why == KVM_EXIT_IO || why == KVM_EXIT_MMIO;
  return static_cast<int>(why);
}

bool Guest::run_until_port(uint16_t port, std::string* err, uint64_t* mmio_exits) {
  for (uint64_t i = 0; i < 1000 || (mmio_exits && i < (1ull << 40)); ++i) {
    int r = run_once();
    kvm_run* run = run_page();
    if (r == -EINTR) continue;
    if (r == KVM_EXIT_MMIO && mmio_exits) {
      ++*mmio_exits;
      continue;
    }
    if (r == KVM_EXIT_IO && run->io.port == port) return true;
    *err = r < 0 ? fmt::format("KVM_RUN: errno {}", -r) : describe_exit(run);
    return false;
  }
  *err = "too many interrupted runs";
  return false;
}

int64_t Guest::walk(uint64_t base, uint64_t pages, bool write, std::string* err, uint64_t* mmio_exits) {
  uint64_t rip = write ? img_.walk_write_rip() : img_.walk_read_rip();
  if (!start(rip, base, pages)) {
    *err = "set regs failed";
    return -1;
  }
  auto t0 = std::chrono::steady_clock::now();
  bool ok = run_until_port(kPortWalkDone, err, mmio_exits);
  auto t1 = std::chrono::steady_clock::now();
  if (!ok) return -1;
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count();
}

std::string describe_exit(kvm_run* run) {
  switch (run->exit_reason) {
    case KVM_EXIT_IO:
      return fmt::format("io exit port {:#x} dir {}", run->io.port, run->io.direction);
    case KVM_EXIT_MMIO:
      return fmt::format("mmio exit gpa {:#x} write {} len {}", run->mmio.phys_addr, run->mmio.is_write,
                         run->mmio.len);
    case KVM_EXIT_SHUTDOWN:
      return "shutdown (triple fault)";
    case KVM_EXIT_INTERNAL_ERROR:
      return fmt::format("internal error suberror {}", run->internal.suberror);
    case KVM_EXIT_FAIL_ENTRY:
      return fmt::format("fail entry {:#x}", run->fail_entry.hardware_entry_failure_reason);
    case KVM_EXIT_HLT:
      return "hlt";
    default:
      return fmt::format("exit reason {}", run->exit_reason);
  }
}

}  // namespace hvbench
