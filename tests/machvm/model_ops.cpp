#include "machvm/model_ops.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "common/last_error.h"
#include "machvm/kr_name.h"

namespace model {

namespace {
const uint64_t kKernelAddr = 1ULL << 63;  // never a user address
mach_port_t self() { return mach_task_self(); }
std::string kr(kern_return_t k) { return hvshim::machvm::kr_name(k); }
}  // namespace

Runner::Runner(uint64_t seed, uint64_t arena, uint64_t arena_pages) : rng(seed) {
  m.arena = arena;
  m.arena_pages = arena_pages;
  foreign_.resize(4 * page_size());
}

std::string Runner::where(uint64_t a) const {
  if (a >= m.arena && a < m.arena_end() + 64 * page_size()) return fmt::format("A+{:#x}", a - m.arena);
  return fmt::format("{:#x}", a);
}

void Runner::note(const std::string& s) {
  static const bool trace = std::getenv("HVSHIM_MACH_MODEL_TRACE") != nullptr;
  if (trace) std::fprintf(stderr, "#%llu %s\n", static_cast<unsigned long long>(step), s.c_str());
  recent.push_back(fmt::format("#{} {}", step, s));
  if (recent.size() > 30) recent.pop_front();
}

bool Runner::agree(kern_return_t want, kern_return_t got, const std::string& call) {
  if (want == got) {
    refused += got != KERN_SUCCESS;
    return true;
  }
  failure = fmt::format("step {}: {} returned {}, the model says {} (last error: {})\n", step, call, kr(got), kr(want),
                        hvshim::last_error_cstr());
  return false;
}

bool Runner::require(bool ok, const std::string& what) {
  if (!ok && failure.empty()) failure = fmt::format("step {}: {}\n", step, what);
  return ok;
}

Runner::Range Runner::arena_range(uint64_t max_pages, bool unaligned) {
  const uint64_t P = page_size();
  uint64_t first = rnd(m.arena_pages);
  uint64_t n = std::min<uint64_t>(1 + rnd(max_pages), m.arena_pages - first);
  Range r{m.arena + first * P, n * P};
  if (unaligned && chance(40)) {
    uint64_t off = rnd(P), cut = off + rnd(P);
    r.addr += off;
    r.size = r.size > cut ? r.size - cut : 1;
  }
  return r;
}

Runner::Range Runner::mapped_range(uint64_t max_pages, bool unaligned) {
  if (m.pages.empty()) return arena_range(max_pages, unaligned);
  const uint64_t P = page_size();
  auto it = m.pages.begin();
  std::advance(it, static_cast<long>(rnd(m.pages.size())));
  // The run of consecutive mapped pages around the pick.
  uint64_t lo = it->first, hi = it->first + P;
  while (m.find(lo - P) && (hi - lo) / P < 2 * max_pages) lo -= P;
  while (m.find(hi) && (hi - lo) / P < 3 * max_pages) hi += P;
  uint64_t pages = (hi - lo) / P;
  uint64_t first = rnd(pages);
  uint64_t n = std::min<uint64_t>(1 + rnd(max_pages), pages - first);
  Range r{lo + first * P, n * P};
  if (unaligned && chance(40)) {
    uint64_t off = rnd(P), cut = off + rnd(P);
    r.addr += off;
    r.size = r.size > cut ? r.size - cut : 1;
  }
  return r;
}

Runner::Range Runner::any_range(uint64_t max_pages, bool unaligned) {
  return chance(60) ? mapped_range(max_pages, unaligned) : arena_range(max_pages, unaligned);
}

vm_prot_t Runner::some_prot() {
  static const vm_prot_t choices[] = {VM_PROT_DEFAULT, VM_PROT_DEFAULT, VM_PROT_DEFAULT, VM_PROT_READ, VM_PROT_READ,
                                      VM_PROT_NONE,    VM_PROT_ALL,     VM_PROT_READ | VM_PROT_EXECUTE,
                                      VM_PROT_WRITE,   VM_PROT_EXECUTE};
  return choices[rnd(std::size(choices))];
}

vm_inherit_t Runner::some_inherit() {
  uint64_t k = rnd(20);
  return k < 6 ? VM_INHERIT_SHARE : k < 15 ? VM_INHERIT_COPY : VM_INHERIT_NONE;
}

std::vector<uint8_t> Runner::pattern(uint64_t n) {
  std::vector<uint8_t> v(n);
  uint64_t x = rng();
  for (auto& b : v) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    b = static_cast<uint8_t>(x >> 56);
  }
  return v;
}

