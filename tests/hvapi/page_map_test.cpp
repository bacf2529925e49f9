// The page map and memslot planner on their own, without KVM.
#include <gtest/gtest.h>

#include <random>

#include "hvapi/page_map.h"
#include "hvapi/slot_plan.h"

namespace hvshim::hv {
namespace {

constexpr uint64_t P = kPageSize;

TEST(PageMap, CoalescesOnlyWhenBothSidesAreContiguousWithEqualPerms) {
  PageMap m;
  m.insert({0, 2 * P, 0x10000, 3});
  m.insert({2 * P, P, 0x10000 + 2 * P, 3});  // joins
  m.insert({3 * P, P, 0x90000, 3});          // host not contiguous: separate
  m.insert({4 * P, P, 0x90000 + P, 1});      // perms differ: separate
  EXPECT_EQ(m.extent_count(), 3u);
  EXPECT_EQ(m.all()[0], (Extent{0, 3 * P, 0x10000, 3}));
  m.protect(4 * P, P, 3);
  EXPECT_EQ(m.extent_count(), 2u);
}

TEST(PageMap, EraseAndProtectSplitExactly) {
  PageMap m;
  m.insert({0, 8 * P, 0x100000, 7});
  m.erase(2 * P, 2 * P);
  m.protect(5 * P, P, 1);
  auto v = m.all();
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0], (Extent{0, 2 * P, 0x100000, 7}));
  EXPECT_EQ(v[1], (Extent{4 * P, P, 0x100000 + 4 * P, 7}));
  EXPECT_EQ(v[2], (Extent{5 * P, P, 0x100000 + 5 * P, 1}));
  EXPECT_EQ(v[3], (Extent{6 * P, 2 * P, 0x100000 + 6 * P, 7}));
  EXPECT_TRUE(m.is_fully_mapped(4 * P, 4 * P));
  EXPECT_FALSE(m.is_fully_mapped(P, 2 * P));
  EXPECT_TRUE(m.is_free(2 * P, 2 * P));
  EXPECT_FALSE(m.is_free(3 * P, 2 * P));
}

TEST(PageMap, RandomOperationsMatchAPerPageModel) {
  constexpr int N = 256;
  struct Page {
    bool mapped = false;
    uint64_t hva = 0;
    uint8_t perms = 0;
  };
  std::vector<Page> model(N);
  PageMap m;
  std::mt19937 rng(42);
  for (int step = 0; step < 5000; ++step) {
    int a = rng() % N, n = 1 + rng() % 16;
    if (a + n > N) n = N - a;
    uint64_t gpa = uint64_t(a) * P, size = uint64_t(n) * P;
    int op = rng() % 3;
    bool free = true, full = true;
    for (int i = a; i < a + n; ++i) (model[i].mapped ? free : full) = false;
    ASSERT_EQ(m.is_free(gpa, size), free);
    ASSERT_EQ(m.is_fully_mapped(gpa, size), full);
    if (op == 0 && free) {
      uint64_t hva = 0x10000000 + (rng() % 4) * 0x1000000 + gpa;
      uint8_t perms = rng() % 8;
      m.insert({gpa, size, hva, perms});
      for (int i = a; i < a + n; ++i) model[i] = {true, hva + uint64_t(i - a) * P, perms};
    } else if (op == 1 && full) {
      m.erase(gpa, size);
      for (int i = a; i < a + n; ++i) model[i] = {};
    } else if (op == 2 && full) {
      uint8_t perms = rng() % 8;
      m.protect(gpa, size, perms);
      for (int i = a; i < a + n; ++i) model[i].perms = perms;
    }
    // The map equals the model page by page and is maximally coalesced.
    for (int i = 0; i < N; ++i) {
      auto e = m.lookup(uint64_t(i) * P);
      ASSERT_EQ(e.has_value(), model[i].mapped) << "step " << step << " page " << i;
      if (e) {
        ASSERT_EQ(e->hva, model[i].hva);
        ASSERT_EQ(e->perms, model[i].perms);
      }
    }
    auto all = m.all();
    for (size_t i = 1; i < all.size(); ++i) {
      bool joinable = all[i - 1].end() == all[i].gpa && all[i - 1].hva + all[i - 1].size == all[i].hva &&
                      all[i - 1].perms == all[i].perms;
      ASSERT_FALSE(joinable) << "step " << step;
    }
  }
}

