// Turning a range of the address space into object pieces: ours directly,
// shared file mappings we did not make through their file, and snapshots.
#pragma once

#include <cstdint>
#include <vector>

#include "machvm/ports.h"
#include "machvm/task.h"

namespace hvshim::machvm {

// Pieces that alias [start, end) (lock held; range already checked for
// holes). Private memory we did not create cannot be aliased on Linux:
// KERN_NOT_SUPPORTED.
kern_return_t share_pieces(Task& t, uint64_t start, uint64_t end, std::vector<Piece>& out);

// A new anonymous object holding a copy of [start, end) as it is now.
kern_return_t snapshot_piece(Task& t, uint64_t start, uint64_t end, Piece& out);

// Copies the current bytes of [start, end) into `dst` at dst_off; what is
// ours is copied file-to-file, the rest from memory.
kern_return_t copy_range_into(Task& t, uint64_t start, uint64_t end, MemObject& dst, uint64_t dst_off);

}  // namespace hvshim::machvm
