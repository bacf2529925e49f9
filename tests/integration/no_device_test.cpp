// Without a usable KVM device every entry point returns HV_NO_DEVICE and
// hvshim_last_error() says why and how to fix it on this host. Each case
// runs in a forked child: the device path (HVSHIM_KVM_DEVICE) and the user
// are per process, and the parent's VM state must not be involved.
#include <Hypervisor/hv.h>
#include <gtest/gtest.h>
#include <hvshim/hvshim.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace {

// Runs `body` in a child; the child writes hvshim_last_error() (or a
// failure note) to a pipe and exits with body's status.
struct ChildResult {
  int status = -1;
  std::string text;
};

template <class Body>
ChildResult in_child(Body body) {
  int p[2];
  if (pipe(p) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    std::string out;
    int rc = body(out);
    if (write(p[1], out.data(), out.size()) < 0) _exit(98);
    _exit(rc);
  }
  close(p[1]);
  ChildResult r;
  char buf[4096];
  for (ssize_t n; (n = read(p[0], buf, sizeof buf)) > 0;) r.text.append(buf, static_cast<size_t>(n));
  close(p[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

// 0 when hv_vm_create and hv_capability both return HV_NO_DEVICE.
int expect_no_device(std::string& out) {
  hv_return_t r = hv_vm_create(HV_VM_DEFAULT);
  out = hvshim_last_error();
  if (r != HV_NO_DEVICE) return 1;
  uint64_t v = 0;
  if (hv_capability(HV_CAP_VCPUMAX, &v) != HV_NO_DEVICE) return 2;
  if (out != hvshim_last_error()) return 3;  // the same reason from both entry points
  return 0;
}

TEST(NoDevice, MissingDeviceNamesItAndTheModule) {
  auto r = in_child([](std::string& out) {
    setenv("HVSHIM_KVM_DEVICE", "/nonexistent/kvm", 1);
    return expect_no_device(out);
  });
  ASSERT_EQ(r.status, 0) << r.text;
  EXPECT_NE(r.text.find("/nonexistent/kvm does not exist"), std::string::npos) << r.text;
}

TEST(NoDevice, AnotherFileAtThePathIsNotTakenForKvm) {
  // What a bind mount of /dev/null over /dev/kvm looks like to the library.
  auto r = in_child([](std::string& out) {
    setenv("HVSHIM_KVM_DEVICE", "/dev/null", 1);
    return expect_no_device(out);
  });
  ASSERT_EQ(r.status, 0) << r.text;
  EXPECT_NE(r.text.find("/dev/null is not the KVM device (character device 1:3"), std::string::npos) << r.text;
}

TEST(NoDevice, OrdinaryUserIsToldTheCommandsForThisHost) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to become an ordinary user";
  const uid_t nobody = 65534;
  auto r = in_child([&](std::string& out) {
    if (setgroups(0, nullptr) != 0 || setgid(nobody) != 0 || setuid(nobody) != 0) return 90;
    if (access("/dev/kvm", R_OK | W_OK) == 0) return 77;  // this host lets everyone in
    return expect_no_device(out);
  });
  if (r.status == 77) GTEST_SKIP() << "/dev/kvm is usable by uid 65534 here";
  ASSERT_EQ(r.status, 0) << r.text;
  EXPECT_NE(r.text.find("/dev/kvm: permission denied"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("\nfix, as root:\n  # "), std::string::npos) << r.text;
  // The group the fix uses must exist after the fix: created first when this host has none.
  bool kvm_group = getgrnam("kvm") != nullptr;
  EXPECT_EQ(r.text.find("groupadd --system kvm") != std::string::npos, !kvm_group) << r.text;
  EXPECT_NE(r.text.find("usermod -aG "), std::string::npos) << r.text;
}

}  // namespace
