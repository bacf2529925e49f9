// Every rejected memory call returns the documented code and leaves what
// the guest sees exactly as it was.
#include <sys/mman.h>

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <unistd.h>

#include "fixture.h"
#include "hvapi/vm_instance.h"
#include "kvm/fault_injection.h"

namespace hvtest {
namespace {

constexpr uint64_t kBase = 0x400000;
constexpr uint64_t P = 4096;
constexpr hv_memory_flags_t RW = HV_MEMORY_READ | HV_MEMORY_WRITE;
constexpr hv_memory_flags_t RWX = RW | HV_MEMORY_EXEC;

class ErrorsTest : public VmTest {
 protected:
  explicit ErrorsTest(HostMem::Kind kind = HostMem::kDefault) : mem(8 * P, kind) {}
  // Maps 8 pages: 0-3 RW, 4-5 R, 6-7 RW, each page holding its index.
  void SetUpLayout() {
    for (int i = 0; i < 8; ++i) mem.set_word(i, 0x300 + i);
    ASSERT_EQ(hv_vm_map(mem.data(), kBase, 8 * P, RW), HV_SUCCESS);
    ASSERT_EQ(hv_vm_protect(kBase + 4 * P, 2 * P, HV_MEMORY_READ), HV_SUCCESS);
    ASSERT_EQ(sweep(*guest, kBase, 8), kLayout);
  }
  void ExpectLayoutUnchanged() {
    EXPECT_EQ(sweep(*guest, kBase, 8), kLayout);
    auto w = guest_words(*guest, kBase, 8);
    for (int i = 0; i < 8; ++i) EXPECT_EQ(w[i], 0x300u + i) << "page " << i;
  }
  const std::string kLayout = "rw- rw- rw- rw- r-- r-- rw- rw-";
  HostMem mem;
};

// Memslot budget tests: private memory, whose protection needs memslots
// (shared memory's does not; see write_protect_test.cpp).
class SlotBudgetTest : public ErrorsTest {
 protected:
  SlotBudgetTest() : ErrorsTest(HostMem::kPrivate) {}
};

TEST_F(ErrorsTest, MapOverAnyMappedPageIsRefused) {
  SetUpLayout();
  HostMem other(4 * P);
  for (int i = 0; i < 4; ++i) other.set_word(i, 0xbad);
  EXPECT_EQ(hv_vm_map(other.data(), kBase + 7 * P, 2 * P, RWX), HV_ERROR);  // tail overlap
  EXPECT_EQ(hv_vm_map(other.data(), kBase - P, 2 * P, RWX), HV_ERROR);      // head overlap
  EXPECT_EQ(hv_vm_map(other.data(), kBase + 2 * P, P, RWX), HV_ERROR);      // inside
  EXPECT_EQ(hv_vm_map(other.data(), kBase - P, 10 * P, RWX), HV_ERROR);     // covering
  ExpectLayoutUnchanged();
  EXPECT_EQ(guest->access(kBase - P), "---");
  EXPECT_EQ(guest->access(kBase + 8 * P), "---");
}

TEST_F(ErrorsTest, ProtectTouchingAHoleIsRefused) {
  SetUpLayout();
  EXPECT_EQ(hv_vm_protect(kBase + 6 * P, 4 * P, 0), HV_ERROR);
  EXPECT_EQ(hv_vm_protect(kBase - P, 3 * P, HV_MEMORY_READ), HV_ERROR);
  ExpectLayoutUnchanged();
}

// As Hypervisor.framework: QEMU's hvf memory listener unmaps every section
// it removes or cannot map (MMIO, ROM devices outside ROMD mode, RAM not
// page-aligned), never-mapped ones included, and asserts HV_SUCCESS.
TEST_F(ErrorsTest, UnmapOfNeverMappedPagesSucceedsAndUnmapsWhatIsMapped) {
  SetUpLayout();
  EXPECT_EQ(hv_vm_unmap(0x10000000, P), HV_SUCCESS);
  EXPECT_EQ(hv_vm_unmap(kBase + 8 * P, 16 * P), HV_SUCCESS);
  EXPECT_EQ(hv_vm_unmap(kBase - 4 * P, 4 * P), HV_SUCCESS);
  ExpectLayoutUnchanged();
  // Spanning a hole and mapped pages: the mapped ones go, nothing else changes.
  EXPECT_EQ(hv_vm_unmap(kBase - P, 2 * P), HV_SUCCESS);
  EXPECT_EQ(hv_vm_unmap(kBase + 6 * P, 4 * P), HV_SUCCESS);
  EXPECT_EQ(sweep(*guest, kBase, 8), "--- rw- rw- rw- r-- r-- --- ---");
  auto w = guest_words(*guest, kBase + P, 5);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(w[i], 0x301u + i) << "page " << i + 1;
  // And the pages can be mapped again.
  EXPECT_EQ(hv_vm_map(mem.data(), kBase, P, RW), HV_SUCCESS);
  EXPECT_EQ(sweep(*guest, kBase, 2), "rw- rw-");
}

TEST_F(ErrorsTest, BadArgumentsAreRejectedBeforeAnythingChanges) {
  SetUpLayout();
  HostMem other(4 * P);
  const void* h = other.data();
  const auto* hc = static_cast<const uint8_t*>(h);
  EXPECT_EQ(hv_vm_map(hc + 1, 0x800000, P, RW), HV_BAD_ARGUMENT);            // unaligned uva
  EXPECT_EQ(hv_vm_map(h, 0x800001, P, RW), HV_BAD_ARGUMENT);                 // unaligned gpa
  EXPECT_EQ(hv_vm_map(h, 0x800000, 100, RW), HV_BAD_ARGUMENT);               // unaligned size
  EXPECT_EQ(hv_vm_map(h, 0x800000, 0, RW), HV_BAD_ARGUMENT);                 // empty
  EXPECT_EQ(hv_vm_map(h, 0x800000, P, 8), HV_BAD_ARGUMENT);                  // unknown flag
  EXPECT_EQ(hv_vm_map(h, 0x800000, P, HV_MEMORY_MAXPROT), HV_BAD_ARGUMENT);  // not for x86 map
  EXPECT_EQ(hv_vm_map(nullptr, 0x800000, P, RW), HV_BAD_ARGUMENT);           // null uva
  EXPECT_EQ(hv_vm_map(h, ~0ull & ~(P - 1), 2 * P, RW), HV_BAD_ARGUMENT);     // wraps
  EXPECT_EQ(hv_vm_map(h, 1ull << 60, P, RW), HV_BAD_ARGUMENT);               // beyond MAXPHYADDR
  // A host range with a hole in it cannot be mapped.
  void* hole = mmap(nullptr, 3 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(hole, MAP_FAILED);
  munmap(static_cast<uint8_t*>(hole) + P, P);
  EXPECT_EQ(hv_vm_map(hole, 0x800000, 3 * P, RW), HV_BAD_ARGUMENT);
  munmap(hole, 3 * P);
  EXPECT_EQ(hv_vm_unmap(kBase + 1, P), HV_BAD_ARGUMENT);
  EXPECT_EQ(hv_vm_unmap(kBase, 0), HV_BAD_ARGUMENT);
  EXPECT_EQ(hv_vm_unmap(kBase, P + 1), HV_BAD_ARGUMENT);
  EXPECT_EQ(hv_vm_protect(kBase, P, 0x10), HV_BAD_ARGUMENT);
  EXPECT_EQ(hv_vm_protect(kBase + 2, P, RW), HV_BAD_ARGUMENT);
  EXPECT_EQ(hv_vm_protect(kBase, 0, RW), HV_BAD_ARGUMENT);
  EXPECT_EQ(guest->access(0x800000), "---");
  ExpectLayoutUnchanged();
}

TEST_F(ErrorsTest, KernelFailureMidUpdateRollsBack) {
  SetUpLayout();
  // The protect below deletes one slot and creates several; fail the
  // second create with ENOMEM, as the kernel could.
  hvshim::kvm::fault_injection::arm("KVM_SET_USER_MEMORY_REGION", ENOMEM, /*skip=*/2);
  EXPECT_EQ(hv_vm_protect(kBase + P, 2 * P, 0), HV_NO_RESOURCES);
  hvshim::kvm::fault_injection::disarm();
  ExpectLayoutUnchanged();
  hvshim::kvm::fault_injection::arm("KVM_SET_USER_MEMORY_REGION", EFAULT, /*skip=*/1);
  EXPECT_EQ(hv_vm_unmap(kBase + 3 * P, 2 * P), HV_ERROR);
  hvshim::kvm::fault_injection::disarm();
  ExpectLayoutUnchanged();
  HostMem other(P);
  hvshim::kvm::fault_injection::arm("KVM_SET_USER_MEMORY_REGION", ENOMEM, 0);
  EXPECT_EQ(hv_vm_map(other.data(), 0x900000, P, RW), HV_NO_RESOURCES);
  hvshim::kvm::fault_injection::disarm();
  EXPECT_EQ(guest->access(0x900000), "---");
  // The refused map left nothing behind: the same range maps fine now.
  EXPECT_EQ(hv_vm_map(other.data(), 0x900000, P, RW), HV_SUCCESS);
  ExpectLayoutUnchanged();
}

TEST_F(SlotBudgetTest, MemslotExhaustionIsNoResourcesAndKeepsEverything) {
  // Every other host page mapped to consecutive guest pages: nothing can
  // coalesce, so each page needs its own KVM memslot.
  SetUpLayout();
  uint64_t max_slots;
  {
    std::lock_guard lk(hvshim::hv::vm_mutex());
    max_slots = hvshim::hv::current_vm()->space(0)->slots().max_slots();
  }
  const size_t n = max_slots + 2;
  HostMem big(2 * n * P, HostMem::kPrivate);
  size_t mapped = 0;
  hv_return_t r = HV_SUCCESS;
  for (size_t i = 0; i < n; ++i) {
    big.set_word(2 * i, 0x70000000u + i);
    r = hv_vm_map(big.page(2 * i), 0x10000000 + i * P, P, RW);
    if (r != HV_SUCCESS) break;
    ++mapped;
  }
  EXPECT_EQ(r, HV_NO_RESOURCES);
  EXPECT_GT(mapped, max_slots - 8) << "slots used by the layout and probe are few";
  EXPECT_EQ(guest->access(0x10000000 + mapped * P), "---");
  for (size_t i : {size_t(0), mapped / 2, mapped - 1}) {
    Probe p = guest->read32(0x10000000 + i * P);
    ASSERT_TRUE(p.ok()) << to_string(p);
    EXPECT_EQ(p.value, 0x70000000u + i);
  }
  // A protect that needs more slots is refused too, nothing changed ...
  EXPECT_EQ(hv_vm_protect(kBase + P, P, HV_MEMORY_READ), HV_NO_RESOURCES);
  ExpectLayoutUnchanged();
  // ... while one that keeps the count works even with every id in use.
  EXPECT_EQ(hv_vm_protect(kBase + 6 * P, P, HV_MEMORY_READ), HV_SUCCESS);
  EXPECT_EQ(guest->access(kBase + 6 * P), "r--");
  EXPECT_EQ(guest->access(kBase + 7 * P), "rw-");
  // Freeing slots makes room again.
  ASSERT_EQ(hv_vm_unmap(0x10000000, 4 * P), HV_SUCCESS);
  EXPECT_EQ(hv_vm_protect(kBase + P, P, HV_MEMORY_READ), HV_SUCCESS);
  EXPECT_EQ(guest->access(kBase + P), "r--");
}

TEST(VmLifecycle, CallsWithoutVmAreDeniedAndSecondVmIsBusy) {
  std::string why;
  if (!kvm_usable(&why)) GTEST_SKIP() << why;
  HostMem m(P);
  hv_vm_space_t sp;
  EXPECT_EQ(hv_vm_map(m.data(), 0, P, RW), HV_DENIED);
  EXPECT_EQ(hv_vm_unmap(0, P), HV_DENIED);
  EXPECT_EQ(hv_vm_protect(0, P, RW), HV_DENIED);
  EXPECT_EQ(hv_vm_space_create(&sp), HV_DENIED);
  EXPECT_EQ(hv_vm_space_destroy(1), HV_DENIED);
  EXPECT_EQ(hv_vm_destroy(), HV_DENIED);
  ASSERT_EQ(hv_vm_create(HV_VM_DEFAULT), HV_SUCCESS);
  EXPECT_EQ(hv_vm_create(HV_VM_DEFAULT), HV_BUSY);
  EXPECT_EQ(hv_vm_map(m.data(), 0, P, RW), HV_SUCCESS) << "the first VM is still intact";
  EXPECT_EQ(hv_vm_destroy(), HV_SUCCESS);
  EXPECT_EQ(hv_vm_destroy(), HV_DENIED);
  // Options: mitigation bits are accepted, unknown bits are not.
  EXPECT_EQ(hv_vm_create(HV_VM_SPECIFY_MITIGATIONS | HV_VM_MITIGATION_A_ENABLE), HV_SUCCESS);
  EXPECT_EQ(hv_vm_destroy(), HV_SUCCESS);
  EXPECT_EQ(hv_vm_create(1ull << 40), HV_BAD_ARGUMENT);
  EXPECT_EQ(hv_vm_create(HV_VM_ACCEL_APIC), HV_UNSUPPORTED);
  // Create/destroy cycles leave no descriptors behind.
  int before = open("/dev/null", O_RDONLY);
  close(before);
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(hv_vm_create(HV_VM_DEFAULT), HV_SUCCESS);
    ASSERT_EQ(hv_vm_map(m.data(), 0, P, RW), HV_SUCCESS);
    ASSERT_EQ(hv_vm_space_create(&sp), HV_SUCCESS);
    ASSERT_EQ(hv_vm_destroy(), HV_SUCCESS);
  }
  int after = open("/dev/null", O_RDONLY);
  close(after);
  EXPECT_EQ(after, before);
}

TEST(VmLifecycle, MissingDeviceIsNoDevice) {
  setenv("HVSHIM_KVM_DEVICE", "/nonexistent/kvm", 1);
  EXPECT_EQ(hv_vm_create(HV_VM_DEFAULT), HV_NO_DEVICE);
  uint64_t v = 0;
  EXPECT_EQ(hv_capability(HV_CAP_VCPUMAX, &v), HV_NO_DEVICE);
  setenv("HVSHIM_KVM_DEVICE", "/dev/null", 1);  // exists, but is not KVM
  EXPECT_EQ(hv_vm_create(HV_VM_DEFAULT), HV_NO_DEVICE);
  unsetenv("HVSHIM_KVM_DEVICE");
  EXPECT_EQ(hv_vm_destroy(), HV_DENIED);
}

TEST(VmLifecycle, Capabilities) {
  std::string why;
  if (!kvm_usable(&why)) GTEST_SKIP() << why;
  uint64_t v = 0;
  EXPECT_EQ(hv_capability(HV_CAP_ADDRSPACEMAX, &v), HV_SUCCESS);
  EXPECT_EQ(v, 16u);
  EXPECT_EQ(hv_capability(HV_CAP_VCPUMAX, &v), HV_SUCCESS);
  EXPECT_GE(v, 1u);
  EXPECT_EQ(hv_capability(HV_CAP_VCPUMAX, nullptr), HV_BAD_ARGUMENT);
  EXPECT_EQ(hv_capability(7, &v), HV_BAD_ARGUMENT);
}

}  // namespace
}  // namespace hvtest

