// XNU's tests/vm/mach_vm_map.c, in our words: memory entries made over an
// unaligned range of a scratch area whose 32-bit words count up, mapped
// (copy = TRUE) at every offset/size of a list of unaligned ranges, with and
// without VM_FLAGS_RETURN_DATA_ADDR. Expected codes, entry sizes, returned
// address offsets, region bases and sizes and the words seen are computed
// the way that test computes them; its 16 KiB constants stay 16 KiB.
#include "machvm/vm_test_util.h"

using namespace vmtest;

namespace {

constexpr uint64_t k16 = 16 << 10;

struct Range {
  uint64_t start, end;
};

// The test's forty ranges: twenty around the first two pages, and the same
// twenty with 16 KiB added to their ends.
std::vector<Range> ranges() {
  const uint64_t P = page();
  const Range base[] = {{0, 64},         {0, 128},       {0, 256},          {0, P},          {0, P + 64},
                        {0, 2 * P - 64}, {0, 2 * P},     {64, P},           {64, P + 64},    {64, 2 * P - 64},
                        {64, 2 * P},     {P - 64, P},    {P - 64, P + 64},  {P - 64, 2 * P - 64},
                        {P - 64, 2 * P}, {P, P + 64},    {P, 2 * P - 64},   {P, 2 * P},      {P + 64, 2 * P - 64},
                        {P + 64, 2 * P}};
  std::vector<Range> v;
  for (uint64_t add : {uint64_t{0}, k16})
    for (const Range& r : base) v.push_back({r.start, r.end + add});
  return v;
}

struct Outcome {
  int cases = 0, failures_expected = 0;
};

// One case of the XNU test, with its expectations.
void map_case(uint64_t scratch, int mo_flags, int vmflags, uint64_t map_offset, uint64_t map_size, Outcome& out) {
  const uint64_t P = page(), M = page() - 1;
  const uint64_t mo_offset = k16 - 128, mo_size = k16 + 256;
  const bool rda = vmflags & VM_FLAGS_RETURN_DATA_ADDR;
  const bool data_addr = mo_flags & MAP_MEM_USE_DATA_ADDR;
  const bool whole = mo_flags & (MAP_MEM_VM_COPY | MAP_MEM_VM_SHARE);
  SCOPED_TRACE(::testing::Message() << "mo_flags " << std::hex << mo_flags << " rda " << rda << " ["
                                    << map_offset << ", +" << map_size << ")");
  memory_object_size_t size = mo_size;
  mach_port_t port = MACH_PORT_NULL;
  ASSERT_KR(KERN_SUCCESS, mach_make_memory_entry_64(mach_task_self(), &size, scratch + mo_offset,
                                                    VM_PROT_DEFAULT | mo_flags, &port, MACH_PORT_NULL));
  if (data_addr)
    EXPECT_EQ(size, (mo_offset & M) + mo_size);
  else
    EXPECT_EQ(size, mach_vm_round_page((mo_offset & M) + mo_size));

  const uint64_t used = rda ? map_offset + (data_addr ? mo_offset : 0) : 0;
  bool should_fail = mach_vm_round_page(used + map_size) > mach_vm_round_page(mo_offset + mo_size);
  if ((map_offset & M) && !rda && !whole) should_fail = true;
  out.failures_expected += should_fail;
  ++out.cases;

  mach_vm_address_t addr = 0;
  kern_return_t kr = mach_vm_map(mach_task_self(), &addr, map_size, 0,
                                 static_cast<int>(VM_MAKE_TAG(VM_MEMORY_SCENEKIT)) | vmflags, port, map_offset, TRUE,
                                 VM_PROT_DEFAULT, VM_PROT_DEFAULT, VM_INHERIT_DEFAULT);
  EXPECT_KR(should_fail ? KERN_INVALID_ARGUMENT : KERN_SUCCESS, kr);
  if (kr == KERN_SUCCESS) {
    if (rda)
      EXPECT_EQ(addr & M, used & M) << "returned address keeps the offset";
    else
      EXPECT_EQ(addr & M, 0u) << "returned address is page aligned";
    mach_vm_address_t r = addr;
    mach_vm_size_t rs = 0;
    kern_return_t rkr = KERN_FAILURE;
    auto info = basic_info(r, rs, &rkr);
    (void)info;
    EXPECT_KR(KERN_SUCCESS, rkr);
    const uint64_t want_size = whole ? mach_vm_round_page(mo_offset + mo_size) - mach_vm_trunc_page(mo_offset)
                                     : mach_vm_round_page(used + map_size) - mach_vm_trunc_page(used);
    uint32_t want_word;
    if (whole)
      want_word = static_cast<uint32_t>(mach_vm_trunc_page(mo_offset) / 4);
    else if (data_addr)
      want_word = static_cast<uint32_t>(mach_vm_trunc_page(map_offset + mo_offset) / 4);
    else
      want_word = static_cast<uint32_t>((mach_vm_trunc_page(map_offset) + mach_vm_trunc_page(mo_offset)) / 4);
    EXPECT_EQ(r, mach_vm_trunc_page(addr)) << "region base";
    EXPECT_EQ(rs, want_size) << "region size";
    for (uint64_t off = 4; off < rs; off += P)
      EXPECT_EQ(*reinterpret_cast<uint32_t*>(r + off), want_word + off / 4) << "word at +" << off;
    EXPECT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), r, rs));
  }
  EXPECT_KR(KERN_SUCCESS, mach_port_deallocate(mach_task_self(), port));
}

