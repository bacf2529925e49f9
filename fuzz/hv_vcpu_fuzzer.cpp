// Fuzzes the vCPU C API's argument space on one real VM and vCPU created
// once: VMCS field ids and values, register ids and values, MSR ids and
// values, capability ids, vCPU ids (mostly the real one, sometimes any),
// out-pointers (sometimes null), fpstate buffer sizes and contents, address
// space ids and hv_vcpu_run_until deadlines. Checked:
//   * nothing crashes and no sanitizer reports (the build has ASan/UBSan);
//   * a call that returns an error leaves every register, readable VMCS
//     field, MSR and the FPU state exactly as they were;
//   * a call on a vCPU id that does not exist returns HV_BAD_ARGUMENT;
//   * a successful hv_vcpu_set_space carries all of that state unchanged;
//   * no file descriptor is leaked by an input.
// Guest runs are bounded: RAM is all HLT, runs have a deadline at most 2 ms
// away or start with a kick pending, so a run executes a few instructions.
// Each input starts from the same vCPU state (written back through the API).
#include <Hypervisor/hv.h>
#include <Hypervisor/hv_vmx.h>
#include <dirent.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

constexpr uint64_t kRamSize = 1 << 20;
constexpr uint64_t kCodeGpa = 0x1000;
constexpr hv_vm_space_t kOtherSpace = 1;

struct Field {
  uint32_t id;
  bool writable;  // accepts its own value back (used to restore the baseline)
};

// What is compared before/after a rejected call.
struct State {
  std::vector<uint64_t> regs, vmcs, msrs;
  std::vector<uint8_t> fpu;
  bool operator==(const State& o) const = default;
};

bool g_ready = false;
hv_vcpuid_t g_vcpu = 0;
std::vector<Field> g_fields;      // every VMCS field the vCPU can read
std::vector<uint32_t> g_msrs;     // MSRs readable now whose value only writes change
std::vector<uint32_t> g_msr_dict; // MSR ids worth trying
State g_baseline;
long g_fds = 0;
// How often each check actually ran (HV_VCPU_FUZZER_STATS=1 prints them at
// exit), so a run can show it was not vacuous.
struct Stats {
  unsigned long rejected_mutations = 0, accepted_mutations = 0, runs = 0, space_moves = 0, bad_ids = 0;
} g_stats;

// The fds the library can own: KVM objects, userfaultfd/eventfd, memfds.
// (libFuzzer itself opens pipes to a symbolizer when it reports new
// functions; those are not ours to count.)
long count_fds() {
  DIR* d = opendir("/proc/self/fd");
  if (!d) return -1;
  long n = 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    char path[64], target[256];
    snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
    ssize_t len = readlink(path, target, sizeof target - 1);
    if (len <= 0) continue;
    target[len] = 0;
    if (strncmp(target, "anon_inode:", 11) == 0 || strstr(target, "kvm") || strstr(target, "memfd") ||
        strstr(target, "userfaultfd"))
      ++n;
  }
  closedir(d);
  return n;
}

void list_fds() {
  DIR* d = opendir("/proc/self/fd");
  if (!d) return;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    char path[64], target[256];
    snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
    ssize_t n = readlink(path, target, sizeof target - 1);
    target[n > 0 ? n : 0] = 0;
    fprintf(stderr, "  fd %s -> %s\n", e->d_name, target);
  }
  closedir(d);
}

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

[[noreturn]] void fail(const char* what, uint64_t a = 0, uint64_t b = 0) {
  fprintf(stderr, "hv_vcpu_fuzzer: %s (%#llx, %#llx)\n", what, static_cast<unsigned long long>(a),
          static_cast<unsigned long long>(b));
  abort();
}

