// A small x86 instruction-length decoder. KVM never reports instruction
// lengths, but VMX exits carry VMCS_RO_VMEXIT_INSTR_LEN and the I/O exit
// qualification, and the VMM advances RIP by that length itself. This
// decoder covers the general-purpose, x87, SSE/AVX (VEX) instruction forms;
// it does not validate, it only measures.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hvshim::hv::vcpu {

enum class CpuMode { Real16, Prot16, Prot32, Long64 };

struct Insn {
  unsigned len = 0;        // 0 = could not decode (truncated or invalid)
  unsigned opsize = 4;     // effective operand size in bytes (2/4/8)
  unsigned addrsize = 4;   // effective address size in bytes (2/4/8)
  uint8_t opcode = 0;      // last opcode byte
  uint8_t map = 0;         // 0 = one-byte map, 1 = 0F, 2 = 0F38, 3 = 0F3A
  bool has_modrm = false;
  uint8_t modrm = 0;
  bool mem_operand = false;  // ModRM memory form, moffs or string op
  bool byte_op = false;      // operates on 8-bit data (best effort)
  bool rep = false;          // F2/F3 present
  bool opsize_prefix = false;
  uint8_t imm8 = 0;          // first immediate byte (port number of IN/OUT imm8)
  // Memory operand (ModRM/SIB form): register numbers 0-15, -1 = none.
  int base = -1;
  int index = -1;
  unsigned scale = 1;
  int64_t disp = 0;
  bool rip_relative = false;
  bool bp_default_ss = false;  // 16-bit BP forms / (E|R)BP, (E|R)SP bases use SS
  int seg = -1;                // override prefix: 0 ES,1 CS,2 SS,3 DS,4 FS,5 GS
  uint64_t moffs = 0;          // A0-A3 absolute offset
};

// Guest-linear address of the ModRM / moffs / string memory operand, given
// the registers (in KVM's GPR order rax,rcx,rdx,rbx,rsp,rbp,rsi,rdi,r8..r15),
// segment bases (ES,CS,SS,DS,FS,GS) and the RIP after the instruction. For
// string instructions the destination (ES:RDI) is returned when `write`.
bool effective_address(const Insn& d, const uint64_t gpr[16], const uint64_t seg_base[6], uint64_t next_rip,
                       CpuMode mode, bool write, uint64_t* la);

// Decodes the instruction in bytes[0..n).
Insn decode(const uint8_t* bytes, size_t n, CpuMode mode);

// Port I/O instruction facts (for the VMX I/O exit qualification).
struct IoInsn {
  bool valid = false;
  bool in = false;
  bool string = false;
  bool rep = false;
  bool imm = false;  // port given as imm8
  unsigned size = 1;
  unsigned len = 0;
  uint8_t port_imm = 0;
};
IoInsn decode_io(const uint8_t* bytes, size_t n, CpuMode mode);

}  // namespace hvshim::hv::vcpu