uint64_t Runner::first_fit(uint64_t hint, uint64_t len) const {
  for (uint64_t c = trunc(hint); c + len <= m.arena_end(); c += page_size())
    if (!m.any_mapped(c, c + len)) return c;
  return 0;
}

bool Runner::outside_pages_full() const {
  size_t n = 0;
  for (const auto& [a, pg] : m.pages) n += a < m.arena || a >= m.arena_end();
  return n > 96;
}

void Runner::op_allocate() {
  const uint64_t P = page_size();
  const uint64_t kind = rnd(3);
  if (kind == 0) {
    uint64_t size = (1 + rnd(6)) * P - (chance(20) ? rnd(P - 1) : 0);
    mach_vm_address_t a = rng();
    kern_return_t got = mach_vm_allocate(self(), &a, size, VM_FLAGS_ANYWHERE);
    std::string call = fmt::format("allocate(ANYWHERE, size {:#x}) = {}", size, where(a));
    note(call + " -> " + kr(got));
    if (!agree(KERN_SUCCESS, got, call)) return;
    uint64_t len = 0;
    round(size, len);
    if (!require(a % P == 0 && !m.any_mapped(a, a + len), "ANYWHERE result " + where(a) + " overlaps our memory"))
      return;
    m.map(a, Model::fresh(len / P), VM_PROT_DEFAULT, VM_PROT_ALL, VM_INHERIT_DEFAULT);
    return;
  }
  Range r = arena_range(6, chance(20));
  const int flags = VM_FLAGS_FIXED | (kind == 2 ? VM_FLAGS_OVERWRITE : 0);
  uint64_t start = trunc(r.addr), end = 0;
  round(start + r.size, end);
  kern_return_t want = kind == 2 || !m.any_mapped(start, end) ? KERN_SUCCESS : KERN_NO_SPACE;
  mach_vm_address_t a = r.addr;
  kern_return_t got = mach_vm_allocate(self(), &a, r.size, flags);
  std::string call = fmt::format("allocate({}, {}, size {:#x})", kind == 2 ? "FIXED|OVERWRITE" : "FIXED",
                                 where(r.addr), r.size);
  note(call + " -> " + kr(got));
  if (!agree(want, got, call) || got != KERN_SUCCESS) return;
  if (!require(a == start, "FIXED allocation landed at " + where(a))) return;
  m.map(start, Model::fresh((end - start) / P), VM_PROT_DEFAULT, VM_PROT_ALL, VM_INHERIT_DEFAULT);
}

void Runner::op_deallocate() {
  Range r = any_range(8, chance(20));
  kern_return_t got = mach_vm_deallocate(self(), r.addr, r.size);
  std::string call = fmt::format("deallocate({}, {:#x})", where(r.addr), r.size);
  note(call + " -> " + kr(got));
  if (!agree(KERN_SUCCESS, got, call)) return;
  uint64_t end = 0;
  round(r.addr + r.size, end);
  m.unmap(trunc(r.addr), end);
}

