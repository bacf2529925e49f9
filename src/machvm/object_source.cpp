#include "machvm/object_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>

#include "machvm/fail.h"
#include "machvm/sys.h"
#include "machvm/vm_ops.h"

namespace hvshim::machvm {

namespace {
kern_return_t file_piece(const Segment& s, Piece& out) {
  const KernelVma& v = s.vma;
  char mf[96];
  std::snprintf(mf, sizeof mf, "/proc/self/map_files/%llx-%llx", static_cast<unsigned long long>(v.start),
                static_cast<unsigned long long>(v.end));
  int fd = -1;
  bool writable = true;
  for (const std::string& path : {v.name, std::string(mf)}) {
    if (path.empty() || path[0] != '/') continue;
    writable = true;
    fd = sys::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0 && (errno == EACCES || errno == EROFS || errno == ETXTBSY || errno == EPERM)) {
      writable = false;
      fd = sys::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOMEM)) {
      int e = errno;
      return fail(sys::resource_code(e), "reopening {}: {}", path, errno_text(e));
    }
    if (fd < 0) continue;
    struct stat st {};
    if (fstat(fd, &st) == 0 && st.st_ino == v.inode && major(st.st_dev) == v.dev_major &&
        minor(st.st_dev) == v.dev_minor)
      break;
    close(fd);
    fd = -1;
    writable = true;
  }
  if (fd < 0)
    return fail(KERN_NOT_SUPPORTED, "cannot reopen the file behind [{:#x}, {:#x}) ({})", s.start, s.end, v.name);
  struct stat st {};
  fstat(fd, &st);
  out.obj = MemObject::from_file(fd, writable, static_cast<uint64_t>(st.st_size));
  out.off = v.file_offset + (s.start - v.start);
  out.len = s.end - s.start;
  return KERN_SUCCESS;
}
}  // namespace

kern_return_t share_pieces(Task& t, uint64_t start, uint64_t end, std::vector<Piece>& out) {
  out.clear();
  for (const Segment& s : segments(t, start, end, true)) {
    if (s.kind == Segment::hole) return fail(KERN_INVALID_ADDRESS, "[{:#x}, {:#x}) is not mapped", s.start, s.end);
    Piece p;
    if (s.kind == Segment::ours) {
      p = Piece{s.entry->obj, s.entry->off_of(s.start), s.end - s.start};
    } else if (s.vma.shared && s.vma.inode != 0) {
      if (kern_return_t kr = file_piece(s, p); kr != KERN_SUCCESS) return kr;
    } else {
      return fail(KERN_NOT_SUPPORTED,
                  "[{:#x}, {:#x}) is private memory this library did not allocate; Linux cannot alias it", s.start,
                  s.end);
    }
    out.push_back(std::move(p));
  }
  return KERN_SUCCESS;
}

namespace {
kern_return_t pwrite_all(MemObject& dst, uint64_t d, uint64_t src, uint64_t len) {
  uint64_t done = 0;
  while (done < len) {
    ssize_t n = sys::pwrite(dst.fd(), reinterpret_cast<const void*>(src + done), len - done,
                            static_cast<off_t>(dst.base() + d + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EFAULT) {
      int e = errno;
      return fail(sys::resource_code(e), "copying [{:#x}, {:#x}): {}", src, src + len, errno_text(e));
    }
    if (n <= 0)
      return fail(KERN_PROTECTION_FAILURE, "cannot read [{:#x}, {:#x}): {}", src, src + len, errno_text(errno));
    done += static_cast<uint64_t>(n);
  }
  return KERN_SUCCESS;
}

// Readable pages of our objects: copy from memory (pwrite goes straight
// into the new object's page cache), data extents only so holes stay holes.
kern_return_t copy_extents(const Segment& s, MemObject& dst, uint64_t d) {
  const MemObject& src = *s.entry->obj;
  uint64_t o = src.base() + s.entry->off_of(s.start), end = o + (s.end - s.start);
  while (o < end) {
    off_t data = lseek(src.fd(), static_cast<off_t>(o), SEEK_DATA);
    if (data < 0 && errno == ENXIO) break;
    uint64_t ds = data < 0 ? o : std::max<uint64_t>(static_cast<uint64_t>(data), o);
    if (ds >= end) break;
    off_t hole = lseek(src.fd(), static_cast<off_t>(ds), SEEK_HOLE);
    uint64_t de = hole < 0 ? end : std::min<uint64_t>(static_cast<uint64_t>(hole), end);
    if (de <= ds) de = end;
    uint64_t addr = s.start + (ds - (src.base() + s.entry->off_of(s.start)));
    if (kern_return_t kr = pwrite_all(dst, d + (addr - s.start), addr, de - ds); kr != KERN_SUCCESS) return kr;
    o = de;
  }
  return KERN_SUCCESS;
}
}  // namespace

kern_return_t copy_range_into(Task& t, uint64_t start, uint64_t end, MemObject& dst, uint64_t dst_off) {
  for (const Segment& s : segments(t, start, end)) {
    uint64_t d = dst_off + (s.start - start);
    if (s.kind == Segment::ours && (s.entry->cur & VM_PROT_READ)) {
      if (kern_return_t kr = copy_extents(s, dst, d); kr != KERN_SUCCESS) return kr;
    } else if (s.kind == Segment::ours) {
      if (kern_return_t kr = dst.copy_from(*s.entry->obj, s.entry->off_of(s.start), d, s.end - s.start);
          kr != KERN_SUCCESS)
        return kr;
    } else if (s.kind == Segment::foreign) {
      if (kern_return_t kr = pwrite_all(dst, d, s.start, s.end - s.start); kr != KERN_SUCCESS) return kr;
    } else {
      return fail(KERN_INVALID_ADDRESS, "[{:#x}, {:#x}) is not mapped", s.start, s.end);
    }
  }
  return KERN_SUCCESS;
}

kern_return_t snapshot_piece(Task& t, uint64_t start, uint64_t end, Piece& out) {
  Piece p;
  if (kern_return_t kr = new_anonymous_piece(end - start, false, p); kr != KERN_SUCCESS) return kr;
  if (kern_return_t kr = copy_range_into(t, start, end, *p.obj, 0); kr != KERN_SUCCESS) return kr;
  out = std::move(p);
  return KERN_SUCCESS;
}

}  // namespace hvshim::machvm
