// Cases that run guests through exits: the dirty-tracking cycle (through the
// public vCPU API when this build has it, and through the memory layer with
// a raw vCPU meanwhile), and the cost of the logging branch.
#include <hvshim/hvshim.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

#include "common/log.h"
#include "harness.h"
#include "vcpu_api.h"

namespace hvbench {
namespace {

// dirty_cycle through the public API: the guest writes one byte to a
// write-protected page -> EPT-violation exit -> hv_vm_protect(page, RWX) ->
// hv_vcpu_run retries the write, which completes, and the guest's next
// `out` exits. Each cycle is timed from the first hv_vcpu_run to the I/O
// exit; the page is re-protected (untimed) between cycles.
void dirty_cycle_api(Env& env, const Config& cfg, Result& r, Samples& raw_io, uint64_t gpa,
                     uint8_t* page) {
  hv_vcpuid_t v = 0;
  std::string why;
  if (!get_hv_vcpu(env, &v, &why)) {
    r.status = why;
    return;
  }
  if (std::string e = setup_hv_vcpu(v, env.img.write_one_rip(), gpa); !e.empty()) {
    r.status = "failed: vCPU setup: " + e;
    return;
  }
  Samples cyc, fault_exit, unprotect, retry;
  for (unsigned i = 0; i < cfg.cycle_iters + 10; ++i) {
    if (hv_return_t e = hv_vm_protect(gpa, kPage, kRX); e != HV_SUCCESS) {
      r.status = "failed: " + hv_err("hv_vm_protect(RX)", e);
      return;
    }
    int64_t t0 = now_ns();
    hv_return_t e = hv_vcpu_run(v);
    uint64_t why = exit_reason(v);
    uint64_t fgpa = 0;
    hv_vmx_vcpu_read_vmcs(v, VMCS_GUEST_PHYSICAL_ADDRESS, &fgpa);
    int64_t t1 = now_ns();
    if (e != HV_SUCCESS || why != VMX_REASON_EPT_VIOLATION || (fgpa & ~(kPage - 1)) != gpa) {
      r.status = fmt::format("failed: expected an EPT violation at {:#x}, got run={:#x} reason {} gpa {:#x} ({})", gpa,
                             e, why, fgpa, hvshim_last_error());
      return;
    }
    hv_return_t p = hv_vm_protect(gpa, kPage, kRWX);
    int64_t t2 = now_ns();
    hv_return_t e2 = hv_vcpu_run(v);
    uint64_t why2 = exit_reason(v);
    int64_t t3 = now_ns();
    if (p != HV_SUCCESS || e2 != HV_SUCCESS || why2 != VMX_REASON_IO) {
      r.status = fmt::format("failed: after unprotect expected an I/O exit, got protect={:#x} run={:#x} reason {}", p,
                             e2, why2);
      return;
    }
    if (page[0] != 1) {
      r.status = "failed: the retried guest write did not reach memory";
      return;
    }
    page[0] = 0;
    if (!skip_insn(v)) {
      r.status = "failed: cannot advance RIP after the I/O exit";
      return;
    }
    if (!raw_io_one(env, &raw_io)) {
      r.status = "failed: raw io loop: " + describe_exit(env.raw_guest->run_page());
      return;
    }
    if (i < 10) continue;
    cyc.add(static_cast<double>(t3 - t0));
    fault_exit.add(static_cast<double>(t1 - t0));
    unprotect.add(static_cast<double>(t2 - t1));
    retry.add(static_cast<double>(t3 - t2));
  }
  r.native_ns = raw_io.median();
  r.shim_ns = cyc.median();
  r.note = fmt::format(
      "hv_vcpu_run to EPT-violation exit + hv_vm_protect(4 KiB, RWX) + hv_vcpu_run to the guest's next I/O exit, vs "
      "one raw KVM_RUN I/O exit round trip. cycle: {}; fault exit: {}; unprotect: {}; retry+io exit: {}; raw io: {}",
      cyc.summary(), fault_exit.summary(), unprotect.summary(), retry.summary(), raw_io.summary());
}

}  // namespace

// exit_roundtrip_io: the guest's `out` loop through hv_vcpu_run (plus what a
// VMM does on every I/O exit under HVF: read the exit reason and the
// instruction length, advance RIP) vs the same loop under a raw KVM_RUN.
void case_exit_roundtrip(Env& env, const Config& cfg, std::vector<Result>& out) {
  Result r("exit_roundtrip_io");
  std::string err;
  Samples warm, raw_io;
  if (!raw_io_samples(env, 10, &warm, &err)) {
    r.status = "failed: " + err;
    out.push_back(r);
    return;
  }
  r.native_ns = warm.median();  // replaced by the interleaved samples below
  hv_vcpuid_t v = 0;
  if (!get_hv_vcpu(env, &v, &err)) {
    r.status = err;
    out.push_back(r);
    return;
  }
  Samples s, run_only;
  if (std::string e = setup_hv_vcpu(v, env.img.io_loop_rip(), 0); !e.empty()) r.status = "failed: " + e;
  for (unsigned i = 0; i < cfg.cycle_iters + 10 && r.status == "ok"; ++i) {
    int64_t t0 = now_ns();
    hv_return_t e = hv_vcpu_run(v);
    int64_t t1 = now_ns();
    uint64_t why = exit_reason(v);
    bool skipped = e == HV_SUCCESS && why == VMX_REASON_IO && skip_insn(v);
    int64_t t2 = now_ns();
    if (!skipped) {
      r.status = fmt::format("failed: expected an I/O exit, got run={:#x} reason {} ({})", e, why, hvshim_last_error());
      break;
    }
    if (!raw_io_one(env, &raw_io)) {
      r.status = "failed: raw io loop: " + describe_exit(env.raw_guest->run_page());
      break;
    }
    if (i < 10) continue;
    s.add(static_cast<double>(t2 - t0));
    run_only.add(static_cast<double>(t1 - t0));
  }
  if (r.status == "ok") {
    r.native_ns = raw_io.median();
    r.shim_ns = s.median();
    r.note = fmt::format(
        "per guest `out` exit: hv_vcpu_run + read exit reason + read instruction length + advance RIP, vs a raw "
        "KVM_RUN I/O exit (KVM advances RIP itself). shim: {}; hv_vcpu_run alone: {}; raw: {}",
        s.summary(), run_only.summary(), raw_io.summary());
  }
  out.push_back(r);
}

// dirty_cycle and dirty_cycle_memlayer.
void case_dirty_cycle(Env& env, const Config& cfg, std::vector<Result>& out) {
  Result api{"dirty_cycle"};
  Result mem{"dirty_cycle_memlayer"};
  std::string err;
  Samples warm, raw_io;
  if (!raw_io_samples(env, 10, &warm, &err)) {
    api.status = mem.status = "failed: " + err;
    out.push_back(api);
    out.push_back(mem);
    return;
  }
  auto buf = HostBuf::make(2ull << 20, true, &err);
  if (!buf || hv_vm_map(buf->p, kCycleGpa, buf->size, kRWX) != HV_SUCCESS) {
    api.status = mem.status = "failed: cannot map the page: " + (buf ? std::string(hvshim_last_error()) : err);
    out.push_back(api);
    out.push_back(mem);
    return;
  }
  auto* page = static_cast<uint8_t*>(buf->p);
  memset(page, 0, buf->size);

  // Memory-layer variant: a raw vCPU in the shim's space 0, on private
  // memory (the memslot path: a raw vCPU is not one the userfaultfd router
  // can kick). The write to the read-only slot arrives as KVM_EXIT_MMIO
  // (post-decode, the write is then treated as done by KVM); the cycle
  // commits the data to host memory, as the shim's vCPU layer has to, calls
  // hv_vm_protect(RWX), and runs to the guest's next I/O exit.
  auto priv = HostBuf::make(2ull << 20, false, &err);
  if (!priv || hv_vm_unmap(kCycleGpa, buf->size) != HV_SUCCESS ||
      hv_vm_map(priv->p, kCycleGpa, priv->size, kRWX) != HV_SUCCESS)
    mem.status = "failed: cannot map private memory: " + (priv ? std::string(hvshim_last_error()) : err);
  if (mem.status == "ok") {
    page = static_cast<uint8_t*>(priv->p);
    memset(page, 0, priv->size);
    Samples cyc, fault_exit, unprotect, retry, mem_raw;
    Guest& g = *env.shim_guest;
    for (unsigned i = 0; i < cfg.cycle_iters + 10 && mem.status == "ok"; ++i) {
      if (hv_return_t e = hv_vm_protect(kCycleGpa, kPage, kRX); e != HV_SUCCESS) {
        mem.status = "failed: " + hv_err("hv_vm_protect(RX)", e);
        break;
      }
      if (!g.start(env.img.write_one_rip(), kCycleGpa, 0)) {
        mem.status = "failed: set regs";
        break;
      }
      int64_t t0 = now_ns();
      int r1 = g.run_once();
      kvm_run* run = g.run_page();
      bool mmio_ok = r1 == KVM_EXIT_MMIO && run->mmio.is_write && run->mmio.phys_addr == kCycleGpa;
      if (mmio_ok) memcpy(page + (run->mmio.phys_addr - kCycleGpa), run->mmio.data, run->mmio.len);
      int64_t t1 = now_ns();
      hv_return_t p = hv_vm_protect(kCycleGpa, kPage, kRWX);
      int64_t t2 = now_ns();
      int r2 = mmio_ok && p == HV_SUCCESS ? g.run_once() : -1;
      int64_t t3 = now_ns();
      if (!mmio_ok) {
        mem.status = "failed: expected an MMIO write exit, got " + describe_exit(run);
        break;
      }
      if (p != HV_SUCCESS || r2 != KVM_EXIT_IO || run->io.port != kPortWrote) {
        mem.status = fmt::format("failed: after unprotect: protect={:#x}, {}", p, describe_exit(run));
        break;
      }
      if (page[0] != 1) {
        mem.status = "failed: the guest write did not reach memory";
        break;
      }
      page[0] = 0;
      if (!raw_io_one(env, &mem_raw)) {
        mem.status = "failed: raw io loop: " + describe_exit(env.raw_guest->run_page());
        break;
      }
      if (i < 10) continue;
      cyc.add(static_cast<double>(t3 - t0));
      fault_exit.add(static_cast<double>(t1 - t0));
      unprotect.add(static_cast<double>(t2 - t1));
      retry.add(static_cast<double>(t3 - t2));
    }
    if (mem.status == "ok") {
      mem.native_ns = mem_raw.median();
      mem.shim_ns = cyc.median();
      mem.note = fmt::format(
          "the memory layer alone (dirty_cycle without the vCPU layer): raw vCPU in the shim's space; KVM_RUN to MMIO write exit "
          "(+ commit data) + hv_vm_protect(4 KiB, RWX) + KVM_RUN to the next I/O exit, vs one raw KVM_RUN I/O exit. "
          "cycle: {}; fault exit: {}; unprotect: {}; retry+io exit: {}; raw io: {}",
          cyc.summary(), fault_exit.summary(), unprotect.summary(), retry.summary(), mem_raw.summary());
    }
  }

  if (priv) hv_vm_unmap(kCycleGpa, priv->size);
  page = static_cast<uint8_t*>(buf->p);
  if (hv_vm_map(buf->p, kCycleGpa, buf->size, kRWX) != HV_SUCCESS) {
    api.status = "failed: cannot map the page again: " + std::string(hvshim_last_error());
    out.push_back(api);
    out.push_back(mem);
    return;
  }
  // The VMM's path: shared memory, the userfaultfd fast path where offered.
  dirty_cycle_api(env, cfg, api, raw_io, kCycleGpa, page);
  if (std::isnan(api.native_ns)) api.native_ns = std::isnan(mem.native_ns) ? warm.median() : mem.native_ns;
  hv_vm_unmap(kCycleGpa, buf->size);
  out.push_back(api);
  out.push_back(mem);
}

// ---------------------------------------------------------------------------
// log_debug_overhead: the same cheap hv_* call (hv_vm_protect toggling only
// EXEC on one page: bookkeeping, no KVM ioctl) with HVSHIM_LOG off (the
// default level, warn: one relaxed load and a branch) vs HVSHIM_LOG=debug
// written to HVSHIM_LOG_FILE. native_ns here is the logging-off figure.
void case_log_overhead(Env& env, const Config& cfg, std::vector<Result>& out) {
  (void)env;
  Result r{"log_debug_overhead"};
  std::string err;
  auto buf = HostBuf::make(2ull << 20, true, &err);
  if (!buf || hv_vm_map(buf->p, kCycleGpa, buf->size, kRWX) != HV_SUCCESS) {
    r.status = "failed: cannot map: " + (buf ? std::string(hvshim_last_error()) : err);
    out.push_back(r);
    return;
  }
  std::string saved_log = getenv("HVSHIM_LOG") ? getenv("HVSHIM_LOG") : "";
  std::string saved_file = getenv("HVSHIM_LOG_FILE") ? getenv("HVSHIM_LOG_FILE") : "";
  char path[] = "/tmp/hvbench-log-XXXXXX";
  int fd = mkstemp(path);
  if (fd >= 0) close(fd);
  auto measure = [&](Samples* s) {
    for (unsigned i = 0; i < cfg.log_iters + 100; ++i) {
      int64_t t0 = now_ns();
      hv_return_t e = hv_vm_protect(kCycleGpa, kPage, (i & 1) ? kRWX : kRW);
      int64_t t1 = now_ns();
      if (e != HV_SUCCESS) return false;
      if (i >= 100) s->add(static_cast<double>(t1 - t0));
    }
    return true;
  };
  Samples off, on;
  setenv("HVSHIM_LOG", "warn", 1);
  unsetenv("HVSHIM_LOG_FILE");
  hvshim::log::reload_from_env();
  bool ok = measure(&off);
  setenv("HVSHIM_LOG", "debug", 1);
  setenv("HVSHIM_LOG_FILE", path, 1);
  hvshim::log::reload_from_env();
  ok = ok && measure(&on);
  // Restore the caller's logging.
  if (saved_log.empty()) unsetenv("HVSHIM_LOG"); else setenv("HVSHIM_LOG", saved_log.c_str(), 1);
  if (saved_file.empty()) unsetenv("HVSHIM_LOG_FILE"); else setenv("HVSHIM_LOG_FILE", saved_file.c_str(), 1);
  hvshim::log::reload_from_env();
  unlink(path);
  hv_vm_unmap(kCycleGpa, buf->size);
  if (!ok) {
    r.status = "failed: hv_vm_protect failed";
  } else {
    r.shim_ns = on.median();
    r.native_ns = off.median();
    r.note = fmt::format(
        "hv_vm_protect toggling only EXEC on a 4 KiB page (no KVM ioctl), HVSHIM_LOG=debug to a file (shim_ns) vs "
        "logging off (native_ns). debug: {}; off: {}",
        on.summary(1, "ns"), off.summary(1, "ns"));
  }
  out.push_back(r);
}

}  // namespace hvbench
