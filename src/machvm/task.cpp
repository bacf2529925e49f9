#include "machvm/task.h"

#include "machvm/fail.h"
#include "machvm/fork_handlers.h"

namespace hvshim::machvm {

Task& self_task() {
  static Task* t = [] {
    auto* task = new Task();  // never destroyed: mappings outlive static destructors
    install_fork_handlers(*task);
    return task;
  }();
  return *t;
}

std::vector<Segment> segments(Task& t, uint64_t start, uint64_t end, bool want_names) {
  std::vector<Segment> out;
  uint64_t at = start;
  auto add_gap = [&](uint64_t gs, uint64_t ge) {
    uint64_t p = gs;
    while (p < ge) {
      auto v = kernel_vma_at_or_after(0, p, want_names);
      if (!v || v->start >= ge) {
        out.push_back({Segment::hole, p, ge, nullptr, {}});
        return;
      }
      if (v->start > p) out.push_back({Segment::hole, p, v->start, nullptr, {}});
      uint64_t fs = std::max(v->start, p), fe = std::min(v->end, ge);
      Segment s{Segment::foreign, fs, fe, nullptr, *v};
      out.push_back(std::move(s));
      p = fe;
    }
  };
  for (auto it = t.map.first_ending_after(start); at < end; ++it) {
    if (it == t.map.end() || it->second.start >= end) {
      add_gap(at, end);
      break;
    }
    Entry& e = it->second;
    if (e.start > at) add_gap(at, e.start);
    uint64_t s = std::max(e.start, at), en = std::min(e.end, end);
    out.push_back({Segment::ours, s, en, &e, {}});
    at = en;
  }
  return out;
}

kern_return_t check_access(Task& t, uint64_t start, uint64_t end, vm_prot_t need, const char* what) {
  for (const Segment& s : segments(t, start, end)) {
    if (s.kind == Segment::hole)
      return fail(KERN_INVALID_ADDRESS, "{}: [{:#x}, {:#x}) is not mapped", what, s.start, s.end);
    if ((s.cur() & need) != need)
      return fail(KERN_PROTECTION_FAILURE, "{}: [{:#x}, {:#x}) has protection {:#x}, needs {:#x}", what, s.start,
                  s.end, s.cur(), need);
  }
  return KERN_SUCCESS;
}

}  // namespace hvshim::machvm
