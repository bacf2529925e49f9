// hv_vcpu_set_space: a vCPU carries its state into another address space,
// and vCPUs in different spaces run at the same time.
#include <thread>

#include "vcpu_fixture.h"

namespace vcputest {
namespace {

class SpaceTest : public VcpuTest {
 protected:
  // Space `asid` gets the same RAM as the default space except the page at
  // 0x20000, which is `page` (holding `tag` at offset 0x10).
  void make_space(hv_vm_space_t* asid, HostMem& page, uint16_t tag) {
    ASSERT_EQ(hv_vm_space_create(asid), HV_SUCCESS);
    const auto rwx = HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC;
    ASSERT_EQ(hv_vm_map_space(*asid, ram.data(), 0, 0x20000, rwx), HV_SUCCESS);
    ASSERT_EQ(hv_vm_map_space(*asid, page.data(), 0x20000, 0x1000, rwx), HV_SUCCESS);
    ASSERT_EQ(hv_vm_map_space(*asid, ram.data() + 0x21000, 0x21000, ram.size() - 0x21000, rwx), HV_SUCCESS);
    memcpy(page.data() + 0x10, &tag, 2);
  }
  // mov ax,2000h; mov ds,ax; l: mov ax,[10h]; out 10h,ax; inc bx; jmp l
  void load_reader() { load({0xb8, 0x00, 0x20, 0x8e, 0xd8, 0xa1, 0x10, 0x00, 0xe7, 0x10, 0x43, 0xeb, 0xf8}); }
};

TEST_F(SpaceTest, VcpuSeesTheMemoryOfItsCurrentSpace) {
  uint16_t tag0 = 0xaaaa;
  memcpy(ram.data() + 0x20010, &tag0, 2);
  HostMem other(4096);
  hv_vm_space_t asid;
  make_space(&asid, other, 0x5555);
  load_reader();
  ASSERT_EQ(run(), VMX_REASON_IO);
  EXPECT_EQ(reg(HV_X86_RAX) & 0xffff, 0xaaaau);
  skip_insn();
  ASSERT_EQ(hv_vcpu_set_space(vcpu, asid), HV_SUCCESS);
  EXPECT_EQ(hv_vm_space_destroy(asid), HV_BUSY);
  ASSERT_EQ(run(), VMX_REASON_IO);
  EXPECT_EQ(reg(HV_X86_RAX) & 0xffff, 0x5555u);
  EXPECT_EQ(reg(HV_X86_RBX), 1u);  // registers moved along
  skip_insn();
  ASSERT_EQ(hv_vcpu_set_space(vcpu, HV_VM_SPACE_DEFAULT), HV_SUCCESS);
  ASSERT_EQ(run(), VMX_REASON_IO);
  EXPECT_EQ(reg(HV_X86_RAX) & 0xffff, 0xaaaau);
  EXPECT_EQ(reg(HV_X86_RBX), 2u);
  EXPECT_EQ(hv_vcpu_set_space(vcpu, 99), HV_BAD_ARGUMENT);
  EXPECT_EQ(hv_vm_space_destroy(asid), HV_SUCCESS);
}

TEST_F(SpaceTest, RecreatedSpaceIdIsANewSpace) {
  HostMem first(4096), second(4096);
  hv_vm_space_t a, b;
  make_space(&a, first, 0x1111);
  load_reader();
  ASSERT_EQ(hv_vcpu_set_space(vcpu, a), HV_SUCCESS);
  ASSERT_EQ(run(), VMX_REASON_IO);
  EXPECT_EQ(reg(HV_X86_RAX) & 0xffff, 0x1111u);
  skip_insn();
  ASSERT_EQ(hv_vcpu_set_space(vcpu, HV_VM_SPACE_DEFAULT), HV_SUCCESS);
  ASSERT_EQ(hv_vm_space_destroy(a), HV_SUCCESS);
  make_space(&b, second, 0x2222);
  ASSERT_EQ(hv_vcpu_set_space(vcpu, b), HV_SUCCESS);
  ASSERT_EQ(run(), VMX_REASON_IO);
  EXPECT_EQ(reg(HV_X86_RAX) & 0xffff, 0x2222u) << "space ids " << a << " then " << b;
  ASSERT_EQ(hv_vcpu_set_space(vcpu, HV_VM_SPACE_DEFAULT), HV_SUCCESS);
  EXPECT_EQ(hv_vm_space_destroy(b), HV_SUCCESS);
}

TEST_F(SpaceTest, FpuAndMsrStateFollowTheVcpu) {
  HostMem other(4096);
  hv_vm_space_t asid;
  make_space(&asid, other, 1);
  std::vector<uint8_t> buf(4096);
  ASSERT_EQ(hv_vcpu_read_fpstate(vcpu, buf.data(), buf.size()), HV_SUCCESS);
  buf[160] = 0x77;
  buf[512] |= 2;
  ASSERT_EQ(hv_vcpu_write_fpstate(vcpu, buf.data(), buf.size()), HV_SUCCESS);
  ASSERT_EQ(hv_vcpu_write_msr(vcpu, 0x175, 0x9000), HV_SUCCESS);
  set(HV_X86_DR1, 0x4242);
  ASSERT_EQ(hv_vcpu_set_space(vcpu, asid), HV_SUCCESS);
  std::vector<uint8_t> back(4096);
  ASSERT_EQ(hv_vcpu_read_fpstate(vcpu, back.data(), back.size()), HV_SUCCESS);
  EXPECT_EQ(back[160], 0x77);
  uint64_t v;
  ASSERT_EQ(hv_vcpu_read_msr(vcpu, 0x175, &v), HV_SUCCESS);
  EXPECT_EQ(v, 0x9000u);
  EXPECT_EQ(reg(HV_X86_DR1), 0x4242u);
  ASSERT_EQ(hv_vcpu_set_space(vcpu, HV_VM_SPACE_DEFAULT), HV_SUCCESS);
  EXPECT_EQ(hv_vm_space_destroy(asid), HV_SUCCESS);
}

TEST_F(SpaceTest, TwoVcpusRunConcurrentlyInDifferentSpaces) {
  uint16_t tag0 = 0xaaaa;
  memcpy(ram.data() + 0x20010, &tag0, 2);
  HostMem other(4096);
  hv_vm_space_t asid;
  make_space(&asid, other, 0x5555);
  const uint8_t code[] = {0xb8, 0x00, 0x20, 0x8e, 0xd8, 0xa1, 0x10, 0x00, 0xe7, 0x10, 0x43, 0xeb, 0xf8};
  memcpy(ram.data() + kCodeGpa, code, sizeof code);
  auto worker = [&](hv_vm_space_t space, uint16_t expect, int* good) {
    hv_vcpuid_t id;
    ASSERT_EQ(hv_vcpu_create(&id, HV_VCPU_DEFAULT), HV_SUCCESS);
    ASSERT_EQ(hv_vcpu_set_space(id, space), HV_SUCCESS);
    ASSERT_EQ(hv_vcpu_write_register(id, HV_X86_RIP, kCodeGpa), HV_SUCCESS);
    for (int i = 0; i < 200; ++i) {
      ASSERT_EQ(hv_vcpu_run(id), HV_SUCCESS);
      uint64_t r, ax, rip, len;
      hv_vmx_vcpu_read_vmcs(id, VMCS_RO_EXIT_REASON, &r);
      if (r == VMX_REASON_IRQ) continue;
      ASSERT_EQ(r, VMX_REASON_IO);
      hv_vcpu_read_register(id, HV_X86_RAX, &ax);
      if ((ax & 0xffff) == expect) ++*good;
      hv_vcpu_read_register(id, HV_X86_RIP, &rip);
      hv_vmx_vcpu_read_vmcs(id, VMCS_RO_VMEXIT_INSTR_LEN, &len);
      hv_vcpu_write_register(id, HV_X86_RIP, rip + len);
    }
    ASSERT_EQ(hv_vcpu_set_space(id, HV_VM_SPACE_DEFAULT), HV_SUCCESS);
    ASSERT_EQ(hv_vcpu_destroy(id), HV_SUCCESS);
  };
  int good_a = 0, good_b = 0;
  std::thread a(worker, HV_VM_SPACE_DEFAULT, 0xaaaa, &good_a);
  std::thread b(worker, asid, 0x5555, &good_b);
  a.join();
  b.join();
  EXPECT_EQ(good_a, 200);
  EXPECT_EQ(good_b, 200);
  EXPECT_EQ(hv_vm_space_destroy(asid), HV_SUCCESS);
}

}  // namespace
}  // namespace vcputest
