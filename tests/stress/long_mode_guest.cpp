#include "long_mode_guest.h"

#include <sys/mman.h>

#include <cstring>

#include "common/last_error.h"

// Position-independent guest code, copied into the image at kCode.
asm(R"(
  .pushsection .rodata.stress_guest,"a"
  .p2align 4
  .globl stress_guest_begin, stress_count_loop, stress_spin, stress_read64, stress_write64, stress_jump, stress_movsq
  .globl stress_cpuid, stress_guest_end
  .hidden stress_guest_begin, stress_count_loop, stress_spin, stress_read64, stress_write64, stress_jump, stress_movsq
  .hidden stress_cpuid, stress_guest_end
stress_guest_begin:
stress_count_loop:
  inc %rbx
  test %rdi, %rdi
  jz 1f
  mov %rbx, (%rdi)
1:
  test $0x3ffff, %ebx
  jnz stress_count_loop
  out %al, $0x10
  jmp stress_count_loop
stress_spin:
  inc %rbx
  jmp stress_spin
stress_read64:
  mov (%rdi), %rax
  out %al, $0x11
  jmp stress_read64
stress_write64:
  mov %rsi, (%rdi)
  out %al, $0x12
  jmp stress_write64
stress_jump:
  jmp *%rdi
stress_movsq:
  movsq
  out %al, $0x14
  jmp stress_movsq
stress_cpuid:
  mov %edi, %eax
  xor %ecx, %ecx
  cpuid
  out %al, $0x15
  jmp stress_cpuid
stress_guest_end:
  .popsection
)");

extern "C" const uint8_t stress_guest_begin[], stress_count_loop[], stress_spin[], stress_read64[], stress_write64[],
    stress_jump[], stress_movsq[], stress_cpuid[], stress_guest_end[];

