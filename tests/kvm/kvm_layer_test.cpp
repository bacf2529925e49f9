// The KVM layer's wrappers against the real /dev/kvm: every wrapper whose
// ioctl number depends on a struct size is exercised here (under C++ the
// uapi header's flexible arrays make naive numbers wrong).
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "kvm/fault_injection.h"
#include "kvm/system.h"
#include "kvm/vcpu.h"
#include "kvm/vm.h"

namespace hvshim::kvm {
namespace {

class KvmLayer : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = System::open();
    if (!s) GTEST_SKIP() << "/dev/kvm unusable: " << s.error().describe();
    sys.emplace(std::move(*s));
  }
  std::optional<System> sys;
};

TEST_F(KvmLayer, CpuidMsrsXsaveAndSignalMaskRoundTrip) {
  auto cpuid = sys->supported_cpuid();
  ASSERT_TRUE(cpuid) << cpuid.error().describe();
  EXPECT_GT(cpuid->size(), 4u);
  auto msrs = sys->msr_index_list();
  ASSERT_TRUE(msrs) << msrs.error().describe();
  EXPECT_FALSE(msrs->empty());
  auto vm = Vm::create(*sys);
  ASSERT_TRUE(vm);
  auto vcpu = vm->create_vcpu(*sys, 0);
  ASSERT_TRUE(vcpu) << vcpu.error().describe();
  auto st = vcpu->set_cpuid(*cpuid);
  ASSERT_TRUE(st) << st.error().describe();
  st = vcpu->set_msr(0x174, 0x10);  // IA32_SYSENTER_CS
  ASSERT_TRUE(st) << st.error().describe();
  auto v = vcpu->get_msr(0x174);
  ASSERT_TRUE(v) << v.error().describe();
  EXPECT_EQ(*v, 0x10u);
  auto xs = vcpu->get_xsave();
  ASSERT_TRUE(xs) << xs.error().describe();
  st = vcpu->set_xsave(*xs);
  EXPECT_TRUE(st) << st.error().describe();
  sigset_t none;
  sigemptyset(&none);
  st = vcpu->set_signal_mask(&none, 8);
  EXPECT_TRUE(st) << st.error().describe();
}

TEST_F(KvmLayer, MemslotErrorsCarryErrnoAndInjectionHitsTheNamedIoctl) {
  auto vm = Vm::create(*sys);
  ASSERT_TRUE(vm);
  auto st = vm->set_memslot({0, 0x1001, 4096, 0, false});  // unaligned gpa
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().err, EINVAL);
  EXPECT_STREQ(st.error().op, "KVM_SET_USER_MEMORY_REGION");
  fault_injection::arm("KVM_SET_USER_MEMORY_REGION", ENOMEM, 1);
  static char page[4096] __attribute__((aligned(4096)));
  EXPECT_TRUE(vm->set_memslot({0, 0, 4096, reinterpret_cast<uint64_t>(page), false}));
  st = vm->set_memslot({1, 0x2000, 4096, reinterpret_cast<uint64_t>(page), false});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().err, ENOMEM);
  EXPECT_TRUE(vm->set_memslot({1, 0x2000, 4096, reinterpret_cast<uint64_t>(page), false})) << "one-shot";
  fault_injection::disarm();
}

TEST(KvmSystem, MissingDeviceIsAnErrorValue) {
  auto s = System::open("/nonexistent/kvm");
  if (getenv("HVSHIM_KVM_DEVICE")) GTEST_SKIP() << "HVSHIM_KVM_DEVICE overrides the path";
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().err, ENOENT);
}

}  // namespace
}  // namespace hvshim::kvm

namespace hvshim::kvm {
namespace {

TEST_F(KvmLayer, SupportedCpuidEntriesAreReadAtTheRightOffsets) {
  auto cpuid = sys->supported_cpuid();
  ASSERT_TRUE(cpuid);
  bool leaf0 = false, ext = false;
  for (const auto& e : *cpuid) {
    if (e.function == 0) leaf0 = e.eax >= 1;  // max basic leaf
    if (e.function == 0x80000000u) ext = true;
  }
  EXPECT_TRUE(leaf0);
  EXPECT_TRUE(ext);
}

}  // namespace
}  // namespace hvshim::kvm
