// mach_vm_purgable_control: purgeable objects whose volatile pages are
// really given back (hole punched) when purged.
#include <mach/vm_purgable.h>

#include <set>

#include "machvm/fail.h"
#include "machvm/page.h"
#include "machvm/task.h"
#include "machvm/vm_ops.h"

namespace hvshim::machvm {

namespace {
constexpr int kStateBits = VM_PURGABLE_STATE_MASK | VM_VOLATILE_GROUP_MASK | VM_PURGABLE_BEHAVIOR_MASK |
                           VM_PURGABLE_ORDERING_MASK | VM_VOLATILE_ORDER_MASK | VM_PURGABLE_NO_AGING_MASK |
                           VM_PURGABLE_DEBUG_MASK;

kern_return_t purge(MemObject& o) {
  if (kern_return_t kr = o.discard(0, o.size()); kr != KERN_SUCCESS) return kr;
  o.purge_state = VM_PURGABLE_EMPTY;
  return KERN_SUCCESS;
}
}  // namespace

kern_return_t vm_purgable_control(uint64_t addr, vm_purgable_t control, int& state) {
  if (control != VM_PURGABLE_SET_STATE && control != VM_PURGABLE_GET_STATE && control != VM_PURGABLE_PURGE_ALL)
    return fail(KERN_INVALID_ARGUMENT, "purgeable control {} is not available to user space", control);
  Task& t = self_task();
  std::lock_guard lk(t.mu);
  if (control == VM_PURGABLE_PURGE_ALL) {
    // Every volatile object of this task loses its pages now.
    std::set<MemObject*> done;
    for (auto it = t.map.begin(); it != t.map.end(); ++it) {
      MemObject* o = it->second.obj.get();
      if (o && o->purgeable && o->purge_state == VM_PURGABLE_VOLATILE && done.insert(o).second) {
        if (kern_return_t kr = purge(*o); kr != KERN_SUCCESS) return kr;
      }
    }
    return KERN_SUCCESS;
  }
  if (control == VM_PURGABLE_SET_STATE) {
    if (state & ~kStateBits) return fail(KERN_INVALID_ARGUMENT, "state {:#x} has unknown bits", state);
    if ((state & VM_PURGABLE_STATE_MASK) == VM_PURGABLE_DENY)
      return fail(KERN_INVALID_ARGUMENT, "VM_PURGABLE_DENY cannot be set");
  }
  auto it = t.map.find(addr);
  if (it == t.map.end()) {
    if (page_trunc(addr) >= user_va_end()) return fail(KERN_INVALID_ADDRESS, "{:#x} is not mapped", addr);
    auto segs = segments(t, page_trunc(addr), page_trunc(addr) + page_size());
    if (segs.empty() || segs.front().kind == Segment::hole)
      return fail(KERN_INVALID_ADDRESS, "{:#x} is not mapped", addr);
    return fail(KERN_INVALID_ARGUMENT, "{:#x} is not purgeable memory", addr);
  }
  Entry& e = it->second;
  if (control == VM_PURGABLE_SET_STATE && !(e.cur & VM_PROT_WRITE))
    return fail(KERN_PROTECTION_FAILURE, "{:#x} is not writable", addr);
  MemObject& o = *e.obj;
  if (!o.purgeable) return fail(KERN_INVALID_ARGUMENT, "{:#x} is not purgeable memory", addr);
  const int old = o.purge_state;
  if (control == VM_PURGABLE_GET_STATE) {
    state = old;
    return KERN_SUCCESS;
  }
  switch (state & VM_PURGABLE_STATE_MASK) {
    case VM_PURGABLE_NONVOLATILE:
      o.purge_state = VM_PURGABLE_NONVOLATILE;
      break;
    case VM_PURGABLE_VOLATILE:
      // Once emptied, an object stays empty until made nonvolatile again.
      if (old != VM_PURGABLE_EMPTY) o.purge_state = VM_PURGABLE_VOLATILE;
      break;
    case VM_PURGABLE_EMPTY:
      if (kern_return_t kr = purge(o); kr != KERN_SUCCESS) return kr;
      break;
  }
  state = old;
  return KERN_SUCCESS;
}

}  // namespace hvshim::machvm
