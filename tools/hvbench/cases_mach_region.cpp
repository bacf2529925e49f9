// mach_region_walk_<N>: walk N regions, one call per region, vs what Linux
// offers for the same question.
//
// Setup: one mach_vm_allocate of N pages, then every other page made
// read-only with mach_vm_protect, so the range is N one-page regions of
// alternating protection for both the shim's region table and the kernel
// (N VMAs).
//
// shim_ns: per step of a walk with mach_vm_region(VM_REGION_BASIC_INFO_64)
//   from the first page to the end of the range (the basic info carries
//   what a maps line does: range, protection, sharing, offset).
// native_ns: per step (total / N) of reading and parsing /proc/self/maps
//   once, which lists every region. This is how Linux programs walk their
//   mappings; it is one read for all regions, not a query per step.
// The note adds, per step: mach_vm_region_recurse with the short submap
//   info, mach_vm_region_recurse with the full info (which includes
//   resident-page counts, a mincore per region), and the kernel's own
//   per-step query, PROCMAP_QUERY (Linux 6.11+), one ioctl per region.
// Every walk must see exactly N regions in order with the right size and
// protection.
#include <fcntl.h>
#include <mach/mach.h>
#include <unistd.h>

#include <fmt/format.h>

#include "harness.h"
#include "proc_maps.h"