TEST(SlotPlan, ExecOnlyDifferencesShareOneSlotAndCostNothing) {
  std::vector<Extent> ext = {{0, 2 * P, 0x1000000, 3}, {2 * P, 2 * P, 0x1000000 + 2 * P, 7}};
  auto slots = compile_slots(ext);
  ASSERT_EQ(slots.size(), 1u);
  EXPECT_FALSE(slots[0].readonly);
  SlotDesc installed = slots[0];
  installed.id = 5;
  std::vector<Extent> after = {{0, 4 * P, 0x1000000, 7}};
  EXPECT_TRUE(plan_slots({installed}, after, true).empty());
}

TEST(SlotPlan, KindsFollowWhatKvmCanExpress) {
  EXPECT_EQ(slot_kind(0), SlotKind::absent);
  EXPECT_EQ(slot_kind(kPermRead), SlotKind::readonly);
  EXPECT_EQ(slot_kind(kPermExec), SlotKind::readonly);
  EXPECT_EQ(slot_kind(kPermRead | kPermExec), SlotKind::readonly);
  EXPECT_EQ(slot_kind(kPermWrite), SlotKind::readwrite);
  EXPECT_EQ(slot_kind(kPermAll), SlotKind::readwrite);
}

TEST(SlotPlan, SplitOfALargeSlotIsCutAtChunksAndKeepsUntouchedSlots) {
  const uint64_t G = 64 * kSlotChunk;  // 128 MiB
  SlotDesc big{0, G, 0x40000000, false, 0};
  // Write-protect one page in the middle.
  uint64_t pg = 40 * kSlotChunk + 5 * P;
  auto after = apply_protect({{0, G, 0x40000000, 3}}, pg, P, 1);
  SlotPlan p = plan_slots({big}, after, true);
  ASSERT_EQ(p.remove.size(), 1u);
  // 64 chunks, the 41st split in three.
  ASSERT_EQ(p.add.size(), 66u);
  for (const auto& s : p.add) EXPECT_LE(s.size, kSlotChunk);
  // The next single-page change touches only its own chunk.
  std::vector<SlotDesc> installed = p.add;
  for (size_t i = 0; i < installed.size(); ++i) installed[i].id = uint32_t(i);
  uint64_t pg2 = 3 * kSlotChunk;
  std::vector<SlotDesc> affected;
  for (const auto& s : installed)
    if (s.gpa < pg2 + P && s.end() > pg2) affected.push_back(s);
  ASSERT_EQ(affected.size(), 1u);
  auto after2 = apply_protect({{affected[0].gpa, affected[0].size, affected[0].hva, 3}}, pg2, P, 1);
  SlotPlan p2 = plan_slots(affected, after2, true);
  EXPECT_EQ(p2.remove.size(), 1u);
  EXPECT_EQ(p2.add.size(), 2u);
  // Without chunking (slot budget tight) the split keeps maximal pieces.
  SlotPlan p3 = plan_slots({big}, after, false);
  EXPECT_EQ(p3.add.size(), 3u);
}

TEST(SlotPlan, NoAccessPagesHaveNoSlot) {
  auto slots = compile_slots({{0, P, 0x1000, 3}, {P, P, 0x2000, 0}, {2 * P, P, 0x3000, 1}});
  ASSERT_EQ(slots.size(), 2u);
  EXPECT_EQ(slots[0].gpa, 0u);
  EXPECT_EQ(slots[1].gpa, 2 * P);
  EXPECT_TRUE(slots[1].readonly);
}

}  // namespace
}  // namespace hvshim::hv