State snapshot() {
  State s;
  for (uint32_t r = 0; r < HV_X86_REGISTERS_MAX; ++r) {
    uint64_t v = 0;
    if (hv_vcpu_read_register(g_vcpu, static_cast<hv_x86_reg_t>(r), &v) != HV_SUCCESS) fail("register read", r);
    s.regs.push_back(v);
  }
  for (const Field& f : g_fields) {
    uint64_t v = 0;
    if (hv_vmx_vcpu_read_vmcs(g_vcpu, f.id, &v) != HV_SUCCESS) fail("VMCS field no longer readable", f.id);
    s.vmcs.push_back(v);
  }
  for (uint32_t m : g_msrs) {
    uint64_t v = 0;
    if (hv_vcpu_read_msr(g_vcpu, m, &v) != HV_SUCCESS) fail("MSR no longer readable", m);
    s.msrs.push_back(v);
  }
  s.fpu.resize(4096);
  if (hv_vcpu_read_fpstate(g_vcpu, s.fpu.data(), s.fpu.size()) != HV_SUCCESS) fail("fpstate read");
  return s;
}

// Where two states differ, for the report.
void explain(const State& a, const State& b) {
  for (size_t i = 0; i < a.regs.size(); ++i)
    if (a.regs[i] != b.regs[i]) fprintf(stderr, "  register %zu: %#llx -> %#llx\n", i, (unsigned long long)a.regs[i], (unsigned long long)b.regs[i]);
  for (size_t i = 0; i < a.vmcs.size(); ++i)
    if (a.vmcs[i] != b.vmcs[i])
      fprintf(stderr, "  VMCS %#x: %#llx -> %#llx\n", g_fields[i].id, (unsigned long long)a.vmcs[i], (unsigned long long)b.vmcs[i]);
  for (size_t i = 0; i < a.msrs.size(); ++i)
    if (a.msrs[i] != b.msrs[i])
      fprintf(stderr, "  MSR %#x: %#llx -> %#llx\n", g_msrs[i], (unsigned long long)a.msrs[i], (unsigned long long)b.msrs[i]);
  for (size_t i = 0; i < a.fpu.size(); ++i)
    if (a.fpu[i] != b.fpu[i]) {
      fprintf(stderr, "  fpstate byte %zu: %#x -> %#x\n", i, a.fpu[i], b.fpu[i]);
      break;
    }
}

// Writes `s` back through the API: MSRs and FPU first, then VMCS fields
// (controls before guest state), then registers.
void restore(const State& s) {
  for (size_t i = 0; i < g_msrs.size(); ++i) hv_vcpu_write_msr(g_vcpu, g_msrs[i], s.msrs[i]);
  std::vector<uint8_t> fpu = s.fpu;
  hv_vcpu_write_fpstate(g_vcpu, fpu.data(), fpu.size());
  for (int pass = 0; pass < 2; ++pass)
    for (size_t i = 0; i < g_fields.size(); ++i)
      if (g_fields[i].writable) hv_vmx_vcpu_write_vmcs(g_vcpu, g_fields[i].id, s.vmcs[i]);
  for (uint32_t r = 0; r < HV_X86_REGISTERS_MAX; ++r)
    hv_vcpu_write_register(g_vcpu, static_cast<hv_x86_reg_t>(r), s.regs[r]);
}

// Every encoding the VMCS field format allows (width, type, index, high).
void discover_fields() {
  for (uint32_t width = 0; width < 4; ++width)
    for (uint32_t type = 0; type < 4; ++type)
      for (uint32_t index = 0; index < 64; ++index)
        for (uint32_t high = 0; high < 2; ++high) {
          if (high && width != 1) continue;
          uint32_t f = (width << 13) | (type << 10) | (index << 1) | high;
          uint64_t v;
          if (hv_vmx_vcpu_read_vmcs(g_vcpu, f, &v) != HV_SUCCESS) continue;
          g_fields.push_back({f, hv_vmx_vcpu_write_vmcs(g_vcpu, f, v) == HV_SUCCESS});
        }
}