void Runner::op_protect() {
  Range r = any_range(6, chance(15));
  const bool set_max = chance(25), copy = chance(10);
  const vm_prot_t prot = some_prot();
  uint64_t start = trunc(r.addr), end = 0;
  round(r.addr + r.size, end);
  kern_return_t want = KERN_SUCCESS;
  for (uint64_t p = start; p < end && want == KERN_SUCCESS; p += page_size()) {
    const Page* pg = m.find(p);
    if (!pg) want = KERN_INVALID_ADDRESS;
    else if ((prot & (pg->max | (copy ? VM_PROT_WRITE : 0))) != prot) want = KERN_PROTECTION_FAILURE;
  }
  kern_return_t got = mach_vm_protect(self(), r.addr, r.size, set_max, prot | (copy ? VM_PROT_COPY : 0));
  std::string call = fmt::format("protect({}, {:#x}, set_max {}, prot {}{})", where(r.addr), r.size, set_max, prot,
                                 copy ? "|COPY" : "");
  note(call + " -> " + kr(got));
  if (!agree(want, got, call) || got != KERN_SUCCESS) return;
  for (uint64_t p = start; p < end; p += page_size()) {
    Page& pg = *m.find(p);
    if (copy) {
      pg.ref = Model::copy_of({pg.ref})[0];
      pg.max |= VM_PROT_WRITE;
    }
    if (set_max) {
      pg.max = prot;
      pg.cur &= prot;
    } else {
      pg.cur = prot;
    }
  }
}

void Runner::op_inherit() {
  Range r = any_range(6, chance(15));
  const vm_inherit_t inh = some_inherit();
  kern_return_t got = mach_vm_inherit(self(), r.addr, r.size, inh);
  std::string call = fmt::format("inherit({}, {:#x}, {})", where(r.addr), r.size, inh);
  note(call + " -> " + kr(got));
  if (!agree(KERN_SUCCESS, got, call)) return;
  uint64_t end = 0;
  round(r.addr + r.size, end);
  for (uint64_t p = trunc(r.addr); p < end; p += page_size())
    if (Page* pg = m.find(p)) pg->inherit = inh;
}

void Runner::op_write() {
  Range dst = any_range(3, true);
  const bool from_ours = chance(25) && !m.pages.empty();
  Range src;
  uint64_t count = dst.size;
  std::vector<uint8_t> bytes;
  kern_return_t want = KERN_SUCCESS;
  if (from_ours) {
    src = mapped_range(3, true);
    count = std::min(count, src.size);
    uint64_t end = 0;
    round(src.addr + count, end);
    if (m.check(trunc(src.addr), end, VM_PROT_READ) != KERN_SUCCESS)
      want = MACH_SEND_INVALID_MEMORY;
    else
      bytes = m.load(src.addr, count);
  } else {
    count = std::min<uint64_t>(count, foreign_.size());
    bytes = pattern(count);
    std::memcpy(foreign_.data(), bytes.data(), count);
    src.addr = reinterpret_cast<uint64_t>(foreign_.data());
  }
  if (want == KERN_SUCCESS) want = m.copy_check(dst.addr, count, VM_PROT_WRITE);
  kern_return_t got = mach_vm_write(self(), dst.addr, src.addr, static_cast<mach_msg_type_number_t>(count));
  std::string call = fmt::format("write({}, from {} {}, {:#x})", where(dst.addr), from_ours ? "ours" : "buffer",
                                 where(src.addr), count);
  note(call + " -> " + kr(got));
  if (!agree(want, got, call) || got != KERN_SUCCESS) return;
  m.store(dst.addr, bytes.data(), count);
}

void Runner::op_poke() {
  std::vector<uint64_t> writable;
  for (const auto& [a, pg] : m.pages)
    if (pg.cur & VM_PROT_WRITE) writable.push_back(a);
  if (writable.empty()) return;
  uint64_t a = writable[rnd(writable.size())] + rnd(page_size());
  uint64_t n = 1 + rnd(std::min<uint64_t>(64, trunc(a) + page_size() - a));
  std::vector<uint8_t> bytes = pattern(n);
  std::memcpy(reinterpret_cast<void*>(a), bytes.data(), n);
  m.store(a, bytes.data(), n);
  note(fmt::format("store {} bytes at {}", n, where(a)));
}

