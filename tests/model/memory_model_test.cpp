// Model-based random testing of the guest-memory API: random sequences of
// map / unmap / protect / space create+destroy / invalid calls / host
// writes are applied to the library and to a plain per-page model. Every
// return code must equal the model's, and every few steps a real guest in
// each space sweeps the pages the steps touched: what it can read and
// write, and the bytes it sees, must be what the model says.
//
// HVSHIM_MODEL_STEPS (default 2000) and HVSHIM_MODEL_SEED choose the run;
// a failure prints the seed and the steps that led to it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>

#include "../hvapi/fixture.h"

namespace hvtest {
namespace {

constexpr uint64_t P = 4096;
constexpr int kWindowPages = 48;
// Two windows: one inside a 2 MiB chunk, one straddling a chunk boundary.
constexpr uint64_t kWindows[2] = {0x1000000, 0x13f0000};
constexpr int kBuffers = 4, kBufPages = 64;
constexpr int kMaxExtraSpaces = 2;

struct PageState {
  bool mapped = false;
  int buf = 0, page = 0;  // backing host page
  uint8_t perms = 0;
};

struct Model {
  std::map<hv_vm_space_t, std::map<uint64_t, PageState>> spaces;  // gpa -> state
};

uint64_t env_u64(const char* name, uint64_t dflt) {
  const char* e = getenv(name);
  return e && *e ? strtoull(e, nullptr, 0) : dflt;
}

class MemoryModel : public VmTest {
 protected:
  void Run(uint64_t seed, uint64_t steps) {
    std::mt19937_64 rng(seed);
    std::vector<std::unique_ptr<HostMem>> bufs;
    for (int i = 0; i < kBuffers; ++i) {
      bufs.push_back(std::make_unique<HostMem>(kBufPages * P));
      for (int pg = 0; pg < kBufPages; ++pg) bufs[i]->set_word(pg, (i << 16) | pg);
    }
    Model model;
    model.spaces[0];
    std::map<hv_vm_space_t, std::unique_ptr<GuestProbe>> probes;
    probes[0] = std::move(guest);
    std::set<std::pair<hv_vm_space_t, uint64_t>> touched;
    std::vector<std::string> log;

    auto fail_context = [&] {
      std::ostringstream os;
      os << "seed=" << seed << " (HVSHIM_MODEL_SEED to replay); last steps:\n";
      size_t from = log.size() > 40 ? log.size() - 40 : 0;
      for (size_t i = from; i < log.size(); ++i) os << "  " << i << ": " << log[i] << "\n";
      return os.str();
    };
    auto pick_space = [&] {
      auto it = model.spaces.begin();
      std::advance(it, rng() % model.spaces.size());
      return it->first;
    };
    auto range_state = [&](hv_vm_space_t s, uint64_t gpa, int n, bool* all_mapped, bool* none_mapped) {
      *all_mapped = *none_mapped = true;
      for (int i = 0; i < n; ++i) {
        auto& pgs = model.spaces[s];
        auto it = pgs.find(gpa + i * P);
        bool m = it != pgs.end() && it->second.mapped;
        (m ? *none_mapped : *all_mapped) = false;
      }
    };

    for (uint64_t step = 0; step < steps; ++step) {
      hv_vm_space_t s = pick_space();
      uint64_t win = kWindows[rng() % 2];
      int first = rng() % kWindowPages;
      int n = 1 + (rng() % 4 == 0 ? rng() % 24 : rng() % 3);
      if (first + n > kWindowPages) n = kWindowPages - first;
      uint64_t gpa = win + first * P;
      uint8_t perms = rng() % 8;
      int op = rng() % 100;
      std::ostringstream d;
      hv_return_t got = HV_SUCCESS, want = HV_SUCCESS;
      bool all, none;
      range_state(s, gpa, n, &all, &none);
      if (op < 35) {  // map
        int b = rng() % kBuffers, off = rng() % (kBufPages - n + 1);
        d << "map(space " << s << ", gpa " << std::hex << gpa << std::dec << ", " << n << " pages, buf " << b
          << "+" << off << ", perms " << int(perms) << ")";
        want = none ? HV_SUCCESS : HV_ERROR;
        got = hv_vm_map_space(s, bufs[b]->page(off), gpa, n * P, perms);
        if (want == HV_SUCCESS && got == HV_SUCCESS)
          for (int i = 0; i < n; ++i) model.spaces[s][gpa + i * P] = {true, b, off + i, perms};
      } else if (op < 55) {  // unmap
        d << "unmap(space " << s << ", gpa " << std::hex << gpa << std::dec << ", " << n << ")";
        want = HV_SUCCESS;  // never-mapped pages in the range are skipped
        got = hv_vm_unmap_space(s, gpa, n * P);
        if (got == HV_SUCCESS)
          for (int i = 0; i < n; ++i) model.spaces[s].erase(gpa + i * P);
      } else if (op < 85) {  // protect
        d << "protect(space " << s << ", gpa " << std::hex << gpa << std::dec << ", " << n << ", " << int(perms)
          << ")";
        want = all ? HV_SUCCESS : HV_ERROR;
        got = hv_vm_protect_space(s, gpa, n * P, perms);
        if (want == HV_SUCCESS && got == HV_SUCCESS)
          for (int i = 0; i < n; ++i) model.spaces[s][gpa + i * P].perms = perms;
      } else if (op < 90) {  // invalid calls: never change anything
        int kind = rng() % 4;
        d << "invalid#" << kind;
        want = HV_BAD_ARGUMENT;
        if (kind == 0) got = hv_vm_map_space(s, bufs[0]->data(), gpa + 8, P, perms);
        if (kind == 1) got = hv_vm_protect_space(s, gpa, 0, perms);
        if (kind == 2) got = hv_vm_unmap_space(77, gpa, P);
        if (kind == 3) got = hv_vm_protect_space(s, gpa, P, 0x40);
      } else if (op < 94) {  // space create / destroy
        if (model.spaces.size() < 1 + kMaxExtraSpaces && rng() % 2) {
          hv_vm_space_t ns = 0;
          d << "space_create";
          got = hv_vm_space_create(&ns);
          if (got == HV_SUCCESS) {
            d << " -> " << ns;
            model.spaces[ns];
            probes[ns] = GuestProbe::create(ns);
            ASSERT_NE(probes[ns], nullptr) << fail_context();
          }
        } else if (model.spaces.size() > 1) {
          hv_vm_space_t victim = pick_space();
          if (victim == 0) victim = model.spaces.rbegin()->first;
          d << "space_destroy(" << victim << ")";
          probes.erase(victim);
          got = hv_vm_space_destroy(victim);
          model.spaces.erase(victim);
          for (auto it = touched.begin(); it != touched.end();) it = it->first == victim ? touched.erase(it) : ++it;
        } else {
          d << "space_destroy(0)";
          want = HV_BAD_ARGUMENT;
          got = hv_vm_space_destroy(0);
        }
      } else {  // host writes to its own memory
        int b = rng() % kBuffers, pg = rng() % kBufPages;
        uint32_t v = static_cast<uint32_t>(rng());
        d << "host_write(buf " << b << "+" << pg << ", " << v << ")";
        bufs[b]->set_word(pg, v);
      }
      log.push_back(d.str());
      ASSERT_EQ(got, want) << "step " << step << ": " << d.str() << "\n" << fail_context();
      if (model.spaces.count(s))
        for (int i = 0; i < n; ++i) touched.insert({s, gpa + i * P});

      if (step % 20 == 19 || step + 1 == steps) {
        for (auto [sp, pg] : touched) {
          auto& pgs = model.spaces[sp];
          auto it = pgs.find(pg);
          PageState st = it == pgs.end() ? PageState{} : it->second;
          GuestProbe& g = *probes.at(sp);
          Probe r = g.read32(pg);
          bool readable = st.mapped && st.perms != 0;  // X implies R on KVM
          bool writable = st.mapped && (st.perms & HV_MEMORY_WRITE);
          ASSERT_EQ(r.ok(), readable) << "space " << sp << " gpa " << std::hex << pg << std::dec << " perms "
                                      << int(st.perms) << ": " << to_string(r) << "\n" << fail_context();
          if (readable) {
            ASSERT_EQ(r.value, bufs[st.buf]->word(st.page)) << "guest sees other bytes than the host\n"
                                                            << fail_context();
          } else {
            ASSERT_EQ(r.kind, Probe::ReadFault) << fail_context();
            ASSERT_EQ(r.gpa, pg);
          }
          uint32_t v = static_cast<uint32_t>(rng());
          Probe w = g.write32(pg, v);
          ASSERT_EQ(w.ok(), writable) << "space " << sp << " gpa " << std::hex << pg << std::dec << "\n"
                                      << fail_context();
          if (writable) {
            ASSERT_EQ(bufs[st.buf]->word(st.page), v) << "guest write did not reach host memory\n" << fail_context();
          } else if (st.mapped) {
            ASSERT_NE(bufs[st.buf]->word(st.page), v) << "a blocked write reached memory\n" << fail_context();
          }
        }
        touched.clear();
      }
    }
    guest = std::move(probes[0]);
  }
};

TEST_F(MemoryModel, RandomSequencesMatchTheModel) {
  uint64_t seed = env_u64("HVSHIM_MODEL_SEED", 0x5eed);
  uint64_t steps = env_u64("HVSHIM_MODEL_STEPS", 2000);
  Run(seed, steps);
}

}  // namespace
}  // namespace hvtest
