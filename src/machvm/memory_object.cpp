#include "machvm/memory_object.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "common/log.h"
#include "machvm/arena.h"
#include "machvm/fail.h"
#include "machvm/page.h"
#include "machvm/self_pid.h"
#include "machvm/sys.h"

namespace hvshim::machvm {

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

namespace {
// Executable on purpose: JITs allocate with vm_allocate and flip pages to
// R-X with vm_protect; kernels with vm.memfd_noexec would otherwise refuse
// PROT_EXEC on our memfds. Older kernels do not know the flag.
int create_memfd(const char* name) {
  int fd = sys::memfd_create(name, MFD_CLOEXEC | MFD_EXEC);
  if (fd < 0 && errno == EINVAL) fd = sys::memfd_create(name, MFD_CLOEXEC);
  return fd;
}

std::atomic<uint64_t> g_next_id{1};
std::mutex g_arena_mu;  // the current arena and every arena's free lists
std::shared_ptr<Arena> g_arena;

kern_return_t new_arena(std::shared_ptr<Arena>& out) {
  int fd = create_memfd("hvshim-machvm");
  if (fd < 0) {
    int e = errno;
    return fail(sys::resource_code(e), "memfd_create: {}", errno_text(e));
  }
  if (sys::ftruncate(fd, static_cast<off_t>(Arena::kCapacity)) != 0) {
    int e = errno;
    close(fd);
    return fail(sys::resource_code(e), "ftruncate(memfd): {}", errno_text(e));
  }
  struct stat st {};
  fstat(fd, &st);
  auto a = std::make_shared<Arena>(fd, self_pid(), st.st_dev, st.st_ino);
  out = std::move(a);
  return KERN_SUCCESS;
}
}  // namespace

void arenas_forget_after_fork() {
  // Runs in the single-threaded child; the parent may hold g_arena_mu's
  // state from another thread, so rebuild rather than lock.
  new (&g_arena_mu) std::mutex();
  g_arena.reset();
}

namespace testing {
void retire_arena() {
  std::lock_guard lk(g_arena_mu);
  g_arena.reset();
}
}  // namespace testing

std::shared_ptr<MemObject> MemObject::make() {
  // One allocation for the object and its count (the constructor is
  // private, so make_shared cannot call it directly).
  struct Made : MemObject {};
  return std::make_shared<Made>();
}

kern_return_t MemObject::create_anonymous(uint64_t size, std::shared_ptr<MemObject>& out) {
  std::shared_ptr<MemObject> o = make();
  o->size_ = size;
  o->id_ = g_next_id.fetch_add(1);
  o->owner_pid_ = self_pid();
  if (size > Arena::kCapacity / 4) {
    // Very large objects get their own file so they never fragment an arena.
    int fd = create_memfd("hvshim-machvm-large");
    if (fd < 0) {
      int e = errno;
      return fail(sys::resource_code(e), "memfd_create: {}", errno_text(e));
    }
    if (sys::ftruncate(fd, static_cast<off_t>(size)) != 0) {
      int e = errno;
      close(fd);
      return fail(sys::resource_code(e), "ftruncate(memfd, {:#x}): {}", size, errno_text(e));
    }
    o->fd_ = fd;
    o->owns_fd_ = true;
    struct stat st {};
    fstat(fd, &st);
    o->dev_ = st.st_dev;
    o->ino_ = st.st_ino;
    out = std::move(o);
    return KERN_SUCCESS;
  }
  std::lock_guard lk(g_arena_mu);
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!g_arena || g_arena->pid != self_pid()) {
      kern_return_t kr = new_arena(g_arena);
      if (kr != KERN_SUCCESS) return kr;
    }
    uint64_t off = 0;
    if (g_arena->take(size, off)) {
      o->arena_ = g_arena;
      o->fd_ = g_arena->fd;
      o->dev_ = g_arena->dev;
      o->ino_ = g_arena->ino;
      o->base_ = off;
      out = std::move(o);
      return KERN_SUCCESS;
    }
    g_arena.reset();
  }
  return fail(KERN_RESOURCE_SHORTAGE, "no arena space for {:#x} bytes", size);
}

std::shared_ptr<MemObject> MemObject::from_file(int fd, bool writable, uint64_t file_size) {
  std::shared_ptr<MemObject> o = make();
  o->fd_ = fd;
  o->owns_fd_ = true;
  o->size_ = file_size;
  o->id_ = g_next_id.fetch_add(1);
  o->owner_pid_ = self_pid();
  o->anonymous_ = false;
  o->writable_ = writable;
  struct stat st {};
  fstat(fd, &st);
  o->dev_ = st.st_dev;
  o->ino_ = st.st_ino;
  return o;
}