void Runner::op_read() {
  const uint64_t P = page_size();
  Range r = any_range(5, true);
  uint64_t size = chance(40) ? std::min<uint64_t>(r.size, 1 + rnd(2 * P - 1)) : r.size;
  kern_return_t want = m.copy_check(r.addr, size, VM_PROT_READ);
  vm_offset_t data = 0;
  mach_msg_type_number_t cnt = 0;
  kern_return_t got = mach_vm_read(self(), r.addr, size, &data, &cnt);
  std::string call = fmt::format("read({}, {:#x}) = {}", where(r.addr), size, where(data));
  note(call + " -> " + kr(got));
  if (!agree(want, got, call) || got != KERN_SUCCESS) return;
  if (!require(cnt == size, fmt::format("read returned count {:#x}", cnt))) return;
  std::vector<PageRef> pages;
  uint64_t at = trunc(data);
  if (size < 2 * P) {
    // Short reads come back page aligned, the rest of the page zero.
    if (!require(data == at, "short read result is not page aligned")) return;
    uint64_t len = 0;
    round(size, len);
    pages = Model::fresh(len / P);
    std::vector<uint8_t> bytes = m.load(r.addr, size);
    for (uint64_t i = 0; i < size; ++i) pages[i / P].data()[i % P] = bytes[i];
  } else {
    uint64_t end = 0;
    round(r.addr + size, end);
    if (!require(data - at == r.addr - trunc(r.addr), "long read lost the in-page offset")) return;
    pages = Model::copy_of(m.refs(trunc(r.addr), end));
  }
  if (!require(!m.any_mapped(at, at + pages.size() * P), "read result overlaps our memory")) return;
  m.map(at, pages, VM_PROT_DEFAULT, VM_PROT_ALL, VM_INHERIT_DEFAULT);
}

void Runner::op_copy(bool overwrite_call) {
  Range src = any_range(4, true), dst = any_range(4, true);
  uint64_t size = std::min(src.size, dst.size);
  kern_return_t want = m.copy_check(src.addr, size, VM_PROT_READ);
  if (want == KERN_SUCCESS) want = m.copy_check(dst.addr, size, VM_PROT_WRITE);
  kern_return_t got;
  mach_vm_size_t out = 0;
  if (overwrite_call)
    got = mach_vm_read_overwrite(self(), src.addr, size, dst.addr, &out);
  else
    got = mach_vm_copy(self(), src.addr, size, dst.addr);
  std::string call = fmt::format("{}({}, {:#x}, to {})", overwrite_call ? "read_overwrite" : "copy", where(src.addr),
                                 size, where(dst.addr));
  note(call + " -> " + kr(got));
  if (!agree(want, got, call) || got != KERN_SUCCESS) return;
  if (overwrite_call && !require(out == size, "read_overwrite size")) return;
  // Copied in, then overwritten: the destination gets the source as it was.
  std::vector<uint8_t> bytes = m.load(src.addr, size);
  m.store(dst.addr, bytes.data(), size);
}

