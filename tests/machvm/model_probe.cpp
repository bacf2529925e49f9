#include "machvm/model_probe.h"

#include <signal.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <sstream>
#include <vector>

#include "machvm/backing.h"
#include "machvm/kernel_view.h"

namespace model {

namespace {

std::string hex(uint64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "%#llx", static_cast<unsigned long long>(v));
  return b;
}

// Runs fn in a child with default fault handling; the signal that killed
// it, or 1000 + its exit status.
int in_child(const std::function<int()>& fn) {
  pid_t pid = fork();
  if (pid == 0) {
    struct sigaction sa {};
    sa.sa_handler = SIG_DFL;
    sigaction(SIGSEGV, &sa, nullptr);
    sigaction(SIGBUS, &sa, nullptr);
    _exit(fn());
  }
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFSIGNALED(st) ? WTERMSIG(st) : 1000 + WEXITSTATUS(st);
}

uint8_t load_byte(uint64_t a) { return *reinterpret_cast<volatile const uint8_t*>(a); }
void store_byte(uint64_t a, uint8_t v) { *reinterpret_cast<volatile uint8_t*>(a) = v; }

// Whether our memory (an arena or other memfd of the library) is mapped at
// addr, as the kernel sees it.
bool ours_at(uint64_t addr) {
  auto v = hvshim::machvm::kernel_vma_at_or_after(0, addr, true);
  return v && v->start <= addr && v->name.find("hvshim-machvm") != std::string::npos;
}

bool probe_readable(vm_prot_t cur) { return hw_readable(cur); }
// Execute-only pages may or may not be readable (protection keys): not probed.
bool probe_unreadable(vm_prot_t cur) { return cur == VM_PROT_NONE; }

}  // namespace

bool hw_readable(vm_prot_t cur) {
#if defined(__x86_64__) || defined(__i386__)
  return cur & (VM_PROT_READ | VM_PROT_WRITE);
#else
  return cur & VM_PROT_READ;
#endif
}

std::string check_contents(const Model& m) {
  std::ostringstream o;
  std::vector<uint8_t> buf(page_size());
  for (const auto& [addr, pg] : m.pages) {
    const uint8_t* real = nullptr;
    if (hw_readable(pg.cur)) {
      // The kernel's mapping is asked first, so a wrong model fails the
      // test instead of crashing it.
      auto v = hvshim::machvm::kernel_vma_at_or_after(0, addr);
      if (!v || v->start > addr || !hw_readable(v->prot)) {
        o << "page " << hex(addr) << " (cur " << pg.cur << ") is not readable\n";
        continue;
      }
      real = reinterpret_cast<const uint8_t*>(addr);
    } else {
      hvshim::machvm::Backing b;
      if (hvshim::machvm::backing_of(addr, b) != KERN_SUCCESS) {
        o << "page " << hex(addr) << " has no backing object\n";
        continue;
      }
      if (pread(b.fd, buf.data(), buf.size(), static_cast<off_t>(b.offset)) != static_cast<ssize_t>(buf.size())) {
        o << "page " << hex(addr) << ": backing object unreadable\n";
        continue;
      }
      real = buf.data();
    }
    if (std::memcmp(real, pg.ref.data(), page_size()) != 0) {
      size_t i = 0;
      while (real[i] == pg.ref.data()[i]) ++i;
      o << "page " << hex(addr) << " byte " << i << ": " << int(real[i]) << ", model " << int(pg.ref.data()[i])
        << "\n";
    }
  }
  return o.str();
}

std::string check_regions(const Model& m) {
  std::ostringstream o;
  auto region = [](uint64_t at, uint64_t& start, uint64_t& end, vm_region_basic_info_data_64_t& info) {
    mach_vm_address_t a = at;
    mach_vm_size_t s = 0;
    mach_msg_type_number_t count = VM_REGION_BASIC_INFO_COUNT_64;
    mach_port_t obj = MACH_PORT_NULL;
    kern_return_t kr = mach_vm_region(mach_task_self(), &a, &s, VM_REGION_BASIC_INFO_64,
                                      reinterpret_cast<vm_region_info_t>(&info), &count, &obj);
    start = a;
    end = a + s;
    return kr;
  };
  for (auto it = m.pages.begin(); it != m.pages.end();) {
    uint64_t s = 0, e = 0;
    vm_region_basic_info_data_64_t info{};
    if (region(it->first, s, e, info) != KERN_SUCCESS || s > it->first) {
      o << "no region at mapped page " << hex(it->first) << "\n";
      ++it;
      continue;
    }
    for (uint64_t p = it->first; p < e; p += page_size()) {
      const Page* pg = m.find(p);
      if (!pg) {
        if (p >= m.arena && p < m.arena_end())
          o << "region [" << hex(s) << ", " << hex(e) << ") covers arena hole " << hex(p) << "\n";
        break;
      }
      if (info.protection != pg->cur || info.max_protection != pg->max || info.inheritance != pg->inherit)
        o << "page " << hex(p) << ": region says cur " << info.protection << " max " << info.max_protection
          << " inherit " << info.inheritance << ", model " << pg->cur << "/" << pg->max << "/" << pg->inherit << "\n";
    }
    it = m.pages.lower_bound(e);
  }
  // Arena holes: the region reported at or after a hole starts beyond it.
  for (uint64_t p = m.arena; p < m.arena_end(); p += page_size()) {
    if (m.find(p)) continue;
    uint64_t s = 0, e = 0;
    vm_region_basic_info_data_64_t info{};
    if (region(p, s, e, info) == KERN_SUCCESS && s <= p) o << "hole " << hex(p) << " is inside a region\n";
  }
  return o.str();
}