#include <hvshim/hvshim.h>

namespace hvtest {
namespace {

TEST(Extension, LastErrorNamesTheFailedCheck) {
  std::string why;
  if (!kvm_usable(&why)) GTEST_SKIP() << why;
  ASSERT_EQ(hv_vm_create(HV_VM_DEFAULT), HV_SUCCESS);
  HostMem m(4096);
  EXPECT_EQ(hv_vm_map(m.data(), 0x1001, 4096, HV_MEMORY_READ), HV_BAD_ARGUMENT);
  EXPECT_NE(std::string(hvshim_last_error()).find("multiples of 4096"), std::string::npos) << hvshim_last_error();
  ASSERT_EQ(hv_vm_map(m.data(), 0, 4096, HV_MEMORY_READ), HV_SUCCESS);
  EXPECT_EQ(hv_vm_map(m.data(), 0, 4096, HV_MEMORY_READ), HV_ERROR);
  EXPECT_NE(std::string(hvshim_last_error()).find("overlaps"), std::string::npos) << hvshim_last_error();
  EXPECT_EQ(hv_vm_destroy(), HV_SUCCESS);
  EXPECT_STREQ(hvshim_version(), "0.1.0");
}

}  // namespace
}  // namespace hvtest

#include "hvapi/vm_instance.h"