void Runner::op_remap() {
  const uint64_t P = page_size();
  const bool copy = chance(50);
  const uint64_t kind = rnd(4);  // ANYWHERE, ANYWHERE from a hint, FIXED, FIXED|OVERWRITE
  Range src = any_range(5, chance(10));
  const uint64_t src_start = trunc(src.addr);
  uint64_t len = 0;
  round(src.size, len);  // legacy remap rounds the size on its own
  const uint64_t n = len / P;
  kern_return_t want = m.check(src_start, src_start + len, VM_PROT_NONE);
  uint64_t target = 0, predicted = 0;
  int flags = VM_FLAGS_ANYWHERE;
  if (kind == 1) {
    target = m.arena + rnd(m.arena_pages) * P;
    predicted = first_fit(target, len);
  } else if (kind >= 2) {
    flags = VM_FLAGS_FIXED | (kind == 3 ? VM_FLAGS_OVERWRITE : 0);
    target = m.arena + rnd(m.arena_pages - std::min(n, m.arena_pages) + 1) * P;
    if (want == KERN_SUCCESS && kind == 2 && m.any_mapped(target, target + len)) want = KERN_NO_SPACE;
  }
  const vm_inherit_t inh = some_inherit();
  mach_vm_address_t at = target;
  vm_prot_t cur = 0, max = 0;
  kern_return_t got = mach_vm_remap(self(), &at, src.size, 0, flags, self(), src.addr, copy, &cur, &max, inh);
  std::string call = fmt::format("remap({} {}, from {}, {:#x}, copy {}, inherit {}) = {}",
                                 kind == 0 ? "ANYWHERE" : kind == 1 ? "ANYWHERE hint" : kind == 2 ? "FIXED" : "OVERWRITE",
                                 where(target), where(src.addr), src.size, copy, inh, where(at));
  note(call + " -> " + kr(got));
  if (!agree(want, got, call) || got != KERN_SUCCESS) return;
  vm_prot_t cur_and = VM_PROT_ALL, max_and = VM_PROT_ALL;
  std::vector<Page> pages;
  std::vector<PageRef> refs = m.refs(src_start, src_start + len);
  if (copy) refs = Model::copy_of(refs);
  for (uint64_t i = 0; i < n; ++i) {
    const Page& s = *m.find(src_start + i * P);
    cur_and &= s.cur;
    max_and &= s.max;
    pages.push_back({s.cur, s.max, inh, refs[i]});
  }
  if (!require(cur == cur_and && max == max_and, fmt::format("remap reported cur {} max {}", cur, max))) return;
  if (kind >= 2 && !require(at == target, "FIXED remap landed at " + where(at))) return;
  if (kind == 1 && predicted && !require(at == predicted, "hinted remap is not the first fit " + where(predicted)))
    return;
  if (kind < 2 && !require(!m.any_mapped(at, at + len), "remap result overlaps our memory")) return;
  m.map_pages(at, pages);
}

void Runner::op_make_entry() {
  const uint64_t P = page_size();
  const uint64_t kind = rnd(3);  // NAMED_CREATE, VM_SHARE, VM_COPY
  const vm_prot_t prot = chance(70) ? VM_PROT_DEFAULT : VM_PROT_READ;
  mach_port_t h = MACH_PORT_NULL;
  if (kind == 0) {
    uint64_t size = (1 + rnd(6)) * P - (chance(20) ? rnd(P - 1) : 0);
    memory_object_size_t s = size;
    kern_return_t got = mach_make_memory_entry_64(self(), &s, 0, prot | MAP_MEM_NAMED_CREATE, &h, MACH_PORT_NULL);
    std::string call = fmt::format("make_entry(NAMED_CREATE, {:#x}, prot {}) = {:#x}", size, prot, h);
    note(call + " -> " + kr(got));
    if (!agree(KERN_SUCCESS, got, call)) return;
    uint64_t len = 0;
    round(size, len);
    if (!require(s == len, "NAMED_CREATE size")) return;
    m.entries[h] = {Model::fresh(len / P), prot};
    return;
  }
  Range r = any_range(5, chance(15));
  uint64_t start = trunc(r.addr), end = 0;
  round(r.addr + r.size, end);
  kern_return_t want = KERN_SUCCESS;
  for (uint64_t p = start; p < end && want == KERN_SUCCESS; p += P) {
    const Page* pg = m.find(p);
    if (!pg) want = KERN_INVALID_ADDRESS;
    else if (((kind == 1 ? pg->cur : pg->max) & prot) != prot) want = KERN_PROTECTION_FAILURE;
  }
  memory_object_size_t s = r.size;
  kern_return_t got = mach_make_memory_entry_64(self(), &s, r.addr, prot | (kind == 1 ? MAP_MEM_VM_SHARE : MAP_MEM_VM_COPY),
                                                &h, MACH_PORT_NULL);
  std::string call = fmt::format("make_entry({}, {}, {:#x}, prot {}) = {:#x}", kind == 1 ? "VM_SHARE" : "VM_COPY",
                                 where(r.addr), r.size, prot, h);
  note(call + " -> " + kr(got));
  if (!agree(want, got, call) || got != KERN_SUCCESS) return;
  if (!require(s == end - start, fmt::format("entry size {:#x}", s))) return;
  std::vector<PageRef> refs = m.refs(start, end);
  m.entries[h] = {kind == 1 ? refs : Model::copy_of(refs), prot, true};
}

