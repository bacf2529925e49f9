#include "machvm/model_state.h"

#include <unistd.h>

#include <cstring>

namespace model {

uint64_t page_size() {
  static const uint64_t p = static_cast<uint64_t>(getpagesize());
  return p;
}

bool round(uint64_t a, uint64_t& out) {
  if (a > UINT64_MAX - (page_size() - 1)) return false;
  out = trunc(a + page_size() - 1);
  return true;
}

const Page* Model::find(uint64_t addr) const {
  auto it = pages.find(trunc(addr));
  return it == pages.end() ? nullptr : &it->second;
}

Page* Model::find(uint64_t addr) {
  auto it = pages.find(trunc(addr));
  return it == pages.end() ? nullptr : &it->second;
}

bool Model::any_mapped(uint64_t start, uint64_t end) const {
  auto it = pages.lower_bound(start);
  return it != pages.end() && it->first < end;
}

kern_return_t Model::check(uint64_t start, uint64_t end, vm_prot_t need) const {
  for (uint64_t p = start; p < end; p += page_size()) {
    const Page* pg = find(p);
    if (!pg) return KERN_INVALID_ADDRESS;
    if ((pg->cur & need) != need) return KERN_PROTECTION_FAILURE;
  }
  return KERN_SUCCESS;
}

kern_return_t Model::copy_check(uint64_t addr, uint64_t size, vm_prot_t need) const {
  uint64_t end = 0;
  if (addr > UINT64_MAX - size || !round(addr + size, end) || end <= trunc(addr)) return KERN_INVALID_ADDRESS;
  kern_return_t kr = check(trunc(addr), end, need);
  if (kr == KERN_PROTECTION_FAILURE && size < 2 * page_size()) return KERN_INVALID_ADDRESS;
  return kr;
}

std::vector<uint8_t> Model::load(uint64_t addr, uint64_t n) const {
  std::vector<uint8_t> out(n);
  for (uint64_t i = 0; i < n;) {
    uint64_t a = addr + i, in_page = a - trunc(a);
    uint64_t chunk = std::min(n - i, page_size() - in_page);
    std::memcpy(out.data() + i, find(a)->ref.data() + in_page, chunk);
    i += chunk;
  }
  return out;
}

void Model::store(uint64_t addr, const uint8_t* src, uint64_t n) {
  for (uint64_t i = 0; i < n;) {
    uint64_t a = addr + i, in_page = a - trunc(a);
    uint64_t chunk = std::min(n - i, page_size() - in_page);
    std::memcpy(find(a)->ref.data() + in_page, src + i, chunk);
    i += chunk;
  }
}

std::vector<PageRef> Model::fresh(uint64_t npages) {
  auto o = std::make_shared<Obj>();
  o->bytes.assign(npages * page_size(), 0);
  std::vector<PageRef> out;
  for (uint64_t i = 0; i < npages; ++i) out.push_back({o, i});
  return out;
}

std::vector<PageRef> Model::refs(uint64_t start, uint64_t end) const {
  std::vector<PageRef> out;
  for (uint64_t p = start; p < end; p += page_size()) out.push_back(find(p)->ref);
  return out;
}

std::vector<PageRef> Model::copy_of(const std::vector<PageRef>& src) {
  std::vector<PageRef> out = fresh(src.size());
  for (size_t i = 0; i < src.size(); ++i) std::memcpy(out[i].data(), src[i].data(), page_size());
  return out;
}

void Model::map(uint64_t at, const std::vector<PageRef>& r, vm_prot_t cur, vm_prot_t max, vm_inherit_t inh) {
  std::vector<Page> ps;
  for (const PageRef& ref : r) ps.push_back({cur, max, inh, ref});
  map_pages(at, ps);
}

void Model::map_pages(uint64_t at, const std::vector<Page>& ps) {
  for (size_t i = 0; i < ps.size(); ++i) pages[at + i * page_size()] = ps[i];
}

void Model::unmap(uint64_t start, uint64_t end) {
  pages.erase(pages.lower_bound(start), pages.lower_bound(end));
}

}  // namespace model
