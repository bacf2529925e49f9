#include "machvm/ports.h"

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include "machvm/fail.h"

namespace hvshim::machvm {

namespace {
struct Record {
  PortRef ref;
  uint32_t urefs = 1;
};
std::mutex g_mu;
std::unordered_map<mach_port_t, Record> g_ports;
mach_port_t g_next = 0x1003;

mach_port_t add(PortRef r) {
  std::lock_guard lk(g_mu);
  while (g_ports.count(g_next) || g_next == kTaskSelfName || g_next == kHostName || g_next == kHostPrivName ||
         g_next == MACH_PORT_NULL || g_next == MACH_PORT_DEAD)
    g_next += 0x100;
  mach_port_t n = g_next;
  g_next += 0x100;
  g_ports.emplace(n, Record{std::move(r), 1});
  return n;
}
}  // namespace

std::vector<Piece> slice_pieces(const std::vector<Piece>& pieces, uint64_t s, uint64_t e) {
  std::vector<Piece> out;
  uint64_t at = 0;
  for (const Piece& p : pieces) {
    uint64_t ps = at, pe = at + p.len;
    at = pe;
    if (pe <= s || ps >= e) continue;
    uint64_t from = std::max(ps, s), to = std::min(pe, e);
    Piece q = p;
    q.off = p.off + (from - ps);
    q.len = to - from;
    out.push_back(std::move(q));
  }
  return out;
}

MemEntry::~MemEntry() {
  for (auto& p : pieces)
    if (p.obj) p.obj->entry_refs--;
}

void MemEntry::own_pieces() {
  for (auto& p : pieces)
    if (p.obj) p.obj->entry_refs++;
}

std::optional<PortRef> port_lookup(mach_port_t name) {
  if (name == kTaskSelfName) return PortRef{PortKind::task_self, nullptr, 0};
  if (name == kHostName) return PortRef{PortKind::host, nullptr, 0};
  if (name == kHostPrivName) return PortRef{PortKind::host_priv, nullptr, 0};
  std::lock_guard lk(g_mu);
  auto it = g_ports.find(name);
  if (it == g_ports.end()) return std::nullopt;
  return it->second.ref;
}

mach_port_t port_add_entry(std::shared_ptr<MemEntry> e) { return add(PortRef{PortKind::mem_entry, std::move(e), 0}); }

mach_port_t port_add_task(pid_t pid) { return add(PortRef{PortKind::remote_task, nullptr, pid}); }

void port_retain(mach_port_t name) {
  std::lock_guard lk(g_mu);
  if (auto it = g_ports.find(name); it != g_ports.end()) it->second.urefs++;
}

kern_return_t port_deallocate(mach_port_t name) {
  if (name == kTaskSelfName || name == kHostName || name == kHostPrivName) return KERN_SUCCESS;
  if (name == MACH_PORT_NULL || name == MACH_PORT_DEAD) return KERN_SUCCESS;
  std::shared_ptr<MemEntry> dying;  // released outside the lock
  {
    std::lock_guard lk(g_mu);
    auto it = g_ports.find(name);
    if (it == g_ports.end()) return fail(KERN_INVALID_NAME, "port name {:#x} is not in this IPC space", name);
    if (--it->second.urefs == 0) {
      dying = std::move(it->second.ref.entry);
      g_ports.erase(it);
    }
  }
  return KERN_SUCCESS;
}

void ports_reset_after_fork() {
  new (&g_mu) std::mutex();
  // Objects notice they were created in another process and leave the
  // parent's pages alone when released here.
  g_ports.clear();
}

}  // namespace hvshim::machvm