void Runner::op_map_entry() {
  const uint64_t P = page_size();
  mach_port_t name = 0xdead0003;
  const MemEntry* e = nullptr;
  if (!m.entries.empty() && !chance(5)) {
    auto it = m.entries.begin();
    std::advance(it, static_cast<long>(rnd(m.entries.size())));
    name = it->first;
    e = &it->second;
  } else if (!m.dead_names.empty() && chance(50)) {
    name = *m.dead_names.begin();
  }
  const uint64_t epages = e ? e->pages.size() : 1;
  const uint64_t off_pages = rnd(epages);
  uint64_t n = 1 + rnd(epages - off_pages);
  if (chance(8)) n = epages - off_pages + 1;  // past the end
  const bool copy = chance(40);
  const vm_prot_t eprot = e ? e->prot : VM_PROT_DEFAULT;
  const vm_prot_t max = chance(90) ? eprot : (eprot | VM_PROT_EXECUTE);
  const vm_prot_t cur_in = chance(70) ? max : chance(50) ? VM_PROT_READ : VM_PROT_DEFAULT;
  const vm_prot_t cur = cur_in & max;  // XNU clips cur to max
  const uint64_t kind = rnd(4);
  const uint64_t len = n * P;
  const bool whole = e && e->whole;
  const uint64_t mapped = whole ? epages : n;  // pages the mapping will have
  uint64_t target = 0, predicted = 0;
  int flags = VM_FLAGS_ANYWHERE;
  if (kind == 1) {
    target = m.arena + rnd(m.arena_pages) * P;
    predicted = first_fit(target, mapped * P);
  } else if (kind >= 2) {
    flags = VM_FLAGS_FIXED | (kind == 3 ? VM_FLAGS_OVERWRITE : 0);
    target = m.arena + rnd(m.arena_pages - std::min(mapped, m.arena_pages) + 1) * P;
  }
  kern_return_t want = KERN_SUCCESS;
  if (!e) want = MACH_SEND_INVALID_RIGHT;
  else if (((cur | max) & eprot) != (cur | max)) want = KERN_INVALID_RIGHT;
  else if (off_pages + n > epages) want = KERN_INVALID_ARGUMENT;
  else if (kind == 2 && m.any_mapped(target, target + mapped * P)) want = KERN_NO_SPACE;
  const vm_inherit_t inh = some_inherit();
  mach_vm_address_t at = target;
  kern_return_t got = mach_vm_map(self(), &at, len, 0, flags, name, off_pages * P, copy, cur_in, max, inh);
  std::string call =
      fmt::format("map(entry {:#x} +{:#x}, {:#x}, {} {}, copy {}, cur {} max {} inherit {}) = {}", name, off_pages * P,
                  len, kind == 0 ? "ANYWHERE" : kind == 1 ? "ANYWHERE hint" : kind == 2 ? "FIXED" : "OVERWRITE",
                  where(target), copy, cur_in, max, inh, where(at));
  note(call + " -> " + kr(got));
  if (!agree(want, got, call) || got != KERN_SUCCESS) return;
  if (kind >= 2 && !require(at == target, "FIXED map landed at " + where(at))) return;
  if (kind == 1 && predicted && !require(at == predicted, "hinted map is not the first fit " + where(predicted))) return;
  if (kind < 2 && !require(!m.any_mapped(at, at + mapped * P), "map result overlaps our memory")) return;
  std::vector<PageRef> refs = whole ? e->pages
                                    : std::vector<PageRef>(e->pages.begin() + static_cast<long>(off_pages),
                                                           e->pages.begin() + static_cast<long>(off_pages + n));
  m.map(at, copy ? Model::copy_of(refs) : refs, cur, max, inh);
}

