#include "machvm/vm_state.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <sstream>

#include <mach/mach.h>

#include "machvm/backing.h"
#include "machvm/task.h"

namespace vmtest {

namespace {
uint64_t pg() { return static_cast<uint64_t>(getpagesize()); }

bool is_ours(const KernelRec& k) { return k.name.find("hvshim-machvm") != std::string::npos; }
bool is_none_anon(const KernelRec& k) { return k.perms == "---p" && k.inode == 0 && k.name.empty(); }

std::string hex(uint64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "%#llx", static_cast<unsigned long long>(v));
  return b;
}
}  // namespace

uint64_t hash_bytes(const void* p, uint64_t n) {
  uint64_t h = 1469598103934665603ULL;
  const auto* b = static_cast<const unsigned char*>(p);
  for (uint64_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ULL;
  return h | 1;  // never 0: 0 means "unmapped"
}

std::string RegionRec::str() const {
  std::ostringstream o;
  o << "[" << hex(start) << ", " << hex(end) << ") cur " << cur << " max " << max << " inh " << inherit << " beh "
    << behavior << " wired " << wired << " tag " << tag << " refs " << ref_count << " shared " << shared << " off "
    << hex(offset) << " obj " << object;
  return o.str();
}

std::string KernelRec::str() const {
  std::ostringstream o;
  o << "[" << hex(start) << ", " << hex(end) << ") " << perms << " off " << hex(offset) << " ino " << inode << " {"
    << flags << "} " << name;
  return o.str();
}

std::vector<KernelRec> kernel_mappings() {
  std::vector<KernelRec> out;
  FILE* f = std::fopen("/proc/self/smaps", "re");
  if (!f) return out;
  char line[4352];
  while (std::fgets(line, sizeof line, f)) {
    unsigned long long s, e, off, ino;
    unsigned maj, min;
    char perms[8];
    int name_at = 0;
    if (std::sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &s, &e, perms, &off, &maj, &min, &ino, &name_at) >= 7 &&
        std::strchr(line, '-') < std::strchr(line, ' ')) {
      KernelRec k;
      k.start = s;
      k.end = e;
      k.perms = perms;
      k.offset = off;
      k.inode = ino;
      std::string name = name_at ? std::string(line + name_at) : std::string();
      while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
      k.name = name;
      out.push_back(std::move(k));
      continue;
    }
    if (std::strncmp(line, "VmFlags:", 8) == 0 && !out.empty()) {
      std::istringstream in(line + 8);
      std::string fl, kept;
      while (in >> fl)
        if (fl == "dc" || fl == "lo" || fl == "rr" || fl == "sr") kept += fl + " ";
      out.back().flags = kept;
    }
  }
  std::fclose(f);
  // The kernel may split or merge VMAs differently after an undone change;
  // only what each page maps matters.
  std::vector<KernelRec> merged;
  for (auto& k : out) {
    if (!merged.empty()) {
      KernelRec& m = merged.back();
      bool file_contiguous = k.inode == 0 || m.offset + (m.end - m.start) == k.offset;
      if (m.end == k.start && m.perms == k.perms && m.inode == k.inode && m.flags == k.flags && m.name == k.name &&
          file_contiguous) {
        m.end = k.end;
        continue;
      }
    }
    merged.push_back(k);
  }
  return merged;
}

int open_fds() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  if (!d) return -1;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n - 1;  // the directory stream's own descriptor
}

VmState capture(uint64_t lo, uint64_t hi) {
  VmState st;
  st.lo = lo;
  st.hi = hi;
  for (mach_vm_address_t a = lo; a < hi;) {
    mach_vm_size_t size = 0;
    natural_t depth = 0;
    vm_region_submap_info_data_64_t info{};
    mach_msg_type_number_t count = VM_REGION_SUBMAP_INFO_COUNT_64;
    if (mach_vm_region_recurse(mach_task_self(), &a, &size, &depth, reinterpret_cast<vm_region_recurse_info_t>(&info),
                               &count) != KERN_SUCCESS ||
        a >= hi)
      break;
    RegionRec r;
    r.start = a;
    r.end = std::min<uint64_t>(a + size, hi);
    r.cur = info.protection;
    r.max = info.max_protection;
    r.inherit = info.inheritance;
    r.behavior = info.behavior;
    r.wired = info.user_wired_count;
    r.tag = static_cast<int>(info.user_tag);
    r.ref_count = info.ref_count;
    r.shared = info.share_mode == SM_SHARED;
    r.offset = info.offset;
    r.object = info.object_id_full;
    st.regions.push_back(r);
    a += size;
  }
  for (KernelRec k : kernel_mappings()) {
    if (k.end > lo && k.start < hi) {
      KernelRec c = k;
      if (c.start < lo) {
        if (c.inode) c.offset += lo - c.start;
        c.start = lo;
      }
      c.end = std::min(c.end, hi);
      st.kernel.push_back(c);
    }
    if (k.end <= lo || k.start >= hi) {
      if (is_ours(k)) st.ours_elsewhere.push_back(k);
      if (is_none_anon(k)) st.none_elsewhere.push_back(k);
    }
  }
  for (uint64_t p = lo; p < hi; p += pg()) {
    uint64_t h = 0;
    for (const KernelRec& k : st.kernel) {
      if (p < k.start || p >= k.end) continue;
      if (k.perms[0] == 'r') {
        h = hash_bytes(reinterpret_cast<const void*>(p), pg());
      } else {
        hvshim::machvm::Backing b;
        if (hvshim::machvm::backing_of(p, b) == KERN_SUCCESS) {
          std::vector<char> buf(pg());
          if (pread(b.fd, buf.data(), buf.size(), static_cast<off_t>(b.offset)) == static_cast<ssize_t>(buf.size()))
            h = hash_bytes(buf.data(), buf.size());
        } else {
          h = 2;  // unreadable memory we did not map: only its presence counts
        }
      }
    }
    st.page_hashes.push_back(h);
  }
  {
    auto& t = hvshim::machvm::self_task();
    std::lock_guard lk(t.mu);
    st.table_entries = t.map.size();
  }
  st.fds = open_fds();
  return st;
}

std::string differences(const VmState& b, const VmState& a) {
  std::ostringstream o;
  auto list = [&](const char* what, const auto& x, const auto& y) {
    if (x == y) return;
    o << what << " differ:\n  before:\n";
    for (auto& r : x) o << "    " << r.str() << "\n";
    o << "  after:\n";
    for (auto& r : y) o << "    " << r.str() << "\n";
  };
  list("regions", b.regions, a.regions);
  list("kernel mappings", b.kernel, a.kernel);
  list("our mappings elsewhere", b.ours_elsewhere, a.ours_elsewhere);
  for (const KernelRec& k : a.none_elsewhere) {
    bool inside_old = false;
    for (const KernelRec& old : b.none_elsewhere) inside_old |= k.start >= old.start && k.end <= old.end;
    if (!inside_old) o << "new PROT_NONE reservation " << k.str() << "\n";
  }
  for (size_t i = 0; i < std::min(b.page_hashes.size(), a.page_hashes.size()); ++i)
    if (b.page_hashes[i] != a.page_hashes[i]) o << "contents of page " << i << " (" << hex(b.lo + i * pg()) << ") changed\n";
  if (b.table_entries != a.table_entries)
    o << "region table has " << a.table_entries << " entries, had " << b.table_entries << "\n";
  if (b.fds != a.fds) o << "open descriptors: " << a.fds << ", were " << b.fds << "\n";
  return o.str();
}

}  // namespace vmtest
