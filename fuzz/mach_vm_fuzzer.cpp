// Fuzzes the Mach VM C API (<mach/mach.h>) with hostile addresses, sizes,
// flags, protections, inheritance and behaviour values over a reserved
// arena. Checked after every call: no crash or sanitizer report, only
// documented return codes, and a refused call leaves the regions, contents,
// region table and open descriptors exactly as they were. Checked after
// every input: our table agrees with the kernel's protections, and tearing
// everything down gives back every entry and descriptor.
//
// The fuzzer must not clobber its own memory: calls that change memory or
// mappings (deallocate, protect, inherit, FIXED|OVERWRITE, the destination
// of write/copy, behaviour, msync, wire, direct stores) only get ranges
// inside the arena, kernel addresses or ranges that wrap; arbitrary
// addresses go only to calls that cannot change anything there (read,
// region, page query, sources of copies, ANYWHERE hints).
#include <dirent.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <hvshim/hvshim.h>
#include <mach/mach.h>

#include "machvm/kernel_view.h"
#include "machvm/task.h"

namespace {

constexpr uint64_t kPages = 64;
uint64_t P = 4096;
uint64_t g_arena = 0;
const uint64_t kUserEnd = 0x00007ffffffff000ULL;
const uint64_t kLowEnd = 0x10000;  // below vm.mmap_min_addr nothing is ever mapped
std::set<std::pair<uint64_t, uint64_t>> g_baseline_entries;
int g_baseline_fds = 0;
mach_port_t g_priv = MACH_PORT_NULL;

const uint64_t kHashLimit = 16ULL << 20;

uint64_t arena_end() { return g_arena + kPages * P; }

const std::set<kern_return_t> kAllowed = {
    KERN_SUCCESS,           KERN_INVALID_ADDRESS,  KERN_PROTECTION_FAILURE, KERN_NO_SPACE,
    KERN_INVALID_ARGUMENT,  KERN_FAILURE,          KERN_RESOURCE_SHORTAGE,  KERN_NOT_SUPPORTED,
    KERN_INVALID_RIGHT,     KERN_INVALID_VALUE,    KERN_INVALID_NAME,       KERN_INVALID_OBJECT,
    KERN_INVALID_HOST,      KERN_INVALID_TASK,     MACH_SEND_INVALID_RIGHT, MACH_SEND_INVALID_MEMORY,
    MACH_SEND_INVALID_DEST, KERN_MEMORY_ERROR};

// The descriptors this library could leak. Pipes are left out: libFuzzer
// starts a symbolizer behind pipes whenever it reports a new function.
int open_fds() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  if (!d) abort();
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.' || std::atoi(e->d_name) == dirfd(d)) continue;
    char path[64], target[256];
    std::snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
    ssize_t len = readlink(path, target, sizeof target - 1);
    target[len > 0 ? len : 0] = 0;
    if (std::strncmp(target, "pipe:", 5) != 0) ++n;
  }
  closedir(d);
  return n;
}

bool g_ring_seen = false;
const bool g_trace = std::getenv("MACH_VM_FUZZ_TRACE") != nullptr;  // each call and its result on stderr

bool has_io_uring_fd() {
  bool found = false;
  DIR* d = opendir("/proc/self/fd");
  if (!d) abort();
  while (dirent* e = readdir(d)) {
    char path[64], target[256];
    std::snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n > 0) {
      target[n] = 0;
      found |= std::strstr(target, "io_uring") != nullptr;
    }
  }
  closedir(d);
  return found;
}

// Our region table as ranges (start, end).
std::vector<std::pair<uint64_t, uint64_t>> table() {
  auto& t = hvshim::machvm::self_task();
  std::lock_guard lk(t.mu);
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (auto it = t.map.begin(); it != t.map.end(); ++it) out.emplace_back(it->second.start, it->second.end);
  return out;
}

// Memory this run created outside the arena (mach_vm_read results, ANYWHERE
// mappings): read-only targets.
std::vector<std::pair<uint64_t, uint64_t>> outside_entries() {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (auto r : table())
    if ((r.first < g_arena || r.first >= arena_end()) && !g_baseline_entries.count(r)) out.push_back(r);
  return out;
}

uint64_t hash_page(uint64_t a) {
  uint64_t h = 1469598103934665603ULL;
  const auto* w = reinterpret_cast<const uint64_t*>(a);
  for (uint64_t i = 0; i < P / 8; ++i) h = (h ^ w[i]) * 1099511628211ULL;
  return h;
}

