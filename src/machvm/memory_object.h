// A memory object: the pages behind one or more mappings. Anonymous objects
// are page ranges of a memfd "arena" (so any of them can be mapped again,
// shared, elsewhere); file objects wrap a file descriptor.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <utility>
#include <vector>
#include <memory>
#include <mutex>

#include <mach/kern_return.h>

namespace hvshim::machvm {

class Arena;

class MemObject {
 public:
  // Zero-filled pages, size rounded to pages by the caller.
  static kern_return_t create_anonymous(uint64_t size, std::shared_ptr<MemObject>& out);
  // Takes ownership of fd.
  static std::shared_ptr<MemObject> from_file(int fd, bool writable, uint64_t file_size);

  ~MemObject();
  MemObject(const MemObject&) = delete;
  MemObject& operator=(const MemObject&) = delete;

  // Identity: the pages of this object are [base(), base()+size()) of fd().
  int fd() const { return fd_; }
  uint64_t base() const { return base_; }
  uint64_t size() const { return size_; }
  uint64_t id() const { return id_; }
  bool anonymous() const { return anonymous_; }
  // The file the pages live in: two ranges with the same (dev, ino) and
  // overlapping file offsets are the same memory.
  uint64_t dev() const { return dev_; }
  uint64_t ino() const { return ino_; }
  bool writable() const { return writable_; }

  // Purgeable state lives on the object, as in XNU.
  bool purgeable = false;
  int purge_state = 0;  // VM_PURGABLE_NONVOLATILE/VOLATILE/EMPTY

  // Independent views of the object: map-entry pieces per mapping operation,
  // plus memory entries. Maintained under the task lock; drives the `shared`
  // bit and share_mode of vm_region.
  void add_view_piece(uint64_t view);
  void drop_view_piece(uint64_t view);
  int map_views() const { return (first_view_pieces_ > 0) + static_cast<int>(more_views_.size()); }
  std::atomic<int> entry_refs{0};
  int views() const { return map_views() + entry_refs; }

  // Another process maps these pages too (SHARE inheritance): never give
  // the pages back, the other side still uses them.
  std::atomic<bool> shared_with_other_process{false};

  // One mapping operation put some of these pages at two addresses (a
  // remap of a range that already showed them twice): one view is then no
  // proof that released pages are unused. Sticky; set under the task lock.
  bool mapped_twice_in_a_view = false;

  // Nobody but this process, and nothing but one view, uses these pages:
  // giving back part of them cannot be seen by anyone else.
  bool sole_user() const;

  // Drops the contents of [off, off+len) (object-relative): later reads see
  // zeros. Used by purge, KILLPAGES, VM_BEHAVIOR_FREE/ZERO.
  kern_return_t discard(uint64_t off, uint64_t len);

  // Copies [src_off, +len) of src into [dst_off, +len) of this object
  // without touching any mapping; holes stay holes.
  kern_return_t copy_from(const MemObject& src, uint64_t src_off, uint64_t dst_off, uint64_t len);


 private:
  MemObject() = default;
  static std::shared_ptr<MemObject> make();
  std::shared_ptr<Arena> arena_;
  int fd_ = -1;
  bool owns_fd_ = false;
  uint64_t base_ = 0;
  uint64_t size_ = 0;
  uint64_t id_ = 0;
  uint64_t dev_ = 0, ino_ = 0;
  // Pieces per view; almost every object has one view, kept inline.
  uint64_t first_view_ = 0;
  int first_view_pieces_ = 0;
  std::vector<std::pair<uint64_t, int>> more_views_;
  pid_t owner_pid_ = 0;
  bool anonymous_ = true;
  bool writable_ = true;
};

// After fork, the child must not carve new objects out of the parent's
// arena files (both would hand out the same offsets).
void arenas_forget_after_fork();

namespace testing {
// The next anonymous object starts a new arena file (tests of its creation
// failing); objects in the old one keep it alive.
void retire_arena();
}  // namespace testing

}  // namespace hvshim::machvm
