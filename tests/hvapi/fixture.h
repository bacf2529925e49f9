// Shared fixture for tests that need a VM: skips with the reason when
// /dev/kvm is unusable, creates the VM and a probe guest, destroys both.
#pragma once

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstring>
#include <memory>

#include "guest_probe.h"

namespace hvtest {

// Page-aligned private anonymous memory, as a VMM would valloc it.
class HostMem {
 public:
  explicit HostMem(size_t size) : size_(size) {
    p_ = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p_ == MAP_FAILED) p_ = nullptr;
  }
  ~HostMem() {
    if (p_) munmap(p_, size_);
  }
  HostMem(const HostMem&) = delete;
  uint8_t* data() const { return static_cast<uint8_t*>(p_); }
  uint8_t* page(size_t i) const { return data() + i * 4096; }
  uint32_t word(size_t page_index) const {
    uint32_t v;
    memcpy(&v, page(page_index), 4);
    return v;
  }
  void set_word(size_t page_index, uint32_t v) { memcpy(page(page_index), &v, 4); }
  size_t size() const { return size_; }

 private:
  void* p_ = nullptr;
  size_t size_;
};

class VmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!kvm_usable(&why)) GTEST_SKIP() << why;
    ASSERT_EQ(hv_vm_create(HV_VM_DEFAULT), HV_SUCCESS);
    guest = GuestProbe::create();
    ASSERT_NE(guest, nullptr);
  }
  void TearDown() override {
    guest.reset();
    if (!IsSkipped()) {
      EXPECT_EQ(hv_vm_destroy(), HV_SUCCESS);
    }
  }
  std::unique_ptr<GuestProbe> guest;
};

}  // namespace hvtest