struct Region {
  uint64_t start, end;
  int cur, max, inherit, behavior, wired;
  unsigned refs;
  uint64_t object, offset;
  bool operator==(const Region&) const = default;
};

struct Snapshot {
  std::vector<Region> regions;
  std::vector<uint64_t> hashes;
  size_t entries = 0;
  int fds = 0;
  bool operator==(const Snapshot&) const = default;
};

void walk(uint64_t lo, uint64_t hi, Snapshot& s) {
  for (mach_vm_address_t a = lo; a < hi;) {
    mach_vm_size_t size = 0;
    natural_t depth = 0;
    vm_region_submap_info_data_64_t info{};
    mach_msg_type_number_t count = VM_REGION_SUBMAP_INFO_COUNT_64;
    if (mach_vm_region_recurse(mach_task_self(), &a, &size, &depth, reinterpret_cast<vm_region_recurse_info_t>(&info),
                               &count) != KERN_SUCCESS ||
        a >= hi)
      return;
    uint64_t end = std::min<uint64_t>(a + size, hi);
    s.regions.push_back({a, end, info.protection, info.max_protection, static_cast<int>(info.inheritance), info.behavior,
                         info.user_wired_count, info.ref_count, info.object_id_full, info.offset});
    // Readable (x86: R or W) pages hashed through real loads. Huge sparse
    // regions are left out: reading shmem allocates every page it touches.
    if ((info.protection & (VM_PROT_READ | VM_PROT_WRITE)) && end - a <= kHashLimit)
      for (uint64_t p = a; p < end; p += P) s.hashes.push_back(hash_page(p));
    a = end;
  }
}

Snapshot snapshot() {
  Snapshot s;
  walk(g_arena, arena_end(), s);
  for (auto [b, e] : outside_entries()) walk(b, e, s);
  s.entries = table().size();
  s.fds = open_fds();
  return s;
}

