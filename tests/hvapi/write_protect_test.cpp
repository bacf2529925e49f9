// Write protection of shared host memory through userfaultfd (src/hvapi/wp):
// no memslot changes, no memslot budget, and the guest still cannot write a
// read-only page. The probe guest runs in 32-bit mode, which KVM emulates
// on PVM hosts: its writes are KVM's own, which the router stops by
// demoting the page (see fault_router.h).
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <set>

#include "fixture.h"
#include "hvapi/vm_instance.h"

namespace hvtest {
namespace {

constexpr uint64_t P = 4096;
constexpr hv_memory_flags_t RW = HV_MEMORY_READ | HV_MEMORY_WRITE;
constexpr hv_memory_flags_t RWX = RW | HV_MEMORY_EXEC;

size_t installed_slots() {
  std::lock_guard lk(hvshim::hv::vm_mutex());
  return hvshim::hv::current_vm()->space(0)->slots().count();
}

bool fast_path_available() {
  std::lock_guard lk(hvshim::hv::vm_mutex());
  return hvshim::hv::current_vm()->router() != nullptr;
}

class WriteProtectTest : public VmTest {
 protected:
  void SetUp() override {
    VmTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    // Without userfaultfd every protection goes through memslots, which the
    // rest of the suite covers; this file is about the other path.
    if (!fast_path_available())
      GTEST_SKIP() << "userfaultfd write protection unavailable here (see hvshim-info); memslot path only";
  }
};

TEST_F(WriteProtectTest, ReadOnlyPageStopsGuestWritesWithoutMemslotChanges) {
  HostMem m(16 * P, HostMem::kShared);
  for (int i = 0; i < 16; ++i) m.set_word(i, 0x600 + i);
  ASSERT_EQ(hv_vm_map(m.data(), 0x400000, 16 * P, RW), HV_SUCCESS);
  size_t slots = installed_slots();
  ASSERT_EQ(hv_vm_protect(0x400000 + 5 * P, P, HV_MEMORY_READ), HV_SUCCESS);
  EXPECT_EQ(installed_slots(), slots) << "a read-only page of shared memory needs no memslot of its own";
  Probe w = guest->write32(0x400000 + 5 * P, 0xbad);
  EXPECT_EQ(w.kind, Probe::WriteFault) << to_string(w);
  EXPECT_EQ(w.gpa, 0x400000 + 5 * P);
  EXPECT_EQ(m.word(5), 0x605u) << "the write must not land";
  // Reads still work and see what the host writes meanwhile.
  m.set_word(5, 0x777);
  Probe r = guest->read32(0x400000 + 5 * P);
  ASSERT_TRUE(r.ok()) << to_string(r);
  EXPECT_EQ(r.value, 0x777u);
  // Neighbours are untouched.
  EXPECT_EQ(sweep(*guest, 0x400000 + 3 * P, 5), "rw- rw- r-- rw- rw-");
  ASSERT_EQ(hv_vm_protect(0x400000 + 5 * P, P, RW), HV_SUCCESS);
  EXPECT_EQ(installed_slots(), slots);
  ASSERT_TRUE(guest->write32(0x400000 + 5 * P, 0x1234).ok());
  EXPECT_EQ(m.word(5), 0x1234u);
}

TEST_F(WriteProtectTest, ScatteredPagesBeyondTheMemslotBudget) {
  // More scattered read-only pages than KVM has memslots: the memslot path
  // runs out after ~16 k; this one never needs a slot for them.
  constexpr size_t kPages = 65536;  // 256 MiB
  HostMem m(kPages * P, HostMem::kShared);
  ASSERT_NE(m.data(), nullptr);
  ASSERT_EQ(hv_vm_map(m.data(), 0x10000000, kPages * P, RWX), HV_SUCCESS);
  std::mt19937_64 rng(7);
  std::set<uint64_t> ro;
  for (size_t i = 0; i < kPages; i += 2) ro.insert(i);  // every other page: no two neighbours alike
  // The first protect moves the mapping onto its alias (its slots are
  // rebuilt once, cut at 2 MiB); after that the slot count never changes.
  ASSERT_EQ(hv_vm_protect(0x10000000, P, HV_MEMORY_READ), HV_SUCCESS);
  size_t slots = installed_slots();
  EXPECT_LE(slots, kPages * P / (2 << 20) + 2);
  for (uint64_t pg : ro) ASSERT_EQ(hv_vm_protect(0x10000000 + pg * P, P, HV_MEMORY_READ), HV_SUCCESS) << pg;
  EXPECT_EQ(installed_slots(), slots);
  for (int k = 0; k < 12; ++k) {
    uint64_t pg = rng() % kPages;
    m.set_word(pg, static_cast<uint32_t>(pg));
    std::string want = ro.count(pg) ? "r--" : "rw-";
    EXPECT_EQ(guest->access(0x10000000 + pg * P), want) << "page " << pg;
    EXPECT_EQ(m.word(pg), static_cast<uint32_t>(pg));
  }
  // Unprotect everything again: all writable, still no slot churn.
  ASSERT_EQ(hv_vm_protect(0x10000000, kPages * P, RWX), HV_SUCCESS);
  EXPECT_EQ(installed_slots(), slots);
  for (uint64_t pg : {uint64_t(0), uint64_t(2), kPages - 2}) EXPECT_EQ(guest->access(0x10000000 + pg * P), "rw-");
}

TEST_F(WriteProtectTest, NoAccessAndBackUseMemslotsAndKeepBytes) {
  HostMem m(8 * P, HostMem::kShared);
  for (int i = 0; i < 8; ++i) m.set_word(i, 0x900 + i);
  ASSERT_EQ(hv_vm_map(m.data(), 0x400000, 8 * P, RW), HV_SUCCESS);
  ASSERT_EQ(hv_vm_protect(0x400000 + 2 * P, 2 * P, 0), HV_SUCCESS);
  EXPECT_EQ(sweep(*guest, 0x400000, 5), "rw- rw- --- --- rw-");
  ASSERT_EQ(hv_vm_protect(0x400000 + 2 * P, P, HV_MEMORY_READ), HV_SUCCESS);
  EXPECT_EQ(sweep(*guest, 0x400000, 5), "rw- rw- r-- --- rw-");
  ASSERT_EQ(hv_vm_protect(0x400000, 8 * P, RW), HV_SUCCESS);
  EXPECT_EQ(sweep(*guest, 0x400000, 8), repeat("rw-", 8));
  for (int i = 0; i < 8; ++i) EXPECT_EQ(m.word(i), 0x900u + i);
}

TEST_F(WriteProtectTest, MappedReadOnlyFromTheStart) {
  HostMem m(4 * P, HostMem::kShared);
  m.set_word(1, 0xabc);
  ASSERT_EQ(hv_vm_map(m.data(), 0x400000, 4 * P, HV_MEMORY_READ | HV_MEMORY_EXEC), HV_SUCCESS);
  EXPECT_EQ(sweep(*guest, 0x400000, 4), repeat("r--", 4));
  EXPECT_EQ(m.word(1), 0xabcu);
}

TEST_F(WriteProtectTest, PartialUnmapDropsOnlyThatPartOfTheAlias) {
  HostMem m(8 * P, HostMem::kShared), other(2 * P, HostMem::kPrivate);
  for (int i = 0; i < 8; ++i) m.set_word(i, 0x100 + i);
  other.set_word(0, 0xeee);
  other.set_word(1, 0xfff);
  ASSERT_EQ(hv_vm_map(m.data(), 0x400000, 8 * P, RW), HV_SUCCESS);
  ASSERT_EQ(hv_vm_protect(0x400000, 8 * P, HV_MEMORY_READ), HV_SUCCESS);
  ASSERT_EQ(hv_vm_unmap(0x400000 + 3 * P, 2 * P), HV_SUCCESS);
  ASSERT_EQ(hv_vm_map(other.data(), 0x400000 + 3 * P, 2 * P, RW), HV_SUCCESS);
  EXPECT_EQ(sweep(*guest, 0x400000, 8), "r-- r-- r-- rw- rw- r-- r-- r--");
  EXPECT_EQ(guest_words(*guest, 0x400000 + 2 * P, 4), (std::vector<uint32_t>{0x102, 0xeee, 0xfff, 0x105}));
  ASSERT_EQ(hv_vm_protect(0x400000 + 5 * P, 3 * P, RW), HV_SUCCESS);
  ASSERT_TRUE(guest->write32(0x400000 + 7 * P, 0x55).ok());
  EXPECT_EQ(m.word(7), 0x55u);
}

TEST_F(WriteProtectTest, ProtectAcrossTwoHostMappingsAndPrivateMemory) {
  // Adjacent guest pages backed by two shared buffers and a private one:
  // each shared run gets its own alias, the private page keeps memslots.
  HostMem a(4 * P, HostMem::kShared), b(4 * P, HostMem::kShared), c(4 * P, HostMem::kPrivate);
  for (int i = 0; i < 4; ++i) a.set_word(i, 0xa0 + i), b.set_word(i, 0xb0 + i), c.set_word(i, 0xc0 + i);
  ASSERT_EQ(hv_vm_map(a.data(), 0x400000, 4 * P, RW), HV_SUCCESS);
  ASSERT_EQ(hv_vm_map(b.data(), 0x404000, 4 * P, RW), HV_SUCCESS);
  ASSERT_EQ(hv_vm_map(c.data(), 0x408000, 4 * P, RW), HV_SUCCESS);
  ASSERT_EQ(hv_vm_protect(0x402000, 8 * P, HV_MEMORY_READ), HV_SUCCESS);
  EXPECT_EQ(sweep(*guest, 0x400000, 12), "rw- rw- r-- r-- r-- r-- r-- r-- r-- r-- rw- rw-");
  EXPECT_EQ(guest_words(*guest, 0x401000, 10),
            (std::vector<uint32_t>{0xa1, 0xa2, 0xa3, 0xb0, 0xb1, 0xb2, 0xb3, 0xc0, 0xc1, 0xc2}));
  {
    std::lock_guard lk(hvshim::hv::vm_mutex());
    auto pieces = hvshim::hv::current_vm()->space(0)->aliases().in(0x400000, 0x40c000);
    ASSERT_EQ(pieces.size(), 2u) << "one alias per shared host mapping, none for private memory";
    EXPECT_EQ(pieces[0].gpa, 0x400000u);
    EXPECT_EQ(pieces[1].gpa, 0x404000u);
  }
  ASSERT_EQ(hv_vm_protect(0x400000, 12 * P, RW), HV_SUCCESS);
  EXPECT_EQ(sweep(*guest, 0x400000, 12), repeat("rw-", 12));
}

TEST_F(WriteProtectTest, ForkChildSeesNoAliasAndParentStaysProtected) {
  HostMem m(4 * P, HostMem::kShared);
  m.set_word(0, 1);
  ASSERT_EQ(hv_vm_map(m.data(), 0x400000, 4 * P, HV_MEMORY_READ), HV_SUCCESS);
  size_t before = 0;
  {
    FILE* f = fopen("/proc/self/maps", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) ++before;
    if (f) fclose(f);
  }
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The child may create its own VM and use the same shared memory.
    int ok = hv_vm_create(HV_VM_DEFAULT) == HV_SUCCESS && hv_vm_map(m.data(), 0, 4 * P, RW) == HV_SUCCESS &&
             hv_vm_destroy() == HV_SUCCESS;
    _exit(ok ? 0 : 1);
  }
  int st = 0;
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  EXPECT_EQ(guest->access(0x400000), "r--");
  EXPECT_EQ(m.word(0), 1u);
}

}  // namespace
}  // namespace hvtest