namespace stress {
namespace {

constexpr uint64_t kPml4 = 0x1000, kPdpt = 0x2000, kPd0 = 0x3000, kGdt = 0x7000, kTss = 0x7800, kCode = 0x8000;
constexpr uint64_t kStackTop = 0xf000;
constexpr uint16_t kSelCode64 = 0x33, kSelData = 0x2b, kSelTss = 0x38;

uint64_t code_gpa(const uint8_t* sym) { return kSysGpa + kCode + static_cast<uint64_t>(sym - stress_guest_begin); }

}  // namespace

SysImage::SysImage() {
  mem_ = mmap(nullptr, kSysSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem_ == MAP_FAILED) {
    mem_ = nullptr;
    return;
  }
  auto* b = static_cast<uint8_t*>(mem_);
  auto q = [&](uint64_t off) { return reinterpret_cast<uint64_t*>(b + off); };
  constexpr uint64_t kPresentRwUser = 0x7, kLarge = 0x80;
  q(kPml4)[0] = (kSysGpa + kPdpt) | kPresentRwUser;
  for (unsigned i = 0; i < kIdentityLimit >> 30; ++i) {
    q(kPdpt)[i] = (kSysGpa + kPd0 + i * 0x1000) | kPresentRwUser;
    for (unsigned j = 0; j < 512; ++j)
      q(kPd0 + i * 0x1000)[j] = ((uint64_t(i) << 30) + (uint64_t(j) << 21)) | kPresentRwUser | kLarge;
  }
  uint64_t* gdt = q(kGdt);
  gdt[2] = 0x00af9b000000ffffull;  // 0x10 kernel code 64
  gdt[3] = 0x00cf93000000ffffull;  // 0x18 kernel data
  gdt[4] = 0x00cffb000000ffffull;  // 0x23 user code 32
  gdt[5] = 0x00cff3000000ffffull;  // 0x2b user data
  gdt[6] = 0x00affb000000ffffull;  // 0x33 user code 64
  const uint64_t tss = kSysGpa + kTss;
  gdt[7] = 0x67 | ((tss & 0xffffff) << 16) | (0x89ull << 40) | (((tss >> 24) & 0xff) << 56);
  gdt[8] = tss >> 32;
  memcpy(b + kCode, stress_guest_begin, static_cast<size_t>(stress_guest_end - stress_guest_begin));
}

SysImage::~SysImage() {
  if (mem_) munmap(mem_, kSysSize);
}

hv_return_t SysImage::map_into(hv_vm_space_t space) const {
  return hv_vm_map_space(space, mem_, kSysGpa, kSysSize, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC);
}

uint64_t GuestCode::count_loop() { return code_gpa(stress_count_loop); }
uint64_t GuestCode::spin() { return code_gpa(stress_spin); }
uint64_t GuestCode::read64() { return code_gpa(stress_read64); }
uint64_t GuestCode::write64() { return code_gpa(stress_write64); }
uint64_t GuestCode::jump() { return code_gpa(stress_jump); }
uint64_t GuestCode::movsq() { return code_gpa(stress_movsq); }
uint64_t GuestCode::cpuid() { return code_gpa(stress_cpuid); }

void place_exec_stub(void* host) {
  const uint8_t stub[] = {0xe6, kPortExec, 0xeb, 0xfc};
  memcpy(host, stub, sizeof stub);
}

std::string to_string(const Access& a) {
  char buf[128];
  switch (a.kind) {
    case Access::Ok: snprintf(buf, sizeof buf, "ok, value %#llx", static_cast<unsigned long long>(a.value)); break;
    case Access::Fault:
      snprintf(buf, sizeof buf, "EPT violation at %#llx (qual %#llx)", static_cast<unsigned long long>(a.gpa),
               static_cast<unsigned long long>(a.qual));
      break;
    default: snprintf(buf, sizeof buf, "exit %#llx", static_cast<unsigned long long>(a.reason)); break;
  }
  return buf;
}

std::unique_ptr<LongModeGuest> LongModeGuest::create(std::string* err) {
  hv_vcpuid_t id;
  if (hv_return_t r = hv_vcpu_create(&id, HV_VCPU_DEFAULT); r != HV_SUCCESS) {
    *err = std::string("hv_vcpu_create: ") + hvshim::last_error_cstr();
    return nullptr;
  }
  std::unique_ptr<LongModeGuest> g(new LongModeGuest(id));
  struct F {
    uint32_t field;
    uint64_t value;
  };
  uint64_t entry = 0;
  hv_vmx_vcpu_read_vmcs(id, VMCS_CTRL_VMENTRY_CONTROLS, &entry);
  const F fields[] = {
      {VMCS_GUEST_CR3, kSysGpa + kPml4},
      {VMCS_GUEST_CR4, 0x2020},  // PAE | VMXE (VMXE stays with the VMM)
      {VMCS_GUEST_IA32_EFER, 0x500},
      {VMCS_GUEST_CR0, 0x80000021},
      {VMCS_CTRL_VMENTRY_CONTROLS, entry | VMENTRY_GUEST_IA32E},
      {VMCS_GUEST_CS, kSelCode64},
      {VMCS_GUEST_CS_AR, 0xa0fb},
      {VMCS_GUEST_CS_LIMIT, 0xffffffff},
      {VMCS_GUEST_CS_BASE, 0},
      {VMCS_GUEST_TR, kSelTss},
      {VMCS_GUEST_TR_AR, 0x8b},
      {VMCS_GUEST_TR_LIMIT, 0x67},
      {VMCS_GUEST_TR_BASE, kSysGpa + kTss},
      {VMCS_GUEST_LDTR_AR, 0x10000},
      {VMCS_GUEST_GDTR_BASE, kSysGpa + kGdt},
      {VMCS_GUEST_GDTR_LIMIT, 9 * 8 - 1},
  };
  for (const F& f : fields) {
    if (hv_vmx_vcpu_write_vmcs(id, f.field, f.value) != HV_SUCCESS) {
      *err = "VMCS field " + std::to_string(f.field) + ": " + hvshim::last_error_cstr();
      return nullptr;
    }
  }
  for (uint32_t sel : {VMCS_GUEST_DS, VMCS_GUEST_ES, VMCS_GUEST_SS, VMCS_GUEST_FS, VMCS_GUEST_GS}) {
    hv_vmx_vcpu_write_vmcs(id, sel, kSelData);
    hv_vmx_vcpu_write_vmcs(id, sel - VMCS_GUEST_ES + VMCS_GUEST_ES_AR, 0xc0f3);
    hv_vmx_vcpu_write_vmcs(id, sel - VMCS_GUEST_ES + VMCS_GUEST_ES_LIMIT, 0xffffffff);
    hv_vmx_vcpu_write_vmcs(id, sel - VMCS_GUEST_ES + VMCS_GUEST_ES_BASE, 0);
  }
  hv_vcpu_write_register(id, HV_X86_RFLAGS, 0x3002);  // IOPL 3: OUT from CPL 3 exits as I/O
  hv_vcpu_write_register(id, HV_X86_RSP, kSysGpa + kStackTop);
  return g;
}

LongModeGuest::~LongModeGuest() { hv_vcpu_destroy(id_); }

bool LongModeGuest::start(uint64_t rip, uint64_t rdi, uint64_t rsi) {
  return hv_vcpu_write_register(id_, HV_X86_RIP, rip) == HV_SUCCESS &&
         hv_vcpu_write_register(id_, HV_X86_RDI, rdi) == HV_SUCCESS &&
         hv_vcpu_write_register(id_, HV_X86_RSI, rsi) == HV_SUCCESS;
}

bool LongModeGuest::set_rbx(uint64_t v) { return hv_vcpu_write_register(id_, HV_X86_RBX, v) == HV_SUCCESS; }

uint64_t LongModeGuest::reg(hv_x86_reg_t r) {
  uint64_t v = ~0ull;
  hv_vcpu_read_register(id_, r, &v);
  return v;
}

uint64_t LongModeGuest::vmcs(uint32_t field) {
  uint64_t v = ~0ull;
  hv_vmx_vcpu_read_vmcs(id_, field, &v);
  return v;
}

void LongModeGuest::skip() {
  hv_vcpu_write_register(id_, HV_X86_RIP, reg(HV_X86_RIP) + vmcs(VMCS_RO_VMEXIT_INSTR_LEN));
}

Access LongModeGuest::probe(uint64_t rip, uint64_t rdi, uint64_t rsi, uint16_t port) {
  Access a;
  if (!start(rip, rdi, rsi)) return a;
  // A stray kick (IRQ) is not an answer: run again, a few times at most.
  for (int i = 0; i < 8; ++i) {
    if (hv_vcpu_run(id_) != HV_SUCCESS) {
      a.reason = ~0ull;
      return a;
    }
    a.reason = vmcs(VMCS_RO_EXIT_REASON);
    if (a.reason != VMX_REASON_IRQ) break;
  }
  if (a.reason == VMX_REASON_IO && ((vmcs(VMCS_RO_EXIT_QUALIFIC) >> 16) & 0xffff) == port) {
    a.kind = Access::Ok;
    a.value = reg(HV_X86_RAX);
  } else if (a.reason == VMX_REASON_EPT_VIOLATION) {
    a.kind = Access::Fault;
    a.gpa = vmcs(VMCS_GUEST_PHYSICAL_ADDRESS);
    a.qual = vmcs(VMCS_RO_EXIT_QUALIFIC);
  }
  return a;
}

Access LongModeGuest::read64(uint64_t gpa) { return probe(GuestCode::read64(), gpa, 0, kPortRead); }
Access LongModeGuest::write64(uint64_t gpa, uint64_t value) {
  return probe(GuestCode::write64(), gpa, value, kPortWrite);
}
Access LongModeGuest::exec(uint64_t gpa) { return probe(GuestCode::jump(), gpa, 0, kPortExec); }
Access LongModeGuest::copy64(uint64_t to, uint64_t from) { return probe(GuestCode::movsq(), to, from, kPortCopy); }
Access LongModeGuest::cpuid(uint32_t leaf) { return probe(GuestCode::cpuid(), leaf, 0, kPortCpuid); }

}  // namespace stress
