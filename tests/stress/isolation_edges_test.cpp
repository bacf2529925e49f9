// The edges of every mapping hold: for mappings of several sizes, places
// (inside one 2 MiB chunk, across 2 MiB boundaries, split into several
// memslots by a protect) and permissions, the guest reaches the first and
// last word inside and nothing in the page before or after, 8-byte accesses
// across either edge fault, and the host pages around the mapping (guards
// holding canaries) are never read or written.
#include <vector>

#include "isolation_fixture.h"

namespace stress {
namespace {

struct Shape {
  const char* name;
  uint64_t gpa;
  size_t pages;
  uint64_t perms;
  long split_at = -1;  // page made read-only to cut the mapping into slots
};

class IsolationEdgesTest : public IsolationTest {
 protected:
  // Checks the edges of [gpa, gpa + pages) given that the host memory
  // behind it is `m`. `slot_edges` lists inner page boundaries where the
  // memslot layout changes.
  void check_edges(const Shape& s, GuardedMem& m) {
    SCOPED_TRACE(s.name);
    const uint64_t end = s.gpa + s.pages * kPage;
    expect_reads(s.gpa, m.word(0), "first word");
    expect_reads(end - 8, m.word(s.pages - 1, kPage - 8), "last word");
    expect_no_access(s.gpa - kPage, nullptr, "page before");
    expect_no_access(s.gpa - 8, nullptr, "last word before");
    expect_no_access(end, nullptr, "page after");
    expect_no_access(end + kPage - 8, nullptr, "last word of the page after");
    // Straddling stores only where one side is writable (see
    // expect_straddle_blocked); reads across every edge.
    const bool writable = s.perms & HV_MEMORY_WRITE;
    expect_straddle_blocked(s.gpa, nullptr, nullptr, "across the lower edge", writable);
    expect_straddle_blocked(end, nullptr, nullptr, "across the upper edge", writable);
    if (s.perms & HV_MEMORY_WRITE) {
      EXPECT_TRUE(g->write64(s.gpa, 0x600d0001).ok());
      EXPECT_TRUE(g->write64(end - 8, 0x600d0002).ok());
      EXPECT_EQ(m.word(0), 0x600d0001u);
      EXPECT_EQ(m.word(s.pages - 1, kPage - 8), 0x600d0002u);
    } else {
      const uint64_t first = m.word(0), last = m.word(s.pages - 1, kPage - 8);
      EXPECT_TRUE(g->write64(s.gpa, kAttack).fault());
      EXPECT_TRUE(g->write64(end - 8, kAttack).fault());
      EXPECT_EQ(m.word(0), first);
      EXPECT_EQ(m.word(s.pages - 1, kPage - 8), last);
    }
    if (s.perms & HV_MEMORY_EXEC) {
      EXPECT_TRUE(g->exec(s.gpa + 0x800).ok()) << "exec in the first page";
      EXPECT_TRUE(g->exec(end - kPage + 0x800).ok()) << "exec in the last page";
    }
    if (s.split_at >= 0) {
      // Inside the mapping the read-only page is readable across both of
      // its edges; a write into it does not land.
      const uint64_t ro = s.gpa + s.split_at * kPage;
      const uint64_t v = m.word(s.split_at);
      EXPECT_TRUE(g->read64(ro - 4).ok());
      EXPECT_TRUE(g->read64(ro + kPage - 4).ok());
      EXPECT_TRUE(g->write64(ro, kAttack).fault());
      EXPECT_EQ(m.word(s.split_at), v);
      expect_control_probe();
    }
    EXPECT_EQ(m.guards_damage(), "");
  }
};

TEST_P(IsolationEdgesTest, EveryMappingShapeHasTightEdges) {
  const uint64_t k2M = 2ull << 20;
  const std::vector<Shape> shapes = {
      {"1 page", kWindow + 0x10000, 1, kRwx},
      {"2 pages", kWindow + 0x20000, 2, kRwx},
      {"3 pages read-only", kWindow + 0x30000, 3, HV_MEMORY_READ},
      {"3 pages read+exec", kWindow + 0x40000, 3, HV_MEMORY_READ | HV_MEMORY_EXEC},
      {"16 pages", kWindow + 0x50000, 16, kRwx},
      {"4 pages across a 2 MiB boundary", kWindow + k2M - 2 * kPage, 4, kRwx},
      {"600 pages across 4 MiB, split by a read-only page", kWindow + 2 * k2M - 300 * kPage, 600, kRwx, 299},
      {"520 pages from a 2 MiB boundary, split at 512", kWindow + 4 * k2M, 520, kRwx, 512},
  };
  std::vector<std::unique_ptr<GuardedMem>> mems;
  for (const Shape& s : shapes) {
    auto m = std::make_unique<GuardedMem>(s.pages, kind());
    ASSERT_TRUE(m->ok());
    for (size_t i = 0; i < s.pages; ++i) {
      m->set_word(i, 0xf1257000000ull + i);
      m->set_word(i, 0x1a57000000ull + i, kPage - 8);
      place_exec_stub(m->page(i) + 0x800);
    }
    ASSERT_EQ(hv_vm_map(m->data(), s.gpa, m->size(), s.perms), HV_SUCCESS) << s.name;
    if (s.split_at >= 0) {
      ASSERT_EQ(hv_vm_protect(s.gpa + s.split_at * kPage, kPage, HV_MEMORY_READ), HV_SUCCESS);
    }
    mems.push_back(std::move(m));
  }
  // Checked once all are mapped (their slots neighbour each other in KVM)
  // and again after every other mapping is gone.
  for (size_t i = 0; i < shapes.size(); ++i) check_edges(shapes[i], *mems[i]);
  for (size_t i = 0; i < shapes.size(); i += 2) ASSERT_EQ(hv_vm_unmap(shapes[i].gpa, mems[i]->size()), HV_SUCCESS);
  for (size_t i = 1; i < shapes.size(); i += 2) check_edges(shapes[i], *mems[i]);
  for (size_t i = 0; i < shapes.size(); i += 2)
    for (uint64_t gpa : {shapes[i].gpa, shapes[i].gpa + mems[i]->size() - 8})
      expect_no_access(gpa, mems[i]->data() + (gpa - shapes[i].gpa), std::string(shapes[i].name) + " unmapped");
}

// Two neighbouring guest pages backed by unrelated host pages: an access
// across the boundary touches the two host pages the guest was given, never
// the host memory that follows the first one.
TEST_P(IsolationEdgesTest, AccessAcrossNeighbouringMappingsUsesTheirOwnHostPages) {
  GuardedMem a(1, kind()), b(1, kind());
  a.set_word(0, 0xaaaaaaaa00000000ull, kPage - 8);
  b.set_word(0, 0x00000000bbbbbbbbull);
  ASSERT_EQ(hv_vm_map(a.data(), kWindow, kPage, kRwx), HV_SUCCESS);
  ASSERT_EQ(hv_vm_map(b.data(), kWindow + kPage, kPage, kRwx), HV_SUCCESS);
  expect_reads(kWindow + kPage - 4, 0xbbbbbbbbaaaaaaaaull, "across the two mappings");
  EXPECT_TRUE(g->write64(kWindow + kPage - 4, 0x2222222211111111ull).ok());
  EXPECT_EQ(a.word(0, kPage - 8) >> 32, 0x11111111u);
  EXPECT_EQ(b.word(0) & 0xffffffffu, 0x22222222u);
  // The same with the second page read-only: the write must not reach it.
  ASSERT_EQ(hv_vm_protect(kWindow + kPage, kPage, HV_MEMORY_READ), HV_SUCCESS);
  const uint64_t b0 = b.word(0);
  EXPECT_TRUE(g->read64(kWindow + kPage - 4).ok());
  EXPECT_TRUE(g->write64(kWindow + kPage - 4, kAttack).fault());
  EXPECT_EQ(b.word(0), b0);
  expect_control_probe();
  EXPECT_EQ(a.guards_damage(), "");
  EXPECT_EQ(b.guards_damage(), "");
}

STRESS_BOTH_HOST_KINDS(IsolationEdgesTest);

}  // namespace
}  // namespace stress
