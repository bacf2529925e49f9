#include "hvapi/vcpu/decode.h"

namespace hvshim::hv::vcpu {
namespace {

// One-byte opcodes that take a ModRM byte.
bool modrm1(uint8_t op, CpuMode mode) {
  if (op < 0x40) return (op & 7) < 4;
  switch (op) {
    case 0x62: case 0x63: case 0x69: case 0x6b:
    case 0xc0: case 0xc1: case 0xc6: case 0xc7:
    case 0xd0: case 0xd1: case 0xd2: case 0xd3:
    case 0xf6: case 0xf7: case 0xfe: case 0xff:
      return true;
    case 0xc4: case 0xc5:  // LES/LDS outside 64-bit mode (VEX handled before)
      return mode != CpuMode::Long64;
    default:
      break;
  }
  if (op >= 0x80 && op <= 0x8f) return true;
  if (op >= 0xd8 && op <= 0xdf) return true;
  return false;
}

bool modrm_0f(uint8_t op) {
  switch (op) {
    case 0x05: case 0x06: case 0x07: case 0x08: case 0x09: case 0x0b: case 0x0e:
    case 0x30: case 0x31: case 0x32: case 0x33: case 0x34: case 0x35: case 0x37:
    case 0x77: case 0xa0: case 0xa1: case 0xa2: case 0xa8: case 0xa9: case 0xaa:
      return false;
    default:
      break;
  }
  if (op >= 0x80 && op <= 0x8f) return false;
  if (op >= 0xc8 && op <= 0xcf) return false;
  return true;
}

unsigned imm_0f(uint8_t op, unsigned immz) {
  switch (op) {
    case 0x70: case 0x71: case 0x72: case 0x73: case 0xa4: case 0xac: case 0xba:
    case 0xc2: case 0xc4: case 0xc5: case 0xc6: case 0x0f:
      return 1;
    default:
      break;
  }
  if (op >= 0x80 && op <= 0x8f) return immz;
  return 0;
}

struct Reader {
  const uint8_t* b;
  size_t n;
  size_t i = 0;
  bool ok = true;
  uint8_t next() {
    if (i >= n) {
      ok = false;
      return 0;
    }
    return b[i++];
  }
  void skip(size_t k) {
    if (i + k > n) ok = false;
    i += k;
  }
};

int64_t read_disp(Reader& r, unsigned n) {
  int64_t v = 0;
  if (r.i + n > r.n) {
    r.skip(n);
    return 0;
  }
  if (n == 1) v = static_cast<int8_t>(r.b[r.i]);
  else if (n == 2) v = static_cast<int16_t>(r.b[r.i] | (r.b[r.i + 1] << 8));
  else if (n == 4) v = static_cast<int32_t>(r.b[r.i] | (r.b[r.i + 1] << 8) | (r.b[r.i + 2] << 16) |
                                            (static_cast<uint32_t>(r.b[r.i + 3]) << 24));
  r.skip(n);
  return v;
}

// Consumes ModRM (already read into `m`), SIB and displacement, recording
// the memory operand's form in `d`.
void modrm_tail(Reader& r, uint8_t m, unsigned addrsize, unsigned rex, bool long64, Insn& d) {
  unsigned mod = m >> 6, rm = m & 7;
  if (mod == 3) return;
  if (addrsize == 2) {
    static const int b16[8] = {3, 3, 5, 5, 6, 7, 5, 3};   // BX BX BP BP SI DI BP BX
    static const int i16[8] = {6, 7, 6, 7, -1, -1, -1, -1};  // SI DI SI DI
    d.base = b16[rm];
    d.index = i16[rm];
    d.bp_default_ss = rm == 2 || rm == 3 || rm == 6;
    if (mod == 0 && rm == 6) {
      d.base = -1;
      d.bp_default_ss = false;
      d.disp = read_disp(r, 2);
    } else if (mod == 1) {
      d.disp = read_disp(r, 1);
    } else if (mod == 2) {
      d.disp = read_disp(r, 2);
    }
    return;
  }
  bool rex_b = rex & 1, rex_x = rex & 2;
  if (rm == 4) {
    uint8_t sib = r.next();
    unsigned base = sib & 7, idx = (sib >> 3) & 7;
    d.scale = 1u << (sib >> 6);
    d.index = (idx | (rex_x ? 8 : 0)) == 4 ? -1 : static_cast<int>(idx | (rex_x ? 8 : 0));
    if (mod == 0 && base == 5) {
      d.base = -1;
      d.disp = read_disp(r, 4);
    } else {
      d.base = static_cast<int>(base | (rex_b ? 8 : 0));
    }
  } else if (mod == 0 && rm == 5) {
    d.base = -1;
    d.rip_relative = long64;
    d.disp = read_disp(r, 4);
    return;
  } else {
    d.base = static_cast<int>(rm | (rex_b ? 8 : 0));
  }
  d.bp_default_ss = d.base == 4 || d.base == 5;
  if (mod == 1) d.disp = read_disp(r, 1);
  else if (mod == 2) d.disp = read_disp(r, 4);
}

}  // namespace

Insn decode(const uint8_t* bytes, size_t n, CpuMode mode) {
  Insn d;
  Reader r{bytes, n > 15 ? 15 : n};
  bool def16 = mode == CpuMode::Real16 || mode == CpuMode::Prot16;
  bool long64 = mode == CpuMode::Long64;
  bool p66 = false, p67 = false, rexw = false;
  unsigned rex = 0;
  uint8_t op = 0;
  // Prefixes.
  for (;;) {
    op = r.next();
    if (!r.ok) return d;
    if (op == 0x66) p66 = true;
    else if (op == 0x67) p67 = true;
    else if (op == 0xf2 || op == 0xf3) d.rep = true;
    else if (op == 0x26) d.seg = 0;
    else if (op == 0x2e) d.seg = 1;
    else if (op == 0x36) d.seg = 2;
    else if (op == 0x3e) d.seg = 3;
    else if (op == 0x64) d.seg = 4;
    else if (op == 0x65) d.seg = 5;
    else if (op == 0xf0) {
    } else break;
  }
  if (long64 && (op & 0xf0) == 0x40) {
    rexw = op & 8;
    rex = op & 0xf;
    op = r.next();
    if (!r.ok) return d;
  }
  d.opsize_prefix = p66;
  if (long64) {
    d.opsize = rexw ? 8 : (p66 ? 2 : 4);
    d.addrsize = p67 ? 4 : 8;
  } else {
    d.opsize = (def16 != p66) ? 2 : 4;
    d.addrsize = (def16 != p67) ? 2 : 4;
  }
  unsigned immz = d.opsize == 2 ? 2 : 4;

  // VEX (C4/C5): always in 64-bit mode, elsewhere only when the next byte
  // has mod == 11 (otherwise it is LES/LDS).
  if ((op == 0xc4 || op == 0xc5) && r.i < r.n && (long64 || (bytes[r.i] & 0xc0) == 0xc0)) {
    unsigned map = 1;
    if (op == 0xc4) {
      uint8_t b1 = r.next();
      uint8_t b2 = r.next();
      map = b1 & 0x1f;
      if (b2 & 0x80) d.opsize = 8;
    } else {
      r.next();
    }
    op = r.next();
    if (!r.ok) return d;
    d.map = static_cast<uint8_t>(map);
    d.opcode = op;
    d.has_modrm = !(map == 1 && op == 0x77);
    if (d.has_modrm) {
      d.modrm = r.next();
      d.mem_operand = (d.modrm >> 6) != 3;
      modrm_tail(r, d.modrm, d.addrsize, 0, long64, d);
    }
    if (map == 3 || (map == 1 && imm_0f(op, immz) == 1)) r.skip(1);
    if (!r.ok) return d;
    d.len = static_cast<unsigned>(r.i);
    return d;
  }

  unsigned imm = 0;
  if (op == 0x0f) {
    op = r.next();
    if (!r.ok) return d;
    if (op == 0x38 || op == 0x3a) {
      d.map = op == 0x38 ? 2 : 3;
      op = r.next();
      d.has_modrm = true;
      imm = d.map == 3 ? 1 : 0;
    } else {
      d.map = 1;
      d.has_modrm = modrm_0f(op);
      imm = imm_0f(op, immz);
      // MOVZX/MOVSX byte sources, SETcc, CMPXCHG8 and XADD8 are byte ops.
      d.byte_op = op == 0xb6 || op == 0xbe || (op >= 0x90 && op <= 0x9f) || op == 0xb0 || op == 0xc0;
    }
  } else {
    d.map = 0;
    d.has_modrm = modrm1(op, mode);
    if (op < 0x40) {
      unsigned lo = op & 7;
      if (lo == 4) imm = 1;
      else if (lo == 5) imm = immz;
      d.byte_op = lo == 0 || lo == 2 || lo == 4;
    }
    switch (op) {
      case 0x68: imm = immz; break;
      case 0x69: imm = immz; break;
      case 0x6a: case 0x6b: imm = 1; break;
      case 0x80: case 0x82: case 0x83: case 0xc0: case 0xc1: case 0xc6:
      case 0xa8: case 0xcd: case 0xd4: case 0xd5: case 0xeb:
        imm = 1;
        break;
      case 0x81: case 0xc7: case 0xa9: case 0xe8: case 0xe9: imm = immz; break;
      case 0xc2: case 0xca: imm = 2; break;
      case 0xc8: imm = 3; break;
      case 0x9a: case 0xea: imm = 2 + immz; break;
      case 0xa0: case 0xa1: case 0xa2: case 0xa3:
        imm = d.addrsize;
        d.mem_operand = true;
        break;
      default:
        break;
    }
    if (op >= 0x70 && op <= 0x7f) imm = 1;
    if (op >= 0xe0 && op <= 0xe7) imm = 1;
    if (op >= 0xb0 && op <= 0xb7) imm = 1;
    if (op >= 0xb8 && op <= 0xbf) imm = d.opsize == 8 ? 8 : immz;
    if ((op >= 0xa4 && op <= 0xa7) || (op >= 0xaa && op <= 0xaf) || (op >= 0x6c && op <= 0x6f))
      d.mem_operand = true;
    if (op == 0x88 || op == 0x8a || op == 0x80 || op == 0x82 || op == 0x84 || op == 0x86 || op == 0xc6 ||
        op == 0xc0 || op == 0xd0 || op == 0xd2 || op == 0xf6 || op == 0xfe || op == 0xa0 || op == 0xa2 ||
        op == 0xa4 || op == 0xa6 || op == 0xaa || op == 0xac || op == 0xae || op == 0xa8 || op == 0x6c ||
        op == 0x6e || (op >= 0xb0 && op <= 0xb7))
      d.byte_op = true;
  }
  d.opcode = op;
  if (d.has_modrm) {
    d.modrm = r.next();
    if (!r.ok) return d;
    if ((d.modrm >> 6) != 3) d.mem_operand = true;
    modrm_tail(r, d.modrm, d.addrsize, rex, long64, d);
    if (d.map == 0 && (op == 0xf6 || op == 0xf7) && ((d.modrm >> 3) & 7) < 2) imm = op == 0xf6 ? 1 : immz;
  }
  if (imm >= 1 && r.i < r.n) d.imm8 = bytes[r.i];
  if (d.map == 0 && op >= 0xa0 && op <= 0xa3 && r.i + d.addrsize <= r.n) {
    for (unsigned k = 0; k < d.addrsize; ++k) d.moffs |= static_cast<uint64_t>(bytes[r.i + k]) << (8 * k);
  }
  r.skip(imm);
  if (!r.ok) return d;
  d.len = static_cast<unsigned>(r.i);
  return d;
}

bool effective_address(const Insn& d, const uint64_t gpr[16], const uint64_t seg_base[6], uint64_t next_rip,
                       CpuMode mode, bool write, uint64_t* la) {
  uint64_t amask = d.addrsize == 8 ? ~0ull : (d.addrsize == 4 ? 0xffffffffull : 0xffffull);
  uint64_t ea;
  int seg = d.seg;
  uint8_t op = d.opcode;
  bool string = d.map == 0 && ((op >= 0xa4 && op <= 0xa7) || (op >= 0xaa && op <= 0xaf) || (op >= 0x6c && op <= 0x6f));
  if (string) {
    bool dst = op == 0xaa || op == 0xab || op == 0x6c || op == 0x6d || ((op == 0xa4 || op == 0xa5) && write);
    if (dst) {
      ea = gpr[7] & amask;
      seg = 0;  // ES, no override
    } else {
      ea = gpr[6] & amask;
      if (seg < 0) seg = 3;
    }
  } else if (d.map == 0 && op >= 0xa0 && op <= 0xa3) {
    ea = d.moffs & amask;
    if (seg < 0) seg = 3;
  } else if (d.has_modrm && (d.modrm >> 6) != 3) {
    uint64_t v = static_cast<uint64_t>(d.disp);
    if (d.rip_relative) v += next_rip;
    if (d.base >= 0) v += gpr[d.base];
    if (d.index >= 0) v += gpr[d.index] * d.scale;
    ea = v & amask;
    if (seg < 0) seg = d.bp_default_ss ? 2 : 3;
  } else {
    return false;
  }
  uint64_t base = seg_base[seg];
  if (mode == CpuMode::Long64 && seg < 4) base = 0;  // only FS/GS have bases in 64-bit mode
  *la = base + ea;
  if (mode != CpuMode::Long64) *la &= 0xffffffffull;
  return true;
}

IoInsn decode_io(const uint8_t* bytes, size_t n, CpuMode mode) {
  IoInsn io;
  Insn d = decode(bytes, n, mode);
  if (!d.len || d.map != 0) return io;
  uint8_t op = d.opcode;
  unsigned wide = d.opsize == 2 ? 2 : 4;
  switch (op) {
    case 0xe4: case 0xe5: case 0xe6: case 0xe7:
      io.imm = true;
      io.port_imm = d.imm8;
      io.in = op < 0xe6;
      io.size = (op & 1) ? wide : 1;
      break;
    case 0xec: case 0xed: case 0xee: case 0xef:
      io.in = op < 0xee;
      io.size = (op & 1) ? wide : 1;
      break;
    case 0x6c: case 0x6d: case 0x6e: case 0x6f:
      io.string = true;
      io.rep = d.rep;
      io.in = op < 0x6e;
      io.size = (op & 1) ? wide : 1;
      break;
    default:
      return io;
  }
  io.valid = true;
  io.len = d.len;
  return io;
}

}  // namespace hvshim::hv::vcpu