TEST(UnalignedEntryMap, EveryEntryKindRangeAndDataAddrFlag) {
  // A 64 KiB-aligned scratch area of 3 x 16 KiB whose words are 0, 1, 2, ...
  mach_vm_address_t scratch = 0;
  const uint64_t scratch_size = 3 * k16;
  ASSERT_KR(KERN_SUCCESS, mach_vm_map(mach_task_self(), &scratch, scratch_size, (64 << 10) - 1, VM_FLAGS_ANYWHERE,
                                      MACH_PORT_NULL, 0, TRUE, VM_PROT_DEFAULT, VM_PROT_DEFAULT, VM_INHERIT_DEFAULT));
  EXPECT_EQ(scratch % (64 << 10), 0u);
  for (uint32_t i = 0; i < scratch_size / 4; ++i) reinterpret_cast<uint32_t*>(scratch)[i] = i;

  const int kinds[] = {0,
                       MAP_MEM_VM_COPY,
                       MAP_MEM_VM_SHARE,
                       MAP_MEM_USE_DATA_ADDR,
                       MAP_MEM_VM_COPY | MAP_MEM_USE_DATA_ADDR,
                       MAP_MEM_VM_SHARE | MAP_MEM_USE_DATA_ADDR};
  const auto rs = ranges();
  ASSERT_EQ(rs.size(), 40u) << "the XNU test's forty ranges";
  Outcome out;
  for (int vmflags : {VM_FLAGS_ANYWHERE, VM_FLAGS_ANYWHERE | VM_FLAGS_RETURN_DATA_ADDR})
    for (int kind : kinds)
      for (const Range& r : rs) map_case(scratch, kind, vmflags, r.start, r.end - r.start, out);
  EXPECT_EQ(out.cases, 480);
  // The refusals the matrix holds (unaligned offsets without
  // RETURN_DATA_ADDR, data-address entries mapped past their end): if this
  // count drifts, the matrix no longer tests both outcomes.
  EXPECT_GT(out.failures_expected, 0);
  EXPECT_LT(out.failures_expected, out.cases);
  EXPECT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), scratch, scratch_size));
}

// vm_map_enter_mem_object_overflow: offsets and sizes that overflow or
// round to 0 against an unaligned copy entry are refused.
TEST(UnalignedEntryMap, OverflowingOffsetsAndSizesAreInvalidArgument) {
  mach_vm_address_t a = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &a, 2 * k16, VM_FLAGS_ANYWHERE));
  memory_object_size_t es = k16;
  mach_port_t h = MACH_PORT_NULL;
  ASSERT_KR(KERN_SUCCESS, mach_make_memory_entry_64(mach_task_self(), &es, a + k16 / 2,
                                                    MAP_MEM_VM_COPY | MAP_MEM_USE_DATA_ADDR | VM_PROT_ALL, &h,
                                                    MACH_PORT_NULL));
  mach_vm_address_t t = 0;
  EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_map(mach_task_self(), &t, ~0ull, 0, VM_FLAGS_ANYWHERE, h, 0, TRUE,
                                               VM_PROT_ALL, VM_PROT_ALL, VM_INHERIT_DEFAULT));
  const int rda = VM_FLAGS_ANYWHERE | VM_FLAGS_RETURN_DATA_ADDR;
  for (uint64_t off : {~0ull, 0ull - (k16 + 1), 0ull - 2 * k16})
    EXPECT_KR(KERN_INVALID_ARGUMENT, mach_vm_map(mach_task_self(), &t, k16, 0, rda, h, off, TRUE, VM_PROT_ALL,
                                                 VM_PROT_ALL, VM_INHERIT_DEFAULT))
        << std::hex << off;
  mach_port_deallocate(mach_task_self(), h);
  mach_vm_deallocate(mach_task_self(), a, 2 * k16);
}

}  // namespace