void Runner::op_release_entry() {
  if (m.entries.empty()) {
    if (m.dead_names.empty()) return;
    mach_port_t name = *m.dead_names.begin();
    kern_return_t got = mach_port_deallocate(self(), name);
    std::string call = fmt::format("port_deallocate(dead {:#x})", name);
    note(call + " -> " + kr(got));
    agree(KERN_INVALID_NAME, got, call);
    return;
  }
  auto it = m.entries.begin();
  std::advance(it, static_cast<long>(rnd(m.entries.size())));
  mach_port_t name = it->first;
  kern_return_t got = mach_port_deallocate(self(), name);
  std::string call = fmt::format("port_deallocate({:#x})", name);
  note(call + " -> " + kr(got));
  if (!agree(KERN_SUCCESS, got, call)) return;
  m.entries.erase(it);
  m.dead_names.insert(name);
}

void Runner::op_invalid() {
  const uint64_t P = page_size();
  Range r = any_range(3, false);
  kern_return_t want = KERN_SUCCESS, got = KERN_SUCCESS;
  std::string call;
  mach_vm_address_t a = 0;
  vm_offset_t data = 0;
  mach_msg_type_number_t cnt = 0;
  memory_object_size_t es = P;
  mach_port_t h = MACH_PORT_NULL;
  vm_prot_t c = 0, mx = 0;
  switch (rnd(18)) {
    case 0:
      call = "allocate(flags outside USER_ALLOCATE)", want = KERN_INVALID_ARGUMENT;
      got = mach_vm_allocate(self(), &a, P, VM_FLAGS_ANYWHERE | VM_FLAGS_RETURN_DATA_ADDR);
      break;
    case 1:
      call = "allocate(FIXED, kernel address)", want = KERN_INVALID_ADDRESS, a = kKernelAddr;
      got = mach_vm_allocate(self(), &a, P, VM_FLAGS_FIXED);
      break;
    case 2:
      call = "allocate(ANYWHERE, size that wraps when rounded)", want = KERN_INVALID_ARGUMENT;
      got = mach_vm_allocate(self(), &a, UINT64_MAX - rnd(P - 1), VM_FLAGS_ANYWHERE);
      break;
    case 3:
      call = "allocate(ANYWHERE, 4 EiB)", want = KERN_NO_SPACE;
      got = mach_vm_allocate(self(), &a, 1ULL << 62, VM_FLAGS_ANYWHERE);
      break;
    case 4:
      call = "deallocate(range that wraps)", want = KERN_INVALID_ARGUMENT;
      got = mach_vm_deallocate(self(), r.addr, UINT64_MAX - rnd(P));
      break;
    case 5:
      call = "deallocate(kernel range)", want = KERN_SUCCESS;
      got = mach_vm_deallocate(self(), kKernelAddr + rnd(16) * P, P);
      break;
    case 6:
      call = "protect(unknown protection bit)", want = KERN_INVALID_ARGUMENT;
      got = mach_vm_protect(self(), r.addr, r.size, FALSE, VM_PROT_DEFAULT | 0x40);
      break;
    case 7:
      call = "protect(kernel range)", want = KERN_INVALID_ADDRESS;
      got = mach_vm_protect(self(), kKernelAddr, P, FALSE, VM_PROT_READ);
      break;
    case 8:
      call = "inherit(invalid value)", want = KERN_INVALID_ARGUMENT;
      got = mach_vm_inherit(self(), r.addr, r.size, static_cast<vm_inherit_t>(3 + rnd(50)));
      break;
    case 9:
      call = "inherit(kernel range)", want = KERN_SUCCESS;
      got = mach_vm_inherit(self(), kKernelAddr, P, VM_INHERIT_NONE);
      break;
    case 10:
      call = "read(size beyond a message)", want = KERN_INVALID_ARGUMENT;
      got = mach_vm_read(self(), r.addr, (1ULL << 32) + rnd(16), &data, &cnt);
      break;
    case 11:
      call = "read(kernel address)", want = KERN_INVALID_ADDRESS;
      got = mach_vm_read(self(), kKernelAddr + 8, 100, &data, &cnt);
      break;
    case 12:
      call = "write(from a kernel address)", want = MACH_SEND_INVALID_MEMORY;
      got = mach_vm_write(self(), r.addr, kKernelAddr, 16);
      break;
    case 13:
      call = "map(size 0)", want = KERN_INVALID_ARGUMENT;
      got = mach_vm_map(self(), &a, 0, 0, VM_FLAGS_ANYWHERE, MACH_PORT_NULL, 0, FALSE, VM_PROT_DEFAULT, VM_PROT_ALL,
                        VM_INHERIT_DEFAULT);
      break;
    case 14:
      call = "map(the task port as object)", want = KERN_INVALID_OBJECT;
      got = mach_vm_map(self(), &a, P, 0, VM_FLAGS_ANYWHERE, self(), 0, FALSE, VM_PROT_DEFAULT, VM_PROT_ALL,
                        VM_INHERIT_DEFAULT);
      break;
    case 15:
      call = "remap(size 0)", want = KERN_INVALID_ARGUMENT;
      got = mach_vm_remap(self(), &a, 0, 0, VM_FLAGS_ANYWHERE, self(), r.addr, FALSE, &c, &mx, VM_INHERIT_DEFAULT);
      break;
    case 16:
      call = "make_entry(unknown MAP_MEM flag)", want = KERN_INVALID_VALUE;
      got = mach_make_memory_entry_64(self(), &es, r.addr, VM_PROT_READ | 0x1000, &h, MACH_PORT_NULL);
      break;
    default:
      call = "map(invalid inheritance)", want = KERN_INVALID_ARGUMENT;
      got = mach_vm_map(self(), &a, P, 0, VM_FLAGS_ANYWHERE, MACH_PORT_NULL, 0, FALSE, VM_PROT_DEFAULT, VM_PROT_ALL,
                        static_cast<vm_inherit_t>(9));
      break;
  }
  call = fmt::format("{} [{} {:#x}]", call, where(r.addr), r.size);
  note(call + " -> " + kr(got));
  agree(want, got, call);
}

