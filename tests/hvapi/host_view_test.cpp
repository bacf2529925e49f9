// hv_* calls never change the host process's own view of its memory:
// permissions, contents, and private-copy semantics across fork.
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "fixture.h"

namespace hvtest {
namespace {

constexpr uint64_t kBase = 0x800000;
constexpr uint64_t P = 4096;

// The permission string /proc/self/maps shows for the mapping holding p.
std::string host_perms(const void* p) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  auto a = reinterpret_cast<uintptr_t>(p);
  while (std::getline(maps, line)) {
    std::istringstream ss(line);
    std::string range, perms;
    ss >> range >> perms;
    auto dash = range.find('-');
    uintptr_t lo = std::stoull(range.substr(0, dash), nullptr, 16);
    uintptr_t hi = std::stoull(range.substr(dash + 1), nullptr, 16);
    if (a >= lo && a < hi) return perms;
  }
  return "none";
}

class HostViewTest : public VmTest {};

TEST_F(HostViewTest, ProtectAndUnmapNeverTouchHostPermissions) {
  HostMem m(8 * P);
  const std::string before = host_perms(m.page(3));
  ASSERT_TRUE(before == "rw-p" || before == "rw-s") << before;
  ASSERT_EQ(hv_vm_map(m.data(), kBase, 8 * P, HV_MEMORY_READ | HV_MEMORY_WRITE), HV_SUCCESS);
  ASSERT_EQ(hv_vm_protect(kBase + 3 * P, P, 0), HV_SUCCESS);
  ASSERT_EQ(hv_vm_protect(kBase + 4 * P, P, HV_MEMORY_READ), HV_SUCCESS);
  ASSERT_EQ(hv_vm_unmap(kBase + 5 * P, P), HV_SUCCESS);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(host_perms(m.page(i)), before) << "page " << i;
  // The host still reads and writes every page, and the guest sees it.
  m.set_word(4, 0x4444);
  m.set_word(3, 0x3333);
  EXPECT_EQ(guest->read32(kBase + 4 * P).value, 0x4444u);
  ASSERT_EQ(hv_vm_protect(kBase + 3 * P, P, HV_MEMORY_READ), HV_SUCCESS);
  EXPECT_EQ(guest->read32(kBase + 3 * P).value, 0x3333u);
}

TEST_F(HostViewTest, ForkKeepsPrivateCopySemantics) {
  HostMem m(2 * P, HostMem::kPrivate);
  m.set_word(0, 1);
  ASSERT_EQ(hv_vm_map(m.data(), kBase, 2 * P, HV_MEMORY_READ | HV_MEMORY_WRITE), HV_SUCCESS);
  ASSERT_TRUE(guest->write32(kBase, 2).ok());
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The child's copy is its own; its writes never reach the parent/guest.
    bool ok = m.word(0) == 2;
    m.set_word(0, 99);
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(m.word(0), 2u);
  EXPECT_EQ(guest->read32(kBase).value, 2u);
  ASSERT_TRUE(guest->write32(kBase, 3).ok());
  EXPECT_EQ(m.word(0), 3u) << "after fork, guest and host still share one memory";
}

TEST_F(HostViewTest, ForkedChildHasNoVmAndMayCreateItsOwn) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int code = 0;
    HostMem m(P);
    if (hv_vm_map(m.data(), 0, P, HV_MEMORY_READ) != HV_DENIED) code |= 1;
    if (hv_vm_create(HV_VM_DEFAULT) != HV_SUCCESS) code |= 2;
    if (hv_vm_map(m.data(), 0, P, HV_MEMORY_READ) != HV_SUCCESS) code |= 4;
    if (hv_vm_destroy() != HV_SUCCESS) code |= 8;
    _exit(code);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace hvtest
