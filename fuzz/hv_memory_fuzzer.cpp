// Fuzzes the guest-memory C API with hostile addresses, sizes, flags and
// space ids. Checked after every call: nothing crashes; a rejected call
// leaves the page map and the installed memslots exactly as they were; and
// the memslots always cover exactly the pages that have any permission.
#include <Hypervisor/hv.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "hvapi/slot_plan.h"
#include "hvapi/vm_instance.h"

using namespace hvshim::hv;

namespace {

constexpr size_t kArenaPages = 64;
uint8_t* g_arena = nullptr;
bool g_kvm = false;

struct Snapshot {
  std::vector<Extent> pages;
  std::vector<SlotDesc> slots;
  bool operator==(const Snapshot& o) const {
    if (pages != o.pages || slots.size() != o.slots.size()) return false;
    for (size_t i = 0; i < slots.size(); ++i)
      if (!slots[i].same_mapping(o.slots[i])) return false;
    return true;
  }
};

Snapshot snapshot(hv_vm_space_t s) {
  std::lock_guard lk(vm_mutex());
  Space* sp = current_vm() ? current_vm()->space(s) : nullptr;
  if (!sp) return {};
  return {sp->pages().all(), sp->slots().all()};
}

// Pages with any permission and memslots must cover the same guest ranges.
void check_cover(hv_vm_space_t s) {
  Snapshot snap = snapshot(s);
  std::vector<std::pair<uint64_t, uint64_t>> want, have;
  for (const auto& e : snap.pages)
    if (slot_kind(e.perms) != SlotKind::absent) {
      if (!want.empty() && want.back().second == e.gpa) want.back().second = e.end();
      else want.push_back({e.gpa, e.end()});
    }
  for (const auto& sl : snap.slots) {
    if (!have.empty() && have.back().second == sl.gpa) have.back().second = sl.end();
    else have.push_back({sl.gpa, sl.end()});
  }
  if (want != have) abort();
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

uint64_t pick_gpa(Reader& r) {
  switch (r.take(1) % 4) {
    case 0: return (r.take(1) % 48) * 4096 + 0x200000;           // a small window: overlaps happen
    case 1: return 0x1ff000 + (r.take(1) % 8) * 4096;           // straddles a 2 MiB chunk
    case 2: return r.take(8);                                    // anything
    default: return ((r.take(2) % 64) * 4096 + 0x200000) | (r.take(1) % 2);
  }
}

uint64_t pick_size(Reader& r) {
  switch (r.take(1) % 4) {
    case 0: return (1 + r.take(1) % 8) * 4096;
    case 1: return r.take(8);
    case 2: return 0;
    default: return (1 + r.take(1) % 40) * 4096 + (r.take(1) % 2) * 17;
  }
}

const void* pick_uva(Reader& r) {
  switch (r.take(1) % 5) {
    case 0:
    case 1: return g_arena + (r.take(1) % kArenaPages) * 4096;
    case 2: return reinterpret_cast<const void*>(r.take(8));
    case 3: return g_arena + r.take(2) % (kArenaPages * 4096);
    default: return nullptr;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_arena = static_cast<uint8_t*>(
      mmap(nullptr, kArenaPages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  // Leave a hole in the arena: hosts ranges over it must be refused.
  munmap(g_arena + 40 * 4096, 4096);
  setenv("HVSHIM_LOG", "error", 0);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (hv_vm_create(HV_VM_DEFAULT) != HV_SUCCESS) return 0;  // no /dev/kvm: nothing to fuzz
  g_kvm = true;
  Reader r{data, size};
  std::vector<hv_vm_space_t> spaces{0};
  while (r.n > 0) {
    unsigned op = r.take(1) % 8;
    hv_vm_space_t s = r.take(1) % 4 == 0 ? static_cast<hv_vm_space_t>(r.take(4)) : spaces[r.take(1) % spaces.size()];
    Snapshot before = snapshot(s);
    hv_return_t ret = HV_SUCCESS;
    uint64_t flags = r.take(1) % 5 == 0 ? r.take(8) : r.take(1) % 8;
    switch (op) {
      case 0:
      case 1: ret = hv_vm_map_space(s, pick_uva(r), pick_gpa(r), pick_size(r), flags); break;
      case 2:
      case 3: ret = hv_vm_unmap_space(s, pick_gpa(r), pick_size(r)); break;
      case 4:
      case 5: ret = hv_vm_protect_space(s, pick_gpa(r), pick_size(r), flags); break;
      case 6: {
        hv_vm_space_t ns;
        if (hv_vm_space_create(&ns) == HV_SUCCESS) spaces.push_back(ns);
        continue;
      }
      default:
        if (spaces.size() > 1 && hv_vm_space_destroy(spaces.back()) == HV_SUCCESS) spaces.pop_back();
        continue;
    }
    if (ret != HV_SUCCESS && !(snapshot(s) == before)) abort();  // a failed call changed state
    check_cover(s);
  }
  if (hv_vm_destroy() != HV_SUCCESS) abort();
  return 0;
}