// Every entry of ours in the arena has the kernel protection it claims.
void check_kernel_agrees() {
  for (auto [b, e] : table()) {
    if (b < g_arena || b >= arena_end()) continue;
    mach_vm_address_t a = b;
    mach_vm_size_t size = 0;
    vm_region_basic_info_data_64_t info{};
    mach_msg_type_number_t count = VM_REGION_BASIC_INFO_COUNT_64;
    mach_port_t obj = MACH_PORT_NULL;
    if (mach_vm_region(mach_task_self(), &a, &size, VM_REGION_BASIC_INFO_64,
                       reinterpret_cast<vm_region_info_t>(&info), &count, &obj) != KERN_SUCCESS)
      abort();
    auto v = hvshim::machvm::kernel_vma_at_or_after(0, b);
    if (!v || v->start > b || v->prot != (info.protection & VM_PROT_ALL)) abort();
    (void)e;
  }
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

uint64_t arena_addr(Reader& r) {
  uint64_t a = g_arena + (r.take(1) % kPages) * P;
  if (r.take(1) % 4 == 0) a += r.take(2) % P;
  return a;
}

uint64_t kernel_addr(Reader& r) {
  switch (r.take(1) % 3) {
    case 0: return (1ULL << 63) + r.take(2) * P;
    case 1: return UINT64_MAX - r.take(2);
    default: return kUserEnd + r.take(2) * P;
  }
}

// Any address: for calls that cannot change memory there.
uint64_t any_addr(Reader& r) {
  switch (r.take(1) % 8) {
    case 4: {
      auto out = outside_entries();
      if (out.empty()) return arena_addr(r);
      auto [b, e] = out[r.take(1) % out.size()];
      return b + r.take(2) % (e - b);
    }
    case 5: return kernel_addr(r);
    case 6: return r.take(2);
    case 7: return r.take(8);
    default: return arena_addr(r);
  }
}

uint64_t any_size(Reader& r) {
  switch (r.take(1) % 8) {
    case 4: return r.take(2);
    case 5: return 0;
    case 6: {
      switch (r.take(1) % 4) {
        case 0: return UINT64_MAX - r.take(2);
        case 1: return 1ULL << (40 + r.take(1) % 24);
        case 2: return (1ULL << 32) + r.take(1);
        default: return (1ULL << 63) + r.take(2);
      }
    }
    case 7: return r.take(8);
    default: return (1 + r.take(1) % 16) * P - (r.take(1) % 4 == 0 ? r.take(2) % P : 0);
  }
}

bool wraps(uint64_t a, uint64_t s) { return a > UINT64_MAX - s || a + s > UINT64_MAX - P; }

// A range a call may change: inside the arena, entirely in kernel space,
// below mmap_min_addr, or wrapping (every call refuses those).
void make_safe(uint64_t& a, uint64_t& s) {
  if (wraps(a, s)) return;
  if (a >= kUserEnd) return;
  if (a + s <= kLowEnd) return;
  if (a < g_arena || a >= arena_end()) a = g_arena + (a % kPages) * P;
  if (a + s > arena_end()) s = arena_end() - a;
}

// FIXED|OVERWRITE targets: remap/map take the length from the size alone.
void make_safe_target(uint64_t& a, uint64_t& s, int flags) {
  if (!(flags & VM_FLAGS_OVERWRITE) || (flags & VM_FLAGS_ANYWHERE)) return;
  uint64_t len = s > UINT64_MAX - P ? s : (s + P - 1) & ~(P - 1);
  if (wraps(a & ~(P - 1), len) || (a & ~(P - 1)) >= kUserEnd) return;
  a = g_arena + ((a / P) % kPages) * P;
  if (a + len > arena_end()) {
    if (len > kPages * P) len = kPages * P;
    a = arena_end() - len;
    s = len;
  }
}

int flags_of(Reader& r, bool remap) {
  int f;
  switch (r.take(1) % 4) {
    case 0: f = VM_FLAGS_ANYWHERE; break;
    case 1: f = VM_FLAGS_FIXED; break;
    case 2: f = VM_FLAGS_FIXED | VM_FLAGS_OVERWRITE; break;
    default: f = static_cast<int>(r.take(4)); break;
  }
  (void)remap;
  // Permanent entries cannot be removed again: the next input would start
  // from a different state.
  return f & ~VM_FLAGS_PERMANENT;
}

vm_prot_t prot_of(Reader& r) { return r.take(1) % 8 == 0 ? static_cast<vm_prot_t>(r.take(4)) : r.take(1) % 8; }

std::vector<mach_port_t> g_ports;

mach_port_t port_of(Reader& r) {
  switch (r.take(1) % 4) {
    case 0: return static_cast<mach_port_t>(r.take(4));
    case 1: return MACH_PORT_NULL;
    default: return g_ports.empty() ? MACH_PORT_NULL : g_ports[r.take(1) % g_ports.size()];
  }
}

kern_return_t one_call(Reader& r, unsigned op) {
  const mach_port_t self = mach_task_self();
  switch (op) {
    case 0: {
      int flags = flags_of(r, false);
      uint64_t a = arena_addr(r), s = any_size(r);
      if ((flags & VM_FLAGS_OVERWRITE) && !(flags & VM_FLAGS_ANYWHERE)) make_safe(a, s);
      mach_vm_address_t out = a;
      return mach_vm_allocate(self, &out, s, flags);
    }
    case 1: {
      uint64_t a = any_addr(r), s = any_size(r);
      make_safe(a, s);
      return mach_vm_deallocate(self, a, s);
    }
    case 2: {
      uint64_t a = any_addr(r), s = any_size(r);
      make_safe(a, s);
      return mach_vm_protect(self, a, s, r.take(1) % 3 == 0, prot_of(r) | (r.take(1) % 8 == 0 ? VM_PROT_COPY : 0));
    }
    case 3: {
      uint64_t a = any_addr(r), s = any_size(r);
      make_safe(a, s);
      return mach_vm_inherit(self, a, s, static_cast<vm_inherit_t>(r.take(1) % 5));
    }
    case 4: {
      int flags = flags_of(r, false);
      uint64_t a = any_addr(r), s = any_size(r);
      make_safe_target(a, s, flags);
      mach_vm_address_t out = a;
      return mach_vm_map(self, &out, s, r.take(1) % 4 == 0 ? r.take(4) : 0, flags, port_of(r), any_size(r),
                         r.take(1) % 2, prot_of(r), prot_of(r), static_cast<vm_inherit_t>(r.take(1) % 4));
    }
    case 5: {
      int flags = flags_of(r, true);
      uint64_t a = any_addr(r), s = any_size(r);
      make_safe_target(a, s, flags);
      mach_vm_address_t out = a;
      vm_prot_t cur = prot_of(r), max = prot_of(r);
      uint64_t src = any_addr(r);
      if (r.take(1) % 2)
        return mach_vm_remap(self, &out, s, 0, flags, self, src, r.take(1) % 2, &cur, &max,
                             static_cast<vm_inherit_t>(r.take(1) % 4));
      return mach_vm_remap_new(self, &out, s, 0, flags, self, src, r.take(1) % 2, &cur, &max,
                               static_cast<vm_inherit_t>(r.take(1) % 4));
    }
    case 6: {
      vm_offset_t data = 0;
      mach_msg_type_number_t cnt = 0;
      uint64_t s = any_size(r);
      return mach_vm_read(self, any_addr(r), s, &data, &cnt);
    }
    case 7: {
      uint64_t src = any_addr(r), d = any_addr(r), s = any_size(r);
      make_safe(d, s);
      mach_vm_size_t out = 0;
      return mach_vm_read_overwrite(self, src, s, d, &out);
    }
    case 8: {
      uint64_t d = any_addr(r), s = any_size(r) & 0xffffffff;
      make_safe(d, s);
      return mach_vm_write(self, d, any_addr(r), static_cast<mach_msg_type_number_t>(s));
    }
    case 9: {
      uint64_t src = any_addr(r), d = any_addr(r), s = any_size(r);
      make_safe(d, s);
      return mach_vm_copy(self, src, s, d);
    }
    case 10: {
      // Entries only of the arena (a writable entry of other memory could
      // be mapped into the arena and written through).
      memory_object_size_t s = any_size(r);
      uint64_t off = r.take(1) % 4 == 0 ? any_size(r) : arena_addr(r);
      mach_port_t h = MACH_PORT_NULL;
      vm_prot_t perm = static_cast<vm_prot_t>(r.take(1) % 8) | static_cast<vm_prot_t>(r.take(1) << 16) |
                       (r.take(1) % 8 == 0 ? static_cast<vm_prot_t>(r.take(4)) : 0);
      kern_return_t kr = mach_make_memory_entry_64(self, &s, off, perm, &h, port_of(r));
      if (kr == KERN_SUCCESS && h != MACH_PORT_NULL) g_ports.push_back(h);
      return kr;
    }
    case 11: {
      mach_port_t p = port_of(r);
      kern_return_t kr = mach_port_deallocate(self, p);
      for (size_t i = 0; kr == KERN_SUCCESS && i < g_ports.size(); ++i)
        if (g_ports[i] == p) {
          g_ports.erase(g_ports.begin() + static_cast<long>(i));
          break;
        }
      return kr;
    }
    case 12: {
      mach_vm_address_t a = any_addr(r);
      mach_vm_size_t s = 0;
      int info[64] = {};
      mach_msg_type_number_t count = static_cast<mach_msg_type_number_t>(r.take(1) % 40);
      mach_port_t obj = MACH_PORT_NULL;
      natural_t depth = 0;
      integer_t disp = 0, refs = 0;
      switch (r.take(1) % 4) {
        case 0: return mach_vm_region(self, &a, &s, static_cast<int>(r.take(1) % 12), info, &count, &obj);
        case 1: return mach_vm_region_recurse(self, &a, &s, &depth, info, &count);
        case 2: return mach_vm_page_query(self, a, &disp, &refs);
        default: return mach_vm_page_info(self, a, static_cast<int>(r.take(1) % 3), info, &count);
      }
    }
    case 13: {
      uint64_t a = any_addr(r), s = any_size(r);
      make_safe(a, s);
      return mach_vm_behavior_set(self, a, s, static_cast<vm_behavior_t>(r.take(1) % 16));
    }
    case 14: {
      uint64_t a = any_addr(r), s = any_size(r);
      make_safe(a, s);
      return mach_vm_msync(self, a, s, static_cast<vm_sync_t>(r.take(1) % 128));
    }
    case 15: {
      uint64_t a = any_addr(r), s = 1;
      make_safe(a, s);
      int state = static_cast<int>(r.take(1) % 4 == 0 ? r.take(4) : r.take(1) % 4);
      return mach_vm_purgable_control(self, a, static_cast<vm_purgable_t>(r.take(1) % 5), &state);
    }
    case 16: {
      mach_vm_read_entry_t list = {};
      natural_t n = static_cast<natural_t>(r.take(1) % 4);
      for (natural_t i = 0; i < n; ++i) list[i] = {any_addr(r), any_size(r)};
      return mach_vm_read_list(self, list, r.take(1) % 16 == 0 ? static_cast<natural_t>(r.take(4)) % 1000 : n);
    }
    case 17: {
      vm_machine_attribute_val_t v = static_cast<vm_machine_attribute_val_t>(r.take(1) % 4);
      return mach_vm_machine_attribute(self, any_addr(r), any_size(r), static_cast<vm_machine_attribute_t>(r.take(1) % 3),
                                       &v);
    }
    case 18: {
      if (!g_priv) return KERN_SUCCESS;
      uint64_t a = any_addr(r), s = any_size(r);
      make_safe(a, s);
      if (s > kPages * P) s = kPages * P;  // mlock populates: keep it small
      return mach_vm_wire(g_priv, self, a, s, prot_of(r));
    }
    case 19: {
      // Named entries on the host port: hostile hosts, sizes, pagers.
      const host_t hosts[] = {mach_host_self(), HOST_NULL, static_cast<host_t>(r.take(4))};
      mach_port_t h = MACH_PORT_NULL;
      kern_return_t kr = mach_memory_object_memory_entry_64(
          hosts[r.take(1) % 3], static_cast<boolean_t>(r.take(1) % 3), r.take(1) % 2 ? any_size(r) : r.take(2) * P,
          static_cast<vm_prot_t>(r.take(1)), r.take(1) % 4 == 0 ? static_cast<memory_object_t>(r.take(4)) : 0, &h);
      if (kr == KERN_SUCCESS && h != MACH_PORT_NULL) g_ports.push_back(h);
      return kr;
    }
    default: {
      // A direct store where the region says we may write.
      mach_vm_address_t a = arena_addr(r);
      mach_vm_size_t s = 0;
      vm_region_basic_info_data_64_t info{};
      mach_msg_type_number_t count = VM_REGION_BASIC_INFO_COUNT_64;
      mach_port_t obj = MACH_PORT_NULL;
      uint64_t want = a;
      if (mach_vm_region(self, &a, &s, VM_REGION_BASIC_INFO_64, reinterpret_cast<vm_region_info_t>(&info), &count,
                         &obj) == KERN_SUCCESS &&
          a <= want && (info.protection & VM_PROT_WRITE))
        *reinterpret_cast<volatile uint8_t*>(want) = static_cast<uint8_t>(r.take(1));
      return KERN_SUCCESS;
    }
  }
}

void teardown() {
  for (mach_port_t p : g_ports) mach_port_deallocate(mach_task_self(), p);
  g_ports.clear();
  // Only what we created: the region table knows.
  for (auto r : table())
    if (!g_baseline_entries.count(r)) mach_vm_deallocate(mach_task_self(), r.first, r.second - r.first);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setenv("HVSHIM_LOG", "off", 0);
  P = static_cast<uint64_t>(getpagesize());
  // A low address the kernel never picks for mmap(NULL): holes in the arena
  // stay holes.
  for (uint64_t cand : {0x200000000000ULL, 0x300000000000ULL}) {
    void* p = mmap(reinterpret_cast<void*>(cand), kPages * P, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED) continue;
    munmap(p, kPages * P);
    if (reinterpret_cast<uint64_t>(p) == cand) {
      g_arena = cand;
      break;
    }
  }
  if (!g_arena) abort();
  // First use opens the arena file and /proc/self/maps.
  mach_vm_address_t a = g_arena;
  mach_vm_allocate(mach_task_self(), &a, P, VM_FLAGS_FIXED);
  snapshot();
  mach_vm_deallocate(mach_task_self(), a, P);
  if (host_get_host_priv_port(mach_host_self(), &g_priv) != KERN_SUCCESS) g_priv = MACH_PORT_NULL;
  for (auto r : table()) g_baseline_entries.insert(r);
  g_baseline_fds = open_fds();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader r{data, size};
  while (r.n > 0) {
    const Snapshot before = snapshot();
    const unsigned op = static_cast<unsigned>(r.take(1) % 21);
    kern_return_t kr = one_call(r, op);
    if (g_trace) std::fprintf(stderr, "op %u -> %#x (%s)\n", op, kr, hvshim_last_error());
    if (!kAllowed.count(kr)) abort();
    // A refused call changes nothing. (read_list reads each entry on its
    // own and answers for the last one: earlier reads stay either way.)
    if (kr != KERN_SUCCESS && op != 16 && !(snapshot() == before)) abort();
  }
  check_kernel_agrees();
  teardown();
  if (table().size() != g_baseline_entries.size()) abort();  // an entry outlived its memory
  int fds = open_fds();
  if (fds != g_baseline_fds) {
    // The asynchronous msync ring is opened once, on first use.
    if (fds == g_baseline_fds + 1 && !g_ring_seen && has_io_uring_fd()) {
      g_ring_seen = true;
      g_baseline_fds = fds;
    } else {
      std::fprintf(stderr, "descriptors: %d, were %d\n", fds, g_baseline_fds);
      std::system(("ls -l /proc/" + std::to_string(getpid()) + "/fd >&2").c_str());
      abort();
    }
  }
  return 0;
}
