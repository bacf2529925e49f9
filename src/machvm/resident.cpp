#include "machvm/resident.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <vector>

#include "machvm/page.h"

namespace hvshim::machvm {

namespace {
// Resident pages of [s, e) as the kernel sees them through this mapping.
uint64_t mincore_count(uint64_t s, uint64_t e) {
  uint64_t n = 0;
  std::vector<unsigned char> vec;
  const uint64_t chunk = page_size() * 65536;
  for (uint64_t p = s; p < e; p += chunk) {
    uint64_t len = std::min(chunk, e - p);
    vec.resize(len / page_size());
    if (mincore(reinterpret_cast<void*>(p), len, vec.data()) != 0) continue;
    for (unsigned char c : vec) n += c & 1;
  }
  return n;
}

// Regions of ours above this are counted over their data extents only.
constexpr uint64_t kExtentsAbove = 64ULL << 20;

// Above this, mincore's one byte per page costs more than reading smaps.
constexpr uint64_t kMincoreLimit = 1ULL << 30;

uint64_t smaps_rss_pages(uint64_t vma_start) {
  FILE* f = std::fopen("/proc/self/smaps", "re");
  if (!f) return 0;
  char line[512];
  bool in = false;
  uint64_t kb = 0;
  while (std::fgets(line, sizeof line, f)) {
    unsigned long long s = 0, e = 0;
    char dash = 0;
    if (std::sscanf(line, "%llx%c%llx ", &s, &dash, &e) == 3 && dash == '-') {
      if (in) break;
      in = s == vma_start;
      continue;
    }
    unsigned long long v = 0;
    if (in && std::sscanf(line, "Rss: %llu kB", &v) == 1) {
      kb = v;
      break;
    }
  }
  std::fclose(f);
  return kb * 1024 / page_size();
}
}  // namespace

uint64_t resident_ours(const MemObject& obj, uint64_t off, uint64_t start, uint64_t end) {
  // Small regions: one mincore is cheaper than finding the extents.
  if (end - start <= kExtentsAbove) return mincore_count(start, end);
  const uint64_t base = obj.base() + off, lim = base + (end - start);
  uint64_t n = 0;
  for (uint64_t p = base; p < lim;) {
    off_t d = lseek(obj.fd(), static_cast<off_t>(p), SEEK_DATA);
    if (d < 0) {
      if (errno == ENXIO) break;  // holes only from here
      return n + mincore_count(start + (p - base), end);
    }
    const uint64_t ds = std::max<uint64_t>(static_cast<uint64_t>(d), p);
    if (ds >= lim) break;
    off_t h = lseek(obj.fd(), static_cast<off_t>(ds), SEEK_HOLE);
    const uint64_t de = h < 0 ? lim : std::clamp<uint64_t>(static_cast<uint64_t>(h), ds + page_size(), lim);
    n += mincore_count(start + (ds - base), start + (de - base));
    p = de;
  }
  return n;
}

uint64_t resident_foreign(uint64_t vma_start, uint64_t vma_end, uint64_t start, uint64_t end) {
  if (end - start <= kMincoreLimit) return mincore_count(start, end);
  const uint64_t rss = smaps_rss_pages(vma_start);
  const uint64_t vma_pages = (vma_end - vma_start) / page_size(), pages = (end - start) / page_size();
  return vma_pages ? static_cast<uint64_t>(static_cast<double>(rss) * pages / vma_pages) : 0;
}

}  // namespace hvshim::machvm
