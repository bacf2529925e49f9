// space_switch: hv_vcpu_set_space between two address spaces with
// cfg.space_mappings mappings each, with one guest run (to one `out` exit)
// after every switch, vs a raw KVM_RUN I/O exit round trip.
//
// Both spaces map the guest's system image, their own "tag" page at kTagGpa
// and the same space_mappings 4 KiB pages 8 KiB apart (one memslot each).
// The guest loop reads the byte at kTagGpa and reports it with `out`, so
// every exit proves which space the vCPU ran in: A says 0xa1, B 0xb2. The
// raw VM runs the same loop over its own tag page (0xc3).
//
// Timed per step: hv_vcpu_set_space to the other space + hv_vcpu_run + the
// VMM's I/O exit handling (exit reason, qualification, RAX, RIP advance).
// The first visit to each space creates that space's KVM vCPU and is not
// timed.
#include <hvshim/hvshim.h>

#include <cstring>

#include <fmt/format.h>

#include "harness.h"
#include "vcpu_api.h"

namespace hvbench {

namespace {

constexpr uint8_t kTagA = 0xa1, kTagB = 0xb2, kTagRaw = 0xc3;
constexpr unsigned kWarm = 10;

// The spaces this case made; destroyed (after moving the vCPU back to the
// default space) however the case ends.
struct Spaces {
  hv_vcpuid_t vcpu = 0;
  bool have_vcpu = false;
  std::vector<hv_vm_space_t> ids;
  ~Spaces() {
    if (have_vcpu) hv_vcpu_set_space(vcpu, HV_VM_SPACE_DEFAULT);
    for (hv_vm_space_t s : ids) hv_vm_space_destroy(s);
  }
};

// Maps the system image, the tag page and the fillers into `s`.
std::string populate(hv_vm_space_t s, const SysImage& img, void* tag, const HostBuf& fill, unsigned n) {
  if (hv_return_t e = hv_vm_map_space(s, img.host(), kSysGpa, kSysSize, kRWX); e != HV_SUCCESS)
    return hv_err("hv_vm_map_space(system image)", e);
  if (hv_return_t e = hv_vm_map_space(s, tag, kTagGpa, kPage, kRX); e != HV_SUCCESS)
    return hv_err("hv_vm_map_space(tag page)", e);
  for (unsigned i = 0; i < n; ++i) {
    void* p = static_cast<uint8_t*>(fill.p) + uint64_t(i) * kPage;
    if (hv_return_t e = hv_vm_map_space(s, p, kSpaceFillGpa + uint64_t(i) * 2 * kPage, kPage, kRWX);
        e != HV_SUCCESS)
      return hv_err("hv_vm_map_space(filler)", e) + fmt::format(" at {}", i);
  }
  return {};
}

// One raw KVM_RUN to the tag loop's `out`; the value must be kTagRaw.
bool raw_tag_one(Env& env, Samples* s) {
  int64_t t0 = now_ns();
  int r = env.raw_guest->run_once();
  kvm_run* run = env.raw_guest->run_page();
  bool ok = r == KVM_EXIT_IO && run->io.port == kPortTag &&
            reinterpret_cast<const uint8_t*>(run)[run->io.data_offset] == kTagRaw;
  int64_t t1 = now_ns();
  if (ok && s) s->add(static_cast<double>(t1 - t0));
  return ok;
}

}  // namespace

void case_space_switch(Env& env, const Config& cfg, std::vector<Result>& out) {
  Result r("space_switch");
  auto done = [&](const std::string& status) {
    if (!status.empty()) r.status = status;
    out.push_back(r);
  };
  hv_vcpuid_t v = 0;
  std::string err;
  if (!get_hv_vcpu(env, &v, &err)) return done(err);
  if (&hv_vcpu_set_space == nullptr) return done("skipped: hv_vcpu_set_space is not in this build of libhvshim");

  auto tags = HostBuf::make(3 * kPage, false, &err);
  auto fill = tags ? HostBuf::make(uint64_t(cfg.space_mappings) * kPage, false, &err) : nullptr;
  if (!tags || !fill) return done("failed: " + err);
  auto* tag = static_cast<uint8_t*>(tags->p);
  tag[0] = kTagA;
  tag[kPage] = kTagB;
  tag[2 * kPage] = kTagRaw;
  memset(fill->p, 0, fill->size);

  Spaces sp;
  for (int i = 0; i < 2; ++i) {
    hv_vm_space_t id = 0;
    if (hv_return_t e = hv_vm_space_create(&id); e != HV_SUCCESS) return done("failed: " + hv_err("hv_vm_space_create", e));
    sp.ids.push_back(id);
    if (std::string e = populate(id, env.img, tag + i * kPage, *fill, cfg.space_mappings); !e.empty())
      return done("failed: " + e);
  }
  const uint32_t raw_tag_slot = env.raw_slot(20);
  if (auto st = env.raw_vm->set_memslot({raw_tag_slot, kTagGpa, kPage, reinterpret_cast<uint64_t>(tag + 2 * kPage), true});
      !st)
    return done("failed: raw tag slot: " + st.error().describe());
  struct RawSlot {
    Env& env;
    uint32_t slot;
    ~RawSlot() { (void)env.raw_vm->delete_memslot(slot); }
  } raw_slot{env, raw_tag_slot};
  if (!env.raw_guest->start(env.img.tag_loop_rip(), kTagGpa, 0)) return done("failed: raw set regs");

  if (std::string e = setup_hv_vcpu(v, env.img.tag_loop_rip(), kTagGpa); !e.empty())
    return done("failed: vCPU setup: " + e);
  sp.vcpu = v;
  sp.have_vcpu = true;

  Samples step, sw, run, raw;
  for (unsigned i = 0; i < cfg.switch_iters + kWarm; ++i) {
    const hv_vm_space_t to = sp.ids[i & 1];
    const uint8_t want = (i & 1) ? kTagB : kTagA;
    int64_t t0 = now_ns();
    hv_return_t s = hv_vcpu_set_space(v, to);
    int64_t t1 = now_ns();
    hv_return_t e = s == HV_SUCCESS ? hv_vcpu_run(v) : s;
    uint64_t why = exit_reason(v);
    uint64_t qual = read_vmcs(v, VMCS_RO_EXIT_QUALIFIC);
    uint64_t rax = read_reg(v, HV_X86_RAX);
    bool skipped = e == HV_SUCCESS && why == VMX_REASON_IO && skip_insn(v);
    int64_t t2 = now_ns();
    if (s != HV_SUCCESS)
      return done("failed: " + hv_err(fmt::format("hv_vcpu_set_space({})", to).c_str(), s));
    if (!skipped || (qual >> 16) != kPortTag || (rax & 0xff) != want)
      return done(fmt::format("failed: in space {} expected `out` to port {:#x} with {:#x}; got run={:#x} reason {} "
                              "qual {:#x} al {:#x} ({})",
                              to, kPortTag, want, e, why, qual, rax & 0xff, hvshim_last_error()));
    if (!raw_tag_one(env, i < kWarm ? nullptr : &raw))
      return done("failed: raw tag loop: " + describe_exit(env.raw_guest->run_page()));
    if (i < kWarm) continue;
    step.add(static_cast<double>(t2 - t0));
    sw.add(static_cast<double>(t1 - t0));
    run.add(static_cast<double>(t2 - t1));
  }
  r.shim_ns = step.median();
  r.native_ns = raw.median();
  r.note = fmt::format(
      "per step: hv_vcpu_set_space to the other of 2 spaces ({} 4 KiB mappings + system image + tag page each) + "
      "hv_vcpu_run to the guest's `out` + exit handling (reason, qualification, RAX checked against the space's "
      "tag, RIP advance), vs one raw KVM_RUN of the same guest loop (I/O exit round trip), interleaved. step: {}; "
      "hv_vcpu_set_space alone: {}; run + exit handling: {}; raw: {}",
      cfg.space_mappings, step.summary(), sw.summary(), run.summary(), raw.summary());
  done("");
}

}  // namespace hvbench
