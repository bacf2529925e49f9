#include "machvm/arena.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "machvm/self_pid.h"

namespace hvshim::machvm {

Arena::~Arena() {
  // Closing the file drops every page, pending ones included.
  close(fd);
}

bool Arena::take(uint64_t size, uint64_t& off) {
  for (int pass = 0; pass < 2; ++pass) {
    for (auto it = free_.begin(); it != free_.end(); ++it) {
      if (it->second >= size) {
        off = it->first;
        const uint64_t rest = it->second - size;
        // The rest keeps the node (no allocation on this path).
        auto node = free_.extract(it);
        if (rest) {
          node.key() = off + size;
          node.mapped() = rest;
          free_.insert(std::move(node));
        }
        return true;
      }
    }
    if (bump_ + size <= kCapacity && bump_ + size >= bump_) {
      off = bump_;
      bump_ += size;
      return true;
    }
    if (pending_.empty()) break;
    punch_pending();
  }
  return false;
}

void Arena::give_back(uint64_t off, uint64_t size) {
  pending_.emplace_back(off, size);
  pending_bytes_ += size;
  if (pending_bytes_ >= kBatchBytes || pending_.size() >= kBatchRanges) punch_pending();
}

void Arena::punch_pending() {
  std::sort(pending_.begin(), pending_.end());
  for (size_t i = 0; i < pending_.size();) {
    uint64_t s = pending_[i].first, e = s + pending_[i].second;
    size_t j = i + 1;
    for (; j < pending_.size() && pending_[j].first == e; ++j) e += pending_[j].second;
    // A child must not free its parent's pages; a range that cannot be
    // punched keeps its data and is never handed out again.
    if (pid == self_pid() &&
        fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(s), static_cast<off_t>(e - s)) == 0)
      add_free(s, e - s);
    i = j;
  }
  pending_.clear();
  pending_bytes_ = 0;
}

void Arena::add_free(uint64_t off, uint64_t size) {
  auto [it, ok] = free_.emplace(off, size);
  (void)ok;
  if (auto next = std::next(it); next != free_.end() && it->first + it->second == next->first) {
    it->second += next->second;
    free_.erase(next);
  }
  if (it != free_.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second == it->first) {
      prev->second += it->second;
      free_.erase(it);
    }
  }
}

}  // namespace hvshim::machvm