void Runner::release_outside_run() {
  const uint64_t P = page_size();
  std::vector<uint64_t> outside;
  for (const auto& [a, pg] : m.pages)
    if (a < m.arena || a >= m.arena_end()) outside.push_back(a);
  uint64_t lo = outside[rnd(outside.size())], hi = lo + P;
  while (m.find(lo - P)) lo -= P;
  while (m.find(hi)) hi += P;
  kern_return_t got = mach_vm_deallocate(self(), lo, hi - lo);
  std::string call = fmt::format("deallocate(run {}, {:#x})", where(lo), hi - lo);
  note(call + " -> " + kr(got));
  if (agree(KERN_SUCCESS, got, call)) m.unmap(lo, hi);
}

void Runner::step_once() {
  ++step;
  if (outside_pages_full()) return release_outside_run();
  if (m.entries.size() > 6 && chance(50)) return op_release_entry();
  const uint64_t k = rnd(100);
  if (k < 12) op_allocate();
  else if (k < 20) op_deallocate();
  else if (k < 32) op_protect();
  else if (k < 39) op_inherit();
  else if (k < 46) op_write();
  else if (k < 54) op_poke();
  else if (k < 59) op_read();
  else if (k < 63) op_copy(true);
  else if (k < 70) op_copy(false);
  else if (k < 79) op_remap();
  else if (k < 84) op_make_entry();
  else if (k < 91) op_map_entry();
  else if (k < 94) op_release_entry();
  else op_invalid();
}

void Runner::release_all() {
  const uint64_t P = page_size();
  while (!m.pages.empty()) {
    uint64_t lo = m.pages.begin()->first, hi = lo + P;
    while (m.find(hi)) hi += P;
    mach_vm_deallocate(self(), lo, hi - lo);
    m.unmap(lo, hi);
  }
  mach_vm_deallocate(self(), m.arena, m.arena_pages * P);
  for (auto& [name, e] : m.entries) mach_port_deallocate(self(), name);
  m.entries.clear();
}

}  // namespace model