MemObject::~MemObject() {
  bool ours = owner_pid_ == self_pid() && !shared_with_other_process.load();
  if (arena_) {
    if (ours) {
      std::lock_guard lk(g_arena_mu);
      arena_->give_back(base_, size_);
    }
  } else if (owns_fd_ && fd_ >= 0) {
    close(fd_);
  }
}

bool MemObject::sole_user() const {
  return anonymous_ && owner_pid_ == self_pid() && !shared_with_other_process.load() && entry_refs.load() == 0 &&
         map_views() <= 1 && !mapped_twice_in_a_view;
}

void MemObject::add_view_piece(uint64_t view) {
  if (first_view_pieces_ > 0 && first_view_ == view) {
    ++first_view_pieces_;
    return;
  }
  for (auto& [v, n] : more_views_)
    if (v == view) {
      ++n;
      return;
    }
  if (first_view_pieces_ == 0) {
    first_view_ = view;
    first_view_pieces_ = 1;
  } else {
    more_views_.emplace_back(view, 1);
  }
}

void MemObject::drop_view_piece(uint64_t view) {
  if (first_view_pieces_ > 0 && first_view_ == view) {
    --first_view_pieces_;
    return;
  }
  for (auto it = more_views_.begin(); it != more_views_.end(); ++it)
    if (it->first == view) {
      if (--it->second == 0) more_views_.erase(it);
      return;
    }
}

kern_return_t MemObject::discard(uint64_t off, uint64_t len) {
  if (len == 0) return KERN_SUCCESS;
  if (!anonymous_) return fail(KERN_NOT_SUPPORTED, "discarding pages of a file object");
  if (fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(base_ + off),
                static_cast<off_t>(len)) != 0)
    return fail(KERN_FAILURE, "fallocate(PUNCH_HOLE): {}", errno_text(errno));
  return KERN_SUCCESS;
}

namespace {
kern_return_t copy_bytes(int sfd, uint64_t soff, int dfd, uint64_t doff, uint64_t len) {
  while (len) {
    loff_t in = static_cast<loff_t>(soff), outp = static_cast<loff_t>(doff);
    ssize_t n = sys::copy_file_range(sfd, &in, dfd, &outp, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EINVAL && errno != EXDEV && errno != EOPNOTSUPP && errno != ENOSYS) {
      int e = errno;
      return fail(sys::resource_code(e), "copy_file_range: {}", errno_text(e));
    }
    if (n <= 0) {
      // Same-file overlap or a filesystem without support: go through memory.
      std::vector<char> buf(std::min<uint64_t>(len, 1 << 20));
      ssize_t r = pread(sfd, buf.data(), buf.size(), static_cast<off_t>(soff));
      if (r < 0) return fail(KERN_MEMORY_ERROR, "pread: {}", errno_text(errno));
      if (r == 0) {  // past EOF of a file: zeros
        std::fill(buf.begin(), buf.end(), 0);
        r = static_cast<ssize_t>(std::min<uint64_t>(len, buf.size()));
      }
      ssize_t w = sys::pwrite(dfd, buf.data(), static_cast<size_t>(r), static_cast<off_t>(doff));
      if (w <= 0) {
        int e = w < 0 ? errno : ENOSPC;
        return fail(sys::resource_code(e), "pwrite: {}", errno_text(e));
      }
      r = w;
      n = r;
    }
    soff += static_cast<uint64_t>(n);
    doff += static_cast<uint64_t>(n);
    len -= static_cast<uint64_t>(n);
  }
  return KERN_SUCCESS;
}
}  // namespace

kern_return_t MemObject::copy_from(const MemObject& src, uint64_t src_off, uint64_t dst_off, uint64_t len) {
  uint64_t s = src.base_ + src_off, end = s + len, d = base_ + dst_off;
  while (s < end) {
    off_t data = lseek(src.fd_, static_cast<off_t>(s), SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // only holes remain
      data = static_cast<off_t>(s);
    }
    uint64_t ds = std::max<uint64_t>(static_cast<uint64_t>(data), s);
    if (ds >= end) break;
    off_t hole = lseek(src.fd_, static_cast<off_t>(ds), SEEK_HOLE);
    uint64_t de = hole < 0 ? end : std::min<uint64_t>(static_cast<uint64_t>(hole), end);
    if (de <= ds) de = end;
    kern_return_t kr = copy_bytes(src.fd_, ds, fd_, d + (ds - s), de - ds);
    if (kr != KERN_SUCCESS) return kr;
    d += de - s;
    s = de;
  }
  return KERN_SUCCESS;
}

}  // namespace hvshim::machvm