namespace hvbench {

namespace {

// Region k of the range is read-write for even k, read-only for odd k.
vm_prot_t expected_prot(uint64_t k) { return (k & 1) ? VM_PROT_READ : VM_PROT_READ | VM_PROT_WRITE; }

enum class Walker { region, recurse_short, recurse_full };

// One walk over [base, base + n pages); "" or what was wrong.
std::string mach_walk(Walker w, uint64_t base, uint64_t n) {
  const uint64_t page = vm_page_size;
  mach_vm_address_t addr = base;
  for (uint64_t k = 0; k < n; ++k) {
    mach_vm_size_t size = 0;
    vm_prot_t prot = 0;
    kern_return_t kr;
    if (w == Walker::region) {
      vm_region_basic_info_data_64_t info{};
      mach_msg_type_number_t cnt = VM_REGION_BASIC_INFO_COUNT_64;
      mach_port_t obj = MACH_PORT_NULL;
      kr = mach_vm_region(mach_task_self(), &addr, &size, VM_REGION_BASIC_INFO_64,
                          reinterpret_cast<vm_region_info_t>(&info), &cnt, &obj);
      prot = info.protection;
    } else {
      vm_region_submap_info_data_64_t info{};
      mach_msg_type_number_t cnt =
          w == Walker::recurse_short ? VM_REGION_SUBMAP_SHORT_INFO_COUNT_64 : VM_REGION_SUBMAP_INFO_COUNT_64;
      natural_t depth = 0;
      kr = mach_vm_region_recurse(mach_task_self(), &addr, &size, &depth,
                                  reinterpret_cast<vm_region_recurse_info_t>(&info), &cnt);
      // The short and full layouts differ: read the protection from the one
      // that was asked for.
      prot = w == Walker::recurse_short ? reinterpret_cast<vm_region_submap_short_info_data_64_t*>(&info)->protection
                                        : info.protection;
    }
    if (kr != KERN_SUCCESS || addr != base + k * page || size != page || prot != expected_prot(k))
      return fmt::format("step {}: kr {:#x}, region [{:#x}, +{:#x}) prot {}, expected [{:#x}, +{:#x}) prot {}", k, kr,
                         addr, size, prot, base + k * page, page, expected_prot(k));
    addr += size;
  }
  return {};
}

std::string check_vmas(const std::vector<Vma>& v, uint64_t base, uint64_t n) {
  const uint64_t page = vm_page_size;
  if (v.size() != n) return fmt::format("{} mappings in the range, expected {}", v.size(), n);
  for (uint64_t k = 0; k < n; ++k) {
    bool ro = expected_prot(k) == VM_PROT_READ;
    if (v[k].start != base + k * page || v[k].end != v[k].start + page || !v[k].r || v[k].w == ro)
      return fmt::format("mapping {} is [{:#x}, {:#x}) {}{}", k, v[k].start, v[k].end, v[k].r ? 'r' : '-',
                         v[k].w ? 'w' : '-');
  }
  return {};
}

// One PROCMAP_QUERY walk; "" or what was wrong. *unsupported if the kernel
// lacks the ioctl.
std::string query_walk(uint64_t base, uint64_t n, std::vector<Vma>& seen, bool* unsupported) {
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "cannot open /proc/self/maps";
  seen.clear();
  uint64_t addr = base;
  Vma v;
  while (seen.size() < n && procmap_query(fd, addr, v, unsupported)) {
    seen.push_back(v);
    addr = v.end;
  }
  close(fd);
  return *unsupported ? "" : check_vmas(seen, base, n);
}

}  // namespace

void case_mach_region_walk(Env& env, const Config& cfg, std::vector<Result>& out) {
  (void)env;
  const uint64_t n = cfg.region_count;
  Result r(n % 1000 == 0 ? fmt::format("mach_region_walk_{}k", n / 1000) : fmt::format("mach_region_walk_{}", n));
  const uint64_t page = vm_page_size;
  mach_vm_address_t base = 0;
  if (kern_return_t kr = mach_vm_allocate(mach_task_self(), &base, n * page, VM_FLAGS_ANYWHERE); kr != KERN_SUCCESS) {
    r.status = fmt::format("failed: mach_vm_allocate of {} pages: {:#x}", n, kr);
    out.push_back(r);
    return;
  }
  struct Free {
    mach_vm_address_t a;
    uint64_t s;
    ~Free() { mach_vm_deallocate(mach_task_self(), a, s); }
  } free_range{base, n * page};
  for (uint64_t k = 1; k < n; k += 2) {
    if (kern_return_t kr = mach_vm_protect(mach_task_self(), base + k * page, page, FALSE, VM_PROT_READ);
        kr != KERN_SUCCESS) {
      r.status = fmt::format("failed: mach_vm_protect of page {}: {:#x}", k, kr);
      out.push_back(r);
      return;
    }
  }

  Samples region, rec_short, rec_full, maps, query;
  std::string buf;
  std::vector<Vma> vmas;
  bool no_query = false;
  auto per_step = [n](int64_t t) { return static_cast<double>(t) / static_cast<double>(n); };
  for (unsigned i = 0; i < cfg.region_walks + 1 && r.status == "ok"; ++i) {  // the first round warms up
    std::string e;
    int64_t t0 = now_ns();
    e = mach_walk(Walker::region, base, n);
    int64_t t1 = now_ns();
    if (!e.empty()) {
      r.status = "failed: mach_vm_region walk: " + e;
      break;
    }
    bool parsed = maps_in_range(base, base + n * page, buf, vmas);
    int64_t t2 = now_ns();
    if (!parsed || !(e = check_vmas(vmas, base, n)).empty()) {
      r.status = "failed: /proc/self/maps: " + (parsed ? e : std::string("read or parse error"));
      break;
    }
    e = mach_walk(Walker::recurse_short, base, n);
    int64_t t3 = now_ns();
    if (e.empty()) e = mach_walk(Walker::recurse_full, base, n);
    int64_t t4 = now_ns();
    if (!e.empty()) {
      r.status = "failed: mach_vm_region_recurse walk: " + e;
      break;
    }
    int64_t t5 = now_ns();
    if (!no_query && !(e = query_walk(base, n, vmas, &no_query)).empty()) {
      r.status = "failed: PROCMAP_QUERY walk: " + e;
      break;
    }
    int64_t t6 = now_ns();
    if (i == 0) continue;
    region.add(per_step(t1 - t0));
    maps.add(per_step(t2 - t1));
    rec_short.add(per_step(t3 - t2));
    rec_full.add(per_step(t4 - t3));
    if (!no_query) query.add(per_step(t6 - t5));
  }
  if (r.status == "ok") {
    r.shim_ns = region.median();
    r.native_ns = maps.median();
    r.note = fmt::format(
        "per step of a walk over {} one-page regions (alternating RW/R): mach_vm_region(BASIC_INFO_64) per step vs "
        "one read+parse of /proc/self/maps divided by {}; each walk checked region by region. mach_vm_region: {}; "
        "/proc/self/maps: {}; mach_vm_region_recurse short info: {}; mach_vm_region_recurse full info (resident "
        "counts): {}; PROCMAP_QUERY ioctl per step: {}",
        n, n, region.summary(1, "ns"), maps.summary(1, "ns"), rec_short.summary(1, "ns"), rec_full.summary(1, "ns"),
        no_query ? std::string("not supported by this kernel") : query.summary(1, "ns"));
  }
  out.push_back(r);
}

}  // namespace hvbench
