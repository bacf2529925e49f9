// Error paths release what they took. Every KVM ioctl a create call issues
// is made to fail in turn (the kvm layer's fault-injection seam), at its
// first, second and third use: hv_vm_create, hv_vcpu_create,
// hv_vm_space_create and hv_vcpu_set_space into a new space must then
// either fail cleanly or succeed, and once the successful ones are undone
// the process must hold exactly the fds and file/KVM mappings it held
// before, and the next normal call must work.
#include <cerrno>

#include "kvm/fault_injection.h"
#include "growth_check.h"
#include "vm_fixture.h"

namespace stress {
namespace {

namespace fi = hvshim::kvm::fault_injection;

const char* const kIoctls[] = {
    "KVM_GET_API_VERSION", "KVM_CHECK_EXTENSION", "KVM_GET_SUPPORTED_CPUID", "KVM_CREATE_VM",
    "KVM_ENABLE_CAP",      "KVM_GET_VCPU_MMAP_SIZE", "KVM_CREATE_VCPU",     "KVM_SET_CPUID2",
    "KVM_SET_SIGNAL_MASK", "KVM_GET_REGS",           "KVM_GET_SREGS",       "KVM_GET_VCPU_EVENTS",
    "KVM_GET_DEBUGREGS",   "KVM_X86_SET_MSR_FILTER", "KVM_GET_XSAVE",       "KVM_SET_XSAVE",
    "KVM_GET_MSRS",        "KVM_SET_MSRS",           "KVM_GET_MSR_INDEX_LIST", "KVM_SET_USER_MEMORY_REGION",
    "UFFDIO_API",          "UFFDIO_REGISTER",
};

struct Held {
  long fds, named_maps;
  bool operator==(const Held&) const = default;
};
Held held() {
  Usage u = sample_usage();
  return {u.fds, u.named_maps};
}

class LeakErrorPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!testsupport::kvm_usable(&why)) GTEST_SKIP() << why;
  }
  void TearDown() override { fi::disarm(); }
  // Runs `attempt(arm)` with `name` failing at its (skip+1)-th use after
  // the attempt calls arm() (right before the call under test), for every
  // name and skip; `attempt` returns whether the call succeeded and undoes
  // it if so. `steady` brings the process to the state compared each time.
  template <class Attempt, class Steady>
  void each_failure(const char* what, Attempt attempt, Steady steady) {
    steady();
    const Held base = held();
    int failed = 0, tried = 0;
    for (const char* name : kIoctls)
      for (int skip = 0; skip < 3; ++skip) {
        SCOPED_TRACE(std::string(what) + " with " + name + " failing at use " + std::to_string(skip + 1));
        const bool ok = attempt([&] { fi::arm(name, ENOMEM, skip); });
        fi::disarm();
        ++tried;
        failed += !ok;
        steady();
        EXPECT_EQ(held(), base) << "fds " << held().fds << " (was " << base.fds << "), file/KVM maps "
                                << held().named_maps << " (was " << base.named_maps << ")\n"
                                << new_lines({}, kvm_maps(getpid()));
        if (HasFailure()) return;
      }
    printf("[ measure  ] %s: %d injected failures, %d made the call fail\n", what, tried, failed);
    EXPECT_GT(failed, 0) << "no injected failure reached " << what;
  }
};

TEST_F(LeakErrorPathTest, VmCreate) {
  each_failure(
      "hv_vm_create",
      [](auto arm) {
        arm();
        if (hv_vm_create(HV_VM_DEFAULT) != HV_SUCCESS) return false;
        EXPECT_EQ(hv_vm_destroy(), HV_SUCCESS);
        return true;
      },
      [] {});
  ASSERT_EQ(hv_vm_create(HV_VM_DEFAULT), HV_SUCCESS) << "a VM after all those failures";
  EXPECT_EQ(hv_vm_destroy(), HV_SUCCESS);
}

TEST_F(LeakErrorPathTest, VcpuCreateAndSpaces) {
  ASSERT_EQ(hv_vm_create(HV_VM_DEFAULT), HV_SUCCESS);
  SysImage sys;
  ASSERT_EQ(sys.map_into(HV_VM_SPACE_DEFAULT), HV_SUCCESS);
  each_failure(
      "hv_vcpu_create",
      [](auto arm) {
        hv_vcpuid_t id;
        arm();
        if (hv_vcpu_create(&id, HV_VCPU_DEFAULT) != HV_SUCCESS) return false;
        EXPECT_EQ(hv_vcpu_destroy(id), HV_SUCCESS);
        return true;
      },
      [] {});
  each_failure(
      "hv_vm_space_create",
      [&](auto arm) {
        hv_vm_space_t s;
        arm();
        if (hv_vm_space_create(&s) != HV_SUCCESS) return false;
        EXPECT_EQ(hv_vm_space_destroy(s), HV_SUCCESS);
        return true;
      },
      [] {});
  std::string err;
  auto g = LongModeGuest::create(&err);
  ASSERT_NE(g, nullptr) << err;
  // The vCPU keeps a KVM vCPU for the last destroyed space it visited until
  // its next set_space: the steady state is "just visited one and left".
  auto visit_fresh_space = [&] {
    hv_vm_space_t s;
    ASSERT_EQ(hv_vm_space_create(&s), HV_SUCCESS);
    ASSERT_EQ(sys.map_into(s), HV_SUCCESS);
    ASSERT_EQ(hv_vcpu_set_space(g->id(), s), HV_SUCCESS) << hvshim::last_error_cstr();
    ASSERT_TRUE(g->read64(0x7010).ok());
    ASSERT_EQ(hv_vcpu_set_space(g->id(), HV_VM_SPACE_DEFAULT), HV_SUCCESS);
    ASSERT_EQ(hv_vm_space_destroy(s), HV_SUCCESS);
  };
  each_failure(
      "hv_vcpu_set_space",
      [&](auto arm) {
        hv_vm_space_t s;
        EXPECT_EQ(hv_vm_space_create(&s), HV_SUCCESS);
        EXPECT_EQ(sys.map_into(s), HV_SUCCESS);
        arm();
        const bool ok = hv_vcpu_set_space(g->id(), s) == HV_SUCCESS;
        fi::disarm();
        if (ok) {
          EXPECT_TRUE(g->read64(0x7010).ok()) << "the vCPU works in the new space";
          EXPECT_EQ(hv_vcpu_set_space(g->id(), HV_VM_SPACE_DEFAULT), HV_SUCCESS);
        }
        EXPECT_TRUE(g->read64(0x7010).ok()) << "the vCPU works after the attempt";
        EXPECT_EQ(hv_vm_space_destroy(s), HV_SUCCESS) << hvshim::last_error_cstr();
        return ok;
      },
      visit_fresh_space);
  g.reset();
  EXPECT_EQ(hv_vm_destroy(), HV_SUCCESS);
}

}  // namespace
}  // namespace stress
