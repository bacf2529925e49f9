// Checks of the real process against the model, through real memory
// accesses and real forks rather than the library's own bookkeeping. Each
// returns an empty string when reality agrees, else what differs.
#pragma once

#include <random>
#include <string>

#include "machvm/model_state.h"

namespace model {

// x86 cannot map a page writable but not readable.
bool hw_readable(vm_prot_t cur);

// Every page's bytes: loaded directly where the page is readable, through
// its backing object otherwise.
std::string check_contents(const Model& m);

// mach_vm_region over every page: protections and inheritance as modelled,
// and no region over a page the model has unmapped in the arena.
std::string check_regions(const Model& m);

// In throw-away children: every access the model allows succeeds (one
// child), and a few it forbids (no read/write right, VM_INHERIT_NONE pages,
// arena holes) die of SIGSEGV (one child each, default handlers).
std::string check_access(const Model& m, std::mt19937_64& rng);

// A forked child sees the parent's contents on every inherited page, finds
// VM_INHERIT_NONE pages absent, and writes markers: the parent must see them
// on SHARE pages (the model learns them) and not on COPY pages.
std::string check_inheritance(Model& m, std::mt19937_64& rng);

}  // namespace model
