// Shared helpers for the vCPU tests: skip cleanly without /dev/kvm, a VM
// with 1 MiB of guest RAM at GPA 0, one vCPU owned by the test thread, and
// small real-mode programs placed at 0x1000.
#pragma once

#include <Hypervisor/hv.h>
#include <Hypervisor/hv_vmx.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include "common/last_error.h"
#include "support/kvm_test_support.h"

namespace vcputest {

using testsupport::HostMem;
using testsupport::kvm_usable;

inline uint64_t cap2ctrl(uint64_t cap, uint64_t ctrl) { return (ctrl | (cap & 0xffffffff)) & (cap >> 32); }

constexpr uint64_t kCodeGpa = 0x1000;

class VcpuTest : public ::testing::Test {
 protected:
  explicit VcpuTest(HostMem::Kind kind = HostMem::kDefault) : ram(1 << 20, kind) {}
  void SetUp() override {
    std::string why;
    if (!kvm_usable(&why)) GTEST_SKIP() << why;
    ASSERT_EQ(hv_vm_create(HV_VM_DEFAULT), HV_SUCCESS);
    vm_ = true;
    if (map_ram_) {
      ASSERT_EQ(hv_vm_map(ram.data(), 0, ram.size(), HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC), HV_SUCCESS);
    }
    ASSERT_EQ(hv_vcpu_create(&vcpu, HV_VCPU_DEFAULT), HV_SUCCESS) << hvshim::last_error_cstr();
    have_vcpu_ = true;
  }
  void TearDown() override {
    if (have_vcpu_) {
      EXPECT_EQ(hv_vcpu_destroy(vcpu), HV_SUCCESS);
    }
    if (vm_) {
      EXPECT_EQ(hv_vm_destroy(), HV_SUCCESS);
    }
  }

  // Real-mode program at 0x1000 (CS=0), stack at 0x8000, HLT exiting on.
  void load(std::initializer_list<uint8_t> code, uint64_t at = kCodeGpa) {
    std::vector<uint8_t> c(code);
    memcpy(ram.data() + at, c.data(), c.size());
    ASSERT_EQ(hv_vcpu_write_register(vcpu, HV_X86_RIP, at), HV_SUCCESS);
    ASSERT_EQ(hv_vcpu_write_register(vcpu, HV_X86_RFLAGS, 2), HV_SUCCESS);
    ASSERT_EQ(hv_vcpu_write_register(vcpu, HV_X86_RSP, 0x8000), HV_SUCCESS);
    uint64_t cpu = 0;
    ASSERT_EQ(hv_vmx_vcpu_read_vmcs(vcpu, VMCS_CTRL_CPU_BASED, &cpu), HV_SUCCESS);
    ASSERT_EQ(hv_vmx_vcpu_write_vmcs(vcpu, VMCS_CTRL_CPU_BASED, cpu | CPU_BASED_HLT), HV_SUCCESS);
  }

  uint64_t vmcs(uint32_t f) {
    uint64_t v = ~0ull;
    EXPECT_EQ(hv_vmx_vcpu_read_vmcs(vcpu, f, &v), HV_SUCCESS) << std::hex << f;
    return v;
  }
  uint64_t reg(hv_x86_reg_t r) {
    uint64_t v = ~0ull;
    EXPECT_EQ(hv_vcpu_read_register(vcpu, r, &v), HV_SUCCESS);
    return v;
  }
  void set(hv_x86_reg_t r, uint64_t v) { ASSERT_EQ(hv_vcpu_write_register(vcpu, r, v), HV_SUCCESS); }
  void setv(uint32_t f, uint64_t v) { ASSERT_EQ(hv_vmx_vcpu_write_vmcs(vcpu, f, v), HV_SUCCESS) << std::hex << f; }
  // Runs once and returns the exit reason.
  uint64_t run() {
    EXPECT_EQ(hv_vcpu_run(vcpu), HV_SUCCESS) << hvshim::last_error_cstr();
    return vmcs(VMCS_RO_EXIT_REASON);
  }
  void skip_insn() { set(HV_X86_RIP, reg(HV_X86_RIP) + vmcs(VMCS_RO_VMEXIT_INSTR_LEN)); }

  HostMem ram;
  hv_vcpuid_t vcpu = 0;
  bool map_ram_ = true;
  bool vm_ = false;
  bool have_vcpu_ = false;
};

}  // namespace vcputest
