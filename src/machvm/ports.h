// Our IPC space: the names user code holds for the task, the host, memory
// entries and other processes' tasks.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include <mach/port.h>
#include <mach/vm_prot.h>

#include "machvm/memory_object.h"

namespace hvshim::machvm {

constexpr mach_port_t kTaskSelfName = 0x103;
constexpr mach_port_t kHostName = 0x203;
constexpr mach_port_t kHostPrivName = 0x303;

// A contiguous run of one object's pages.
struct Piece {
  std::shared_ptr<MemObject> obj;
  uint64_t off = 0;  // object-relative, page aligned
  uint64_t len = 0;  // page multiple
  // Protections for this piece when it differs from the rest (remap keeps
  // each source entry's own); -1 = use the request's.
  vm_prot_t cur = -1, max = -1;
};

// The pieces covering [s, e) of a list of pieces laid end to end.
std::vector<Piece> slice_pieces(const std::vector<Piece>& pieces, uint64_t s, uint64_t e);

// What mach_make_memory_entry returns: pages of one or more objects, viewed
// as one range [0, size).
struct MemEntry {
  std::vector<Piece> pieces;
  uint64_t size = 0;         // page multiple (sum of pieces)
  uint64_t data_offset = 0;  // MAP_MEM_USE_DATA_ADDR: where the caller's bytes start
  uint64_t user_size = 0;    // what the caller asked for
  vm_prot_t prot = 0;
  bool is_copy = false;  // made with MAP_MEM_VM_COPY: a snapshot
  // MAP_MEM_VM_COPY or MAP_MEM_VM_SHARE: XNU keeps these as a copy map,
  // which mach_vm_map maps whole and which cannot be a parent.
  bool whole = false;
  MemEntry() = default;
  MemEntry(const MemEntry&) = delete;
  MemEntry& operator=(const MemEntry&) = delete;
  ~MemEntry();
  void own_pieces();  // counts this entry as a view of its objects
};

enum class PortKind { task_self, host, host_priv, mem_entry, remote_task };

struct PortRef {
  PortKind kind;
  std::shared_ptr<MemEntry> entry;
  pid_t pid = 0;
};

std::optional<PortRef> port_lookup(mach_port_t name);
mach_port_t port_add_entry(std::shared_ptr<MemEntry> e);
mach_port_t port_add_task(pid_t pid);
// Adds a send right to an existing name (NAMED_REUSE hands back the parent).
void port_retain(mach_port_t name);
// KERN_INVALID_NAME for names we never gave out.
kern_return_t port_deallocate(mach_port_t name);
// Mach rights are not inherited by fork (only the self names are).
void ports_reset_after_fork();

}  // namespace hvshim::machvm