void discover_msrs() {
  // Architectural and KVM MSRs worth trying; the snapshot keeps those that
  // read back and do not move on their own (no TSC, no counters).
  const uint32_t dict[] = {0x0,        0x10,       0x1b,       0x3a,       0x3b,       0x48,       0x8b,
                           0xc1,       0xe7,       0xe8,       0x174,      0x175,      0x176,      0x179,
                           0x1a0,      0x1d9,      0x277,      0x2ff,      0x38d,      0x38f,      0x480,
                           0x6e0,      0xc0000080, 0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, 0xc0000100,
                           0xc0000101, 0xc0000102, 0xc0000103, 0x4b564d00, 0x4b564d01, 0x4b564d02, 0x11,
                           0x12,       0x40000000, 0x400000f0, 0xffffffff, 0x80000000};
  const uint32_t stable[] = {0x174, 0x175, 0x176, 0x277, 0xc0000080, 0xc0000081, 0xc0000082,
                             0xc0000083, 0xc0000084, 0xc0000100, 0xc0000101, 0xc0000102, 0x1b};
  g_msr_dict.assign(std::begin(dict), std::end(dict));
  for (uint32_t m : stable) {
    uint64_t v;
    if (hv_vcpu_read_msr(g_vcpu, m, &v) == HV_SUCCESS && hv_vcpu_write_msr(g_vcpu, m, v) == HV_SUCCESS)
      g_msrs.push_back(m);
  }
}

