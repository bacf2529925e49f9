// The authoritative guest-physical map of one address space: which host
// page backs each guest page and with which permissions. Neighbours that are
// contiguous in both guest and host addresses with equal permissions are
// kept as one extent, so the map stays as small as the caller's layout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace hvshim::hv {

inline constexpr uint64_t kPageSize = 4096;

enum : uint8_t { kPermRead = 1, kPermWrite = 2, kPermExec = 4, kPermAll = 7 };

struct Extent {
  uint64_t gpa = 0;
  uint64_t size = 0;
  uint64_t hva = 0;
  uint8_t perms = 0;
  uint64_t end() const { return gpa + size; }
  bool operator==(const Extent&) const = default;
};

class PageMap {
 public:
  bool is_free(uint64_t gpa, uint64_t size) const;
  bool is_fully_mapped(uint64_t gpa, uint64_t size) const;

  // Preconditions (checked by callers): insert into a free range;
  // erase/protect a fully mapped range.
  void insert(const Extent& e);
  void erase(uint64_t gpa, uint64_t size);
  void protect(uint64_t gpa, uint64_t size, uint8_t perms);

  // The extents overlapping [lo, hi), clipped to it, in address order.
  std::vector<Extent> extents_in(uint64_t lo, uint64_t hi) const;
  std::optional<Extent> lookup(uint64_t gpa) const;  // the one-page extent at gpa
  std::optional<Extent> extent_at(uint64_t gpa) const;  // the whole extent holding gpa
  std::vector<Extent> all() const { return extents_in(0, UINT64_MAX); }
  size_t extent_count() const { return m_.size(); }
  bool empty() const { return m_.empty(); }

 private:
  struct Entry {
    uint64_t size;
    uint64_t hva;
    uint8_t perms;
  };
  using Map = std::map<uint64_t, Entry>;

  // Splits the extent containing gpa so that one starts exactly at gpa.
  void split_at(uint64_t gpa);
  static bool joinable(Map::const_iterator a, Map::const_iterator b);
  void coalesce_range(uint64_t lo, uint64_t hi);

  Map m_;
};

// Applies an operation to a clipped extent list (the same rules PageMap
// uses), so a planned change can be compiled before it is committed.
std::vector<Extent> apply_erase(const std::vector<Extent>& in, uint64_t gpa, uint64_t size);
std::vector<Extent> apply_protect(const std::vector<Extent>& in, uint64_t gpa, uint64_t size, uint8_t perms);
std::vector<Extent> apply_insert(const std::vector<Extent>& in, const Extent& e);

}  // namespace hvshim::hv