std::string check_access(const Model& m, std::mt19937_64& rng) {
  std::ostringstream o;
  // Everything allowed, in one child.
  auto allowed = [&m](uint64_t only) {
    for (const auto& [addr, pg] : m.pages) {
      if (pg.inherit == VM_INHERIT_NONE || (only && addr != only)) continue;
      if (probe_readable(pg.cur)) (void)load_byte(addr + page_size() - 1);
      if (pg.cur & VM_PROT_WRITE) store_byte(addr + 17, load_byte(addr + 17));
    }
    return 0;
  };
  int r = in_child([&] { return allowed(0); });
  if (r != 1000) {
    for (const auto& [addr, pg] : m.pages)
      if (in_child([&, a = addr] { return allowed(a); }) != 1000)
        o << "allowed access to " << hex(addr) << " (cur " << pg.cur << ", inherit " << pg.inherit << ") faulted\n";
    if (o.str().empty()) o << "the allowed-access child ended with " << r << "\n";
  }
  // A few forbidden ones, one child each.
  struct Probe {
    uint64_t addr;
    bool write;
    bool absent;  // nothing of ours may be mapped there in the child
    const char* why;
  };
  std::vector<Probe> forbidden;
  for (const auto& [addr, pg] : m.pages) {
    if (pg.inherit == VM_INHERIT_NONE) forbidden.push_back({addr, false, true, "VM_INHERIT_NONE page in a child"});
    else if (probe_unreadable(pg.cur)) forbidden.push_back({addr, false, false, "read of a page without access"});
    else if (!(pg.cur & VM_PROT_WRITE) && probe_readable(pg.cur))
      forbidden.push_back({addr, true, false, "write of a read-only page"});
  }
  for (uint64_t p = m.arena; p < m.arena_end(); p += page_size())
    if (!m.find(p)) forbidden.push_back({p, false, true, "read of an arena hole"});
  for (int i = 0; i < 3 && !forbidden.empty(); ++i) {
    size_t k = rng() % forbidden.size();
    Probe pr = forbidden[k];
    forbidden.erase(forbidden.begin() + static_cast<long>(k));
    int got = in_child([&] {
      // A hole may have been filled by the child's own allocations already:
      // that memory is not ours and proves nothing either way.
      auto v = hvshim::machvm::kernel_vma_at_or_after(0, pr.addr);
      if (pr.absent && v && v->start <= pr.addr && !ours_at(pr.addr)) return 42;
      if (pr.write)
        store_byte(pr.addr + 5, load_byte(pr.addr + 5));
      else
        (void)load_byte(pr.addr + 5);
      return 0;
    });
    if (got != SIGSEGV && got != SIGBUS && got != 1042) o << pr.why << " at " << hex(pr.addr) << " did not fault (" << got << ")\n";
  }
  return o.str();
}

std::string check_inheritance(Model& m, std::mt19937_64& rng) {
  struct Marker {
    uint64_t addr;
    uint8_t value;
    bool shared;
  };
  std::vector<Marker> markers;
  for (const auto& [addr, pg] : m.pages) {
    if (!(pg.cur & VM_PROT_WRITE) || pg.inherit == VM_INHERIT_NONE || rng() % 3) continue;
    uint64_t a = addr + rng() % page_size();
    markers.push_back({a, static_cast<uint8_t>(m.load(a, 1)[0] ^ 0x5a), pg.inherit == VM_INHERIT_SHARE});
  }
  int status = in_child([&]() -> int {
    int bad = 0;
    for (const auto& [addr, pg] : m.pages) {
      if (pg.inherit == VM_INHERIT_NONE) {
        // Absent. The child's own allocations may have moved into the hole
        // by now: only the parent's memory must not be there.
        if (ours_at(addr)) {
          std::fprintf(stderr, "child: VM_INHERIT_NONE page %#llx is present\n", static_cast<unsigned long long>(addr));
          bad |= 1;
        }
      } else if (hw_readable(pg.cur) && std::memcmp(reinterpret_cast<void*>(addr), pg.ref.data(), page_size()) != 0) {
        std::fprintf(stderr, "child: page %#llx differs from the parent's\n", static_cast<unsigned long long>(addr));
        bad |= 2;
      }
    }
    for (const Marker& mk : markers) store_byte(mk.addr, mk.value);
    return bad;
  });
  std::ostringstream o;
  if (status != 1000) o << "inheritance child ended with " << status << "\n";
  // The parent sees the SHARE markers (on every alias of those pages) and
  // none of the COPY ones.
  for (const Marker& mk : markers)
    if (mk.shared) m.store(mk.addr, &mk.value, 1);
  for (const Marker& mk : markers) {
    uint8_t now = load_byte(mk.addr), want = m.load(mk.addr, 1)[0];
    if (now != want)
      o << "child's write to " << (mk.shared ? "SHARE" : "COPY") << " page at " << hex(mk.addr)
        << (mk.shared ? " is not visible to the parent\n" : " leaked into the parent\n");
  }
  return o.str();
}

}  // namespace model
