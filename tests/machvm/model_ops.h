// The random step generator of the model test: picks a Mach call and its
// arguments (valid, borderline or deliberately invalid), asks the model what
// it must return, makes the real call, compares, and updates the model.
#pragma once

#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "machvm/model_state.h"

namespace model {

class Runner {
 public:
  Runner(uint64_t seed, uint64_t arena, uint64_t arena_pages);

  void step_once();
  // Deallocates everything the run created (regions and entry names).
  void release_all();

  Model m;
  std::mt19937_64 rng;
  uint64_t step = 0, refused = 0;
  std::string failure;       // first disagreement, empty while all agree
  std::deque<std::string> recent;  // the last steps, for the failure report

 private:
  uint64_t rnd(uint64_t n) { return n ? rng() % n : 0; }
  bool chance(unsigned pct) { return rnd(100) < pct; }
  std::string where(uint64_t a) const;
  void note(const std::string& s);
  // Records a disagreement when got != want; true when they agree.
  bool agree(kern_return_t want, kern_return_t got, const std::string& call);
  bool require(bool ok, const std::string& what);

  // Argument pickers. Ranges outside the arena lie inside our own mappings.
  struct Range {
    uint64_t addr = 0, size = 0;
  };
  Range arena_range(uint64_t max_pages, bool unaligned);
  Range mapped_range(uint64_t max_pages, bool unaligned);
  Range any_range(uint64_t max_pages, bool unaligned);
  vm_prot_t some_prot();
  vm_inherit_t some_inherit();
  std::vector<uint8_t> pattern(uint64_t n);
  // First fit at or above hint inside the arena, 0 if it does not fit there.
  uint64_t first_fit(uint64_t hint, uint64_t len) const;
  bool outside_pages_full() const;

  void op_allocate();
  void op_deallocate();
  void op_protect();
  void op_inherit();
  void op_write();
  void op_poke();
  void op_read();
  void op_copy(bool overwrite_call);
  void op_remap();
  void op_make_entry();
  void op_map_entry();
  void op_release_entry();
  void op_invalid();
  void release_outside_run();

  std::vector<uint8_t> foreign_;  // a buffer we did not allocate through Mach
};

}  // namespace model
