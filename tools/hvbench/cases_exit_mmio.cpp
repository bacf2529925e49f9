// exit_roundtrip_mmio: one guest MMIO write (a store to a guest-physical
// page that is mapped in neither VM) through hv_vcpu_run, plus what an HVF
// VMM does for it, vs the same guest loop under a raw KVM_RUN.
//
// The guest loop is `inc %al; movb %al, (%rdi); jmp` with rdi = kMmioGpa.
// * Shim side: hv_vcpu_run returns an EPT violation. The VMM reads the exit
//   reason, the qualification (must say "write"), the GPA and RIP, decodes
//   the store at RIP from the guest's memory (the 2 bytes 88 07), reads the
//   stored value from RAX, and advances RIP past the store. All of that is
//   timed: HVF leaves the emulation to the VMM.
// * Raw side: KVM_RUN returns KVM_EXIT_MMIO with the decoded store (GPA,
//   length, data) and KVM has already moved RIP; the raw VMM reads the
//   fields. The next KVM_RUN completes the write and re-enters.
// Both sides check every exit: right GPA, a write, and the value the guest's
// counter must have reached, so a skipped or repeated instruction fails the
// case.
#include <hvshim/hvshim.h>

#include <cstring>

#include <fmt/format.h>

#include "harness.h"
#include "vcpu_api.h"

namespace hvbench {

namespace {

constexpr unsigned kWarm = 10;

// One raw KVM_RUN to the next MMIO write; the value stored must be `want`.
bool raw_mmio_one(Env& env, uint8_t want, Samples* s, std::string* err) {
  int64_t t0 = now_ns();
  int r = env.raw_guest->run_once();
  kvm_run* run = env.raw_guest->run_page();
  bool ok = r == KVM_EXIT_MMIO && run->mmio.is_write && run->mmio.phys_addr == kMmioGpa && run->mmio.len == 1 &&
            run->mmio.data[0] == want;
  int64_t t1 = now_ns();
  if (!ok) {
    *err = fmt::format("raw: expected an MMIO write of {} at {:#x}, got {} (data {})", want, kMmioGpa,
                       r < 0 ? fmt::format("errno {}", -r) : describe_exit(run), run->mmio.data[0]);
    return false;
  }
  if (s) s->add(static_cast<double>(t1 - t0));
  return true;
}

}  // namespace

void case_exit_mmio(Env& env, const Config& cfg, std::vector<Result>& out) {
  Result r("exit_roundtrip_mmio");
  auto done = [&](const std::string& status) {
    if (!status.empty()) r.status = status;
    out.push_back(r);
  };
  hv_vcpuid_t v = 0;
  std::string err;
  if (!get_hv_vcpu(env, &v, &err)) return done(err);
  if (std::string e = setup_hv_vcpu(v, env.img.mmio_loop_rip(), kMmioGpa); !e.empty())
    return done("failed: vCPU setup: " + e);
  if (!env.raw_guest->start(env.img.mmio_loop_rip(), kMmioGpa, 0)) return done("failed: raw set regs");

  const auto* sys = static_cast<const uint8_t*>(env.img.host());  // guest-physical 0 = guest-linear 0
  const uint64_t store_rip = env.img.mmio_store_rip();
  Samples shim, run_only, raw;
  uint8_t shim_al = 0, raw_al = 0;
  for (unsigned i = 0; i < cfg.cycle_iters + kWarm; ++i) {
    ++shim_al;
    int64_t t0 = now_ns();
    hv_return_t e = hv_vcpu_run(v);
    int64_t t1 = now_ns();
    uint64_t why = exit_reason(v);
    uint64_t qual = read_vmcs(v, VMCS_RO_EXIT_QUALIFIC);
    uint64_t gpa = read_vmcs(v, VMCS_GUEST_PHYSICAL_ADDRESS);
    uint64_t rip = read_reg(v, HV_X86_RIP);
    uint64_t rax = read_reg(v, HV_X86_RAX);
    // The VMM's decoder: the guest is identity-mapped, so RIP is the
    // offset into the system image.
    bool decoded = rip + sizeof kMmioStore <= kSysSize && memcmp(sys + rip, kMmioStore, sizeof kMmioStore) == 0;
    hv_return_t w = decoded ? hv_vcpu_write_register(v, HV_X86_RIP, rip + sizeof kMmioStore) : HV_ERROR;
    int64_t t2 = now_ns();
    if (e != HV_SUCCESS || why != VMX_REASON_EPT_VIOLATION || !(qual & 2) || gpa != kMmioGpa || rip != store_rip ||
        (rax & 0xff) != shim_al || w != HV_SUCCESS)
      return done(fmt::format(
          "failed: expected an EPT-violation write of {} at {:#x} from RIP {:#x}; got run={:#x} reason {} qual {:#x} "
          "gpa {:#x} rip {:#x} al {} ({})",
          shim_al, kMmioGpa, store_rip, e, why, qual, gpa, rip, rax & 0xff, hvshim_last_error()));
    ++raw_al;
    if (!raw_mmio_one(env, raw_al, i < kWarm ? nullptr : &raw, &err)) return done("failed: " + err);
    if (i < kWarm) continue;
    shim.add(static_cast<double>(t2 - t0));
    run_only.add(static_cast<double>(t1 - t0));
  }
  r.shim_ns = shim.median();
  r.native_ns = raw.median();
  r.note = fmt::format(
      "per guest MMIO write (1-byte store to an unmapped GPA): hv_vcpu_run to the EPT violation + read exit reason, "
      "qualification, GPA, RIP, RAX + decode the store + advance RIP, vs a raw KVM_RUN to KVM_EXIT_MMIO (KVM "
      "decodes and advances RIP itself), interleaved; every exit's GPA, direction and stored value checked. shim: {}; "
      "hv_vcpu_run alone: {}; raw: {}",
      shim.summary(), run_only.summary(), raw.summary());
  done("");
}

}  // namespace hvbench
