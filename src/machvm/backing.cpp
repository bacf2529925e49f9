#include "machvm/backing.h"

#include "machvm/fail.h"
#include "machvm/task.h"

namespace hvshim::machvm {

kern_return_t backing_of(uint64_t addr, Backing& out) {
  Task& t = self_task();
  std::lock_guard lk(t.mu);
  auto it = t.map.find(addr);
  if (it == t.map.end()) return fail(KERN_INVALID_ADDRESS, "{:#x} is not memory mapped by machvm", addr);
  const Entry& e = it->second;
  out.fd = e.obj->fd();
  out.offset = e.obj->base() + e.off_of(addr);
  out.object_id = e.obj->id();
  out.anonymous = e.obj->anonymous();
  // Later entries may continue the same object contiguously.
  uint64_t end = e.end;
  for (auto n = std::next(it); n != t.map.end() && n->second.start == end && n->second.obj == e.obj &&
                               n->second.obj_off == e.off_of(end);
       ++n)
    end = n->second.end;
  out.length = end - addr;
  return KERN_SUCCESS;
}

}  // namespace hvshim::machvm
