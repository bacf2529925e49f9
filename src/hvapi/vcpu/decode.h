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
};

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