bool setup() {
  if (hv_vm_create(HV_VM_DEFAULT) != HV_SUCCESS) return false;  // no /dev/kvm: nothing to fuzz
  auto* ram = static_cast<uint8_t*>(
      mmap(nullptr, kRamSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (ram == MAP_FAILED) return false;
  memset(ram, 0xf4, kRamSize);  // HLT everywhere: a run executes a few instructions
  const uint64_t rwx = HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC;
  if (hv_vm_map(ram, 0, kRamSize, rwx) != HV_SUCCESS) fail("hv_vm_map");
  hv_vm_space_t s = 0;
  if (hv_vm_space_create(&s) != HV_SUCCESS || s != kOtherSpace) fail("hv_vm_space_create", s);
  if (hv_vm_map_space(s, ram, 0, kRamSize, rwx) != HV_SUCCESS) fail("hv_vm_map_space");
  if (hv_vcpu_create(&g_vcpu, HV_VCPU_DEFAULT) != HV_SUCCESS) fail("hv_vcpu_create");
  hv_vcpu_write_register(g_vcpu, HV_X86_RIP, kCodeGpa);
  uint64_t cpu = 0;
  hv_vmx_vcpu_read_vmcs(g_vcpu, VMCS_CTRL_CPU_BASED, &cpu);
  hv_vmx_vcpu_write_vmcs(g_vcpu, VMCS_CTRL_CPU_BASED, cpu | CPU_BASED_HLT);
  // One run in each space, so exit fields and the lazily made KVM vCPU of
  // the other space (kept while that space lives) exist before the fd count
  // is taken.
  if (hv_vcpu_run_until(g_vcpu, now_ns() + 1000000) != HV_SUCCESS) fail("first run");
  if (hv_vcpu_set_space(g_vcpu, kOtherSpace) != HV_SUCCESS) fail("visit space 1");
  if (hv_vcpu_run_until(g_vcpu, now_ns() + 1000000) != HV_SUCCESS) fail("run in space 1");
  if (hv_vcpu_set_space(g_vcpu, HV_VM_SPACE_DEFAULT) != HV_SUCCESS) fail("back from space 1");
  discover_fields();
  discover_msrs();
  g_baseline = snapshot();
  g_fds = count_fds();
  return true;
}

struct Reader {
  const uint8_t* p;
  size_t n;
  uint64_t take(size_t bytes) {
    uint64_t v = 0;
    for (size_t i = 0; i < bytes && n; ++i, --n) v = (v << 8) | *p++;
    return v;
  }
};

hv_vcpuid_t pick_vcpu(Reader& r) {
  switch (r.take(1) % 8) {
    case 0: return static_cast<hv_vcpuid_t>(r.take(4));
    case 1: return g_vcpu + 1 + static_cast<hv_vcpuid_t>(r.take(1) % 4);
    default: return g_vcpu;
  }
}

uint32_t pick_field(Reader& r) {
  switch (r.take(1) % 6) {
    case 0: return static_cast<uint32_t>(r.take(4));
    case 1: return g_fields[r.take(2) % g_fields.size()].id + static_cast<uint32_t>(r.take(1) % 5) - 2;
    default: return g_fields[r.take(2) % g_fields.size()].id;
  }
}

uint32_t pick_reg(Reader& r) {
  switch (r.take(1) % 6) {
    case 0: return static_cast<uint32_t>(r.take(4));
    case 1: return HV_X86_REGISTERS_MAX + static_cast<uint32_t>(r.take(1) % 8);
    default: return static_cast<uint32_t>(r.take(1) % HV_X86_REGISTERS_MAX);
  }
}

uint32_t pick_msr(Reader& r) {
  switch (r.take(1) % 5) {
    case 0: return static_cast<uint32_t>(r.take(4));
    case 1: return static_cast<uint32_t>(r.take(2) % 0x2000);
    case 2: return 0xc0000000u + static_cast<uint32_t>(r.take(2) % 0x2000);
    default: return g_msr_dict[r.take(1) % g_msr_dict.size()];
  }
}

uint64_t pick_value(Reader& r, uint64_t current) {
  switch (r.take(1) % 6) {
    case 0: return 0;
    case 1: return ~0ull;
    case 2: return current ^ (1ull << (r.take(1) % 64));
    case 3: return r.take(1);
    default: return r.take(8);
  }
}

// A call that may change state: if it fails, nothing may have changed.
template <class F>
void mutate(F call, const char* what, uint64_t a, uint64_t b) {
  State before = snapshot();
  hv_return_t ret = call();
  if (ret == HV_SUCCESS) {
    ++g_stats.accepted_mutations;
    return;
  }
  ++g_stats.rejected_mutations;
  State after = snapshot();
  if (!(after == before)) {
    explain(before, after);
    fail(what, a, b);
  }
}

void expect_bad_id(hv_vcpuid_t id, hv_return_t ret, const char* what) {
  if (id != g_vcpu) ++g_stats.bad_ids;
  if (id != g_vcpu && ret != HV_BAD_ARGUMENT) fail(what, id, static_cast<uint64_t>(ret));
}

void one_op(Reader& r) {
  const unsigned op = r.take(1) % 20;
  const hv_vcpuid_t id = pick_vcpu(r);
  const bool null_out = r.take(1) % 16 == 0;
  uint64_t v = 0, v2 = 0;
  switch (op) {
    case 0:
    case 1: {
      uint32_t reg = pick_reg(r);
      uint64_t cur = 0;
      hv_vcpu_read_register(g_vcpu, static_cast<hv_x86_reg_t>(reg % HV_X86_REGISTERS_MAX), &cur);
      uint64_t val = pick_value(r, cur);
      mutate([&] {
        hv_return_t ret = hv_vcpu_write_register(id, static_cast<hv_x86_reg_t>(reg), val);
        expect_bad_id(id, ret, "write_register on a missing vCPU");
        return ret;
      }, "failed hv_vcpu_write_register changed state", reg, val);
      break;
    }
    case 2: {
      uint32_t reg = pick_reg(r);
      hv_return_t ret = hv_vcpu_read_register(id, static_cast<hv_x86_reg_t>(reg), null_out ? nullptr : &v);
      expect_bad_id(id, ret, "read_register on a missing vCPU");
      if (null_out && ret == HV_SUCCESS) fail("read_register accepted a null out-pointer", reg);
      break;
    }
    case 3:
    case 4: {
      uint32_t f = pick_field(r);
      uint64_t cur = 0;
      hv_vmx_vcpu_read_vmcs(g_vcpu, f, &cur);
      uint64_t val = pick_value(r, cur);
      mutate([&] {
        hv_return_t ret = hv_vmx_vcpu_write_vmcs(id, f, val);
        expect_bad_id(id, ret, "write_vmcs on a missing vCPU");
        return ret;
      }, "failed hv_vmx_vcpu_write_vmcs changed state", f, val);
      break;
    }
    case 5: {
      uint32_t f = pick_field(r);
      hv_return_t ret = hv_vmx_vcpu_read_vmcs(id, f, null_out ? nullptr : &v);
      expect_bad_id(id, ret, "read_vmcs on a missing vCPU");
      if (null_out && ret == HV_SUCCESS) fail("read_vmcs accepted a null out-pointer", f);
      break;
    }
    case 6: {
      uint32_t f = pick_field(r);
      hv_return_t ret = hv_vmx_vcpu_get_cap_write_vmcs(id, f, null_out ? nullptr : &v, &v2);
      expect_bad_id(id, ret, "get_cap_write_vmcs on a missing vCPU");
      break;
    }
    case 7: {
      uint32_t m = pick_msr(r);
      hv_return_t ret = hv_vcpu_read_msr(id, m, null_out ? nullptr : &v);
      expect_bad_id(id, ret, "read_msr on a missing vCPU");
      if (null_out && ret == HV_SUCCESS) fail("read_msr accepted a null out-pointer", m);
      break;
    }
    case 8:
    case 9: {
      uint32_t m = pick_msr(r);
      uint64_t cur = 0;
      hv_vcpu_read_msr(g_vcpu, m, &cur);
      uint64_t val = pick_value(r, cur);
      mutate([&] {
        hv_return_t ret = hv_vcpu_write_msr(id, m, val);
        expect_bad_id(id, ret, "write_msr on a missing vCPU");
        return ret;
      }, "failed hv_vcpu_write_msr changed state", m, val);
      break;
    }
    case 10: {
      uint32_t m = pick_msr(r);
      bool on = r.take(1) & 1;
      mutate([&] { return hv_vcpu_enable_native_msr(id, m, on); }, "failed enable_native_msr changed state", m, on);
      break;
    }
    case 11: {
      // Exactly `size` bytes: ASan sees any access past the caller's buffer.
      size_t size = r.take(2) % 9000;
      std::vector<uint8_t> buf(size);
      hv_return_t ret = hv_vcpu_read_fpstate(id, null_out ? nullptr : buf.data(), size);
      expect_bad_id(id, ret, "read_fpstate on a missing vCPU");
      break;
    }
    case 12: {
      size_t size = r.take(2) % 9000;
      std::vector<uint8_t> buf(size);
      // Mostly the current image with a few bytes changed, else noise.
      if (r.take(1) % 4) {
        std::vector<uint8_t> cur(4096);
        hv_vcpu_read_fpstate(g_vcpu, cur.data(), cur.size());
        if (size) memcpy(buf.data(), cur.data(), std::min(size, cur.size()));
        for (int k = static_cast<int>(r.take(1) % 8); k > 0 && size; --k) buf[r.take(2) % size] = static_cast<uint8_t>(r.take(1));
      } else {
        for (auto& b : buf) b = static_cast<uint8_t>(r.take(1));
      }
      mutate([&] {
        hv_return_t ret = hv_vcpu_write_fpstate(id, null_out ? nullptr : buf.data(), size);
        expect_bad_id(id, ret, "write_fpstate on a missing vCPU");
        return ret;
      }, "failed hv_vcpu_write_fpstate changed state", size, 0);
      break;
    }
    case 13: {
      uint64_t cap = r.take(1) % 4 ? r.take(1) % 40 : r.take(8);
      switch (r.take(1) % 3) {
        case 0: hv_capability(cap, null_out ? nullptr : &v); break;
        case 1: hv_vmx_read_capability(static_cast<hv_vmx_capability_t>(cap), null_out ? nullptr : &v); break;
        default: hv_vmx_get_msr_info(cap, null_out ? nullptr : &v); break;
      }
      break;
    }
    case 14: {
      // A deadline at most 2 ms away, or already past.
      uint64_t off = r.take(3) % 2000000;
      uint64_t deadline = r.take(1) % 4 == 0 ? now_ns() - off : now_ns() + off;
      hv_return_t ret = hv_vcpu_run_until(id, deadline);
      expect_bad_id(id, ret, "run_until on a missing vCPU");
      ++g_stats.runs;
      break;
    }
    case 15: {
      // An unbounded run, but with a kick already pending: it returns at once.
      hv_vcpuid_t self = g_vcpu;
      hv_vcpu_interrupt(&self, 1);
      hv_return_t ret = hv_vcpu_run(id);
      expect_bad_id(id, ret, "run on a missing vCPU");
      if (id == g_vcpu && ret == HV_SUCCESS) {
        hv_vmx_vcpu_read_vmcs(g_vcpu, VMCS_RO_EXIT_REASON, &v);
        if (v != VMX_REASON_IRQ) fail("a kicked run did not return IRQ", v);
      }
      if (id != g_vcpu) {
        // The kick is still pending: consume it so the next input starts clean.
        hv_vcpu_run_until(g_vcpu, now_ns());
      }
      break;
    }
    case 16: {
      hv_vcpuid_t ids[4];
      unsigned n = static_cast<unsigned>(r.take(1) % 5);
      for (unsigned i = 0; i < n; ++i) ids[i] = pick_vcpu(r);
      hv_return_t ret = hv_vcpu_interrupt(null_out ? nullptr : ids, n);
      (void)ret;
      // Take any kick that got through, with a run that cannot go long.
      hv_vcpu_run_until(g_vcpu, now_ns());
      break;
    }
    case 17: {
      hv_vm_space_t asid = r.take(1) % 4 ? static_cast<hv_vm_space_t>(r.take(1) % 3) : static_cast<hv_vm_space_t>(r.take(4));
      State before = snapshot();
      hv_return_t ret = hv_vcpu_set_space(id, asid);
      State after = snapshot();
      if (ret == HV_SUCCESS) ++g_stats.space_moves;
      // Moving spaces carries the whole state; failing changes nothing.
      if (!(after == before)) {
        explain(before, after);
        fail(ret == HV_SUCCESS ? "hv_vcpu_set_space did not carry the state" : "failed set_space changed state", asid,
             static_cast<uint64_t>(ret));
      }
      break;
    }
    case 18: {
      switch (r.take(1) % 8) {
        case 0: hv_vcpu_flush(id); break;
        case 1: hv_vcpu_invalidate_tlb(id); break;
        case 2: hv_vcpu_get_exec_time(id, null_out ? nullptr : &v); break;
        case 3: hv_vcpu_set_tsc_relative(id, static_cast<int64_t>(r.take(8))); break;
        case 4: hv_vcpu_enable_managed_msr(id, pick_msr(r), r.take(1) & 1); break;
        case 5: hv_vcpu_set_msr_access(id, pick_msr(r), r.take(1)); break;
        case 6: hv_vmx_vcpu_read_shadow_vmcs(id, pick_field(r), null_out ? nullptr : &v); break;
        default: hv_vmx_vcpu_write_shadow_vmcs(id, pick_field(r), r.take(8)); break;
      }
      break;
    }
    default: {
      uint64_t gpa = r.take(1) % 2 ? (r.take(2) << 12) : r.take(8);
      mutate([&] { return hv_vmx_vcpu_set_apic_address(id, gpa); }, "failed set_apic_address changed state", gpa, 0);
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setenv("HVSHIM_LOG", "error", 0);
  if (getenv("HV_VCPU_FUZZER_STATS"))
    atexit([] {
      fprintf(stderr,
              "hv_vcpu_fuzzer: %zu VMCS fields, %zu MSRs compared; mutations rejected %lu, accepted %lu; runs %lu; "
              "space moves %lu; calls on missing vCPUs %lu\n",
              g_fields.size(), g_msrs.size(), g_stats.rejected_mutations, g_stats.accepted_mutations, g_stats.runs,
              g_stats.space_moves, g_stats.bad_ids);
    });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool tried = false;
  if (!tried) {
    tried = true;
    g_ready = setup();
  }
  if (!g_ready) return 0;
  // Every input starts from the same state, in the default space.
  if (hv_vcpu_set_space(g_vcpu, HV_VM_SPACE_DEFAULT) != HV_SUCCESS) fail("back to the default space");
  hv_vcpu_run_until(g_vcpu, now_ns());  // takes a stale kick, if any
  restore(g_baseline);
  State start = snapshot();
  // Read-only exit fields keep the last run's values; all else is back.
  for (size_t i = 0; i < g_fields.size(); ++i)
    if (!g_fields[i].writable) start.vmcs[i] = g_baseline.vmcs[i];
  if (!(start == g_baseline)) {
    explain(g_baseline, start);
    fail("the baseline state cannot be written back through the API");
  }
  Reader r{data, size};
  for (int ops = 0; r.n > 0 && ops < 64; ++ops) one_op(r);
  if (count_fds() != g_fds) {
    list_fds();
    fail("file descriptors leaked", g_fds, count_fds());
  }
  return 0;
}