namespace hvtest {
namespace {

void set_slot_limit(uint32_t n) {
  std::lock_guard lk(hvshim::hv::vm_mutex());
  hvshim::hv::current_vm()->space(0)->set_slot_limit_for_testing(n);
}

size_t slot_count() {
  std::lock_guard lk(hvshim::hv::vm_mutex());
  return hvshim::hv::current_vm()->space(0)->slots().count();
}

TEST_F(SlotBudgetTest, OutOfSlotsAGrantStillTakesEffectThroughExits) {
  HostMem m(8 * P, HostMem::kPrivate);
  for (int i = 0; i < 8; ++i) m.set_word(i, 0x500 + i);
  ASSERT_EQ(hv_vm_map(m.data(), kBase, 8 * P, RW), HV_SUCCESS);
  ASSERT_EQ(hv_vm_protect(kBase, 8 * P, HV_MEMORY_READ), HV_SUCCESS);
  set_slot_limit(uint32_t(slot_count()));
  // Needs two more slots than are left: write-protecting is refused ...
  ASSERT_EQ(hv_vm_protect(kBase + 3 * P, P, 0), HV_NO_RESOURCES);
  EXPECT_EQ(guest->access(kBase + 3 * P), "r--");
  // ... but granting write succeeds; KVM keeps the page read-only and the
  // guest's writes are completed from the page map.
  ASSERT_EQ(hv_vm_protect(kBase + 3 * P, P, RW), HV_SUCCESS);
  unsigned before = guest->completed_accesses();
  ASSERT_TRUE(guest->write32(kBase + 3 * P + 4, 0xabc).ok());
  EXPECT_GT(guest->completed_accesses(), before) << "the write went through an exit";
  uint32_t v;
  memcpy(&v, m.page(3) + 4, 4);
  EXPECT_EQ(v, 0xabcu);
  EXPECT_EQ(sweep(*guest, kBase, 8), "r-- r-- r-- rw- r-- r-- r-- r--");
  // Once slots are available again, the next change there installs the
  // real layout and the writes no longer exit.
  set_slot_limit(32000);
  ASSERT_EQ(hv_vm_protect(kBase + 2 * P, P, HV_MEMORY_READ), HV_SUCCESS);
  before = guest->completed_accesses();
  ASSERT_TRUE(guest->write32(kBase + 3 * P + 4, 0xdef).ok());
  EXPECT_EQ(guest->completed_accesses(), before);
  EXPECT_EQ(sweep(*guest, kBase, 8), "r-- r-- r-- rw- r-- r-- r-- r--");
}

}  // namespace
}  // namespace hvtest

namespace hvtest {
namespace {

TEST_F(ErrorsTest, HighGuestAddressesWithinTheWidthWork) {
  // The guest's physical-address width comes from KVM's CPUID (48 bits on
  // current hosts), not a conservative 36-bit default.
  HostMem m(P);
  m.set_word(0, 0x64646464);
  EXPECT_EQ(hv_vm_map(m.data(), 64ull << 30, P, RW), HV_SUCCESS);
  EXPECT_EQ(hv_vm_map(m.data(), (1ull << 40), P, RW), HV_SUCCESS);
  EXPECT_EQ(hv_vm_unmap(64ull << 30, P), HV_SUCCESS);
  EXPECT_EQ(hv_vm_unmap(1ull << 40, P), HV_SUCCESS);
}

}  // namespace
}  // namespace hvtest
