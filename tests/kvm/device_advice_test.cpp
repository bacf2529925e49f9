// The advice HV_NO_DEVICE and hvshim-info give, for each host situation:
// the commands must be the ones that work there (no `usermod -aG kvm` where
// no kvm group exists, no chgrp where the node already has a real group).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cerrno>
#include <string>

#include "kvm/device_advice.h"

namespace hvshim::kvm {
namespace {

NodeFacts node(const char* path, const char* group, gid_t gid, mode_t mode, unsigned major = 10,
               unsigned minor = 232) {
  NodeFacts n;
  n.path = path;
  n.exists = n.char_device = true;
  n.major = major;
  n.minor = minor;
  n.owner = "root";
  n.group = group;
  n.gid = gid;
  n.mode = mode;
  return n;
}

ProcessFacts alice() {
  ProcessFacts p;
  p.euid = 1000;
  p.user = "alice";
  p.groups = p.member_of = {1000};
  p.udev = true;
  return p;
}

using Cmds = std::vector<std::string>;

TEST(DeviceAdvice, RootOwnedNodeWithoutKvmGroupCreatesTheGroupFirst) {
  // A minimal Debian 12 root: /dev/kvm root:root 0600, no kvm group, udev present.
  Advice a = kvm_advice(node("/dev/kvm", "root", 0, 0600), alice(), Error{EACCES, "open"});
  EXPECT_NE(a.reason.find("/dev/kvm: permission denied (owner root:root, mode 0600"), std::string::npos) << a.reason;
  EXPECT_NE(a.reason.find("alice (uid 1000)"), std::string::npos) << a.reason;
  EXPECT_EQ(a.commands, (Cmds{"getent group kvm >/dev/null || groupadd --system kvm", "chgrp kvm /dev/kvm",
                              "chmod g+rw /dev/kvm", "usermod -aG kvm alice",
                              "echo 'KERNEL==\"kvm\", GROUP=\"kvm\", MODE=\"0660\"' > "
                              "/etc/udev/rules.d/65-hvshim-kvm.rules"}));
  EXPECT_NE(a.after.find("log in again as alice"), std::string::npos) << a.after;
}

TEST(DeviceAdvice, ExistingKvmGroupIsReusedAndNoUdevMeansNoRule) {
  ProcessFacts p = alice();
  p.kvm_group_exists = true;
  p.kvm_gid = 993;
  p.udev = false;
  Advice a = kvm_advice(node("/dev/kvm", "root", 0, 0600), p, Error{EACCES, "open"});
  EXPECT_EQ(a.commands, (Cmds{"chgrp kvm /dev/kvm", "chmod g+rw /dev/kvm", "usermod -aG kvm alice"}));
  EXPECT_NE(a.after.find("no udev here"), std::string::npos) << a.after;
}

TEST(DeviceAdvice, NodeWithItsOwnGroupNeedsOnlyTheMembership) {
  // A full Debian install: udev made /dev/kvm root:kvm 0660.
  ProcessFacts p = alice();
  p.kvm_group_exists = true;
  p.kvm_gid = 993;
  Advice a = kvm_advice(node("/dev/kvm", "kvm", 993, 0660), p, Error{EACCES, "open"});
  EXPECT_EQ(a.commands, (Cmds{"usermod -aG kvm alice"}));
  EXPECT_NE(a.after.find("log in again"), std::string::npos);
}

TEST(DeviceAdvice, MemberWhoseSessionPredatesTheGroupIsToldToLogInAgain) {
  ProcessFacts p = alice();
  p.member_of.push_back(993);  // /etc/group lists alice, this login does not have it yet
  Advice a = kvm_advice(node("/dev/kvm", "kvm", 993, 0660), p, Error{EACCES, "open"});
  EXPECT_TRUE(a.commands.empty());
  EXPECT_NE(a.after.find("newgrp kvm"), std::string::npos) << a.after;
}

TEST(DeviceAdvice, GroupWithoutAccessBitsGetsThem) {
  ProcessFacts p = alice();
  p.groups.push_back(993);
  p.member_of.push_back(993);
  Advice a = kvm_advice(node("/dev/kvm", "kvm", 993, 0600), p, Error{EACCES, "open"});
  EXPECT_EQ(a.commands, (Cmds{"chmod g+rw /dev/kvm", "echo 'KERNEL==\"kvm\", GROUP=\"kvm\", MODE=\"0660\"' > "
                                                     "/etc/udev/rules.d/65-hvshim-kvm.rules"}));
  EXPECT_TRUE(a.after.empty()) << a.after;
}

TEST(DeviceAdvice, RootDeniedMeansAContainerPolicy) {
  ProcessFacts p = alice();
  p.euid = 0;
  Advice a = kvm_advice(node("/dev/kvm", "root", 0, 0600), p, Error{EPERM, "open"});
  EXPECT_NE(a.reason.find("even to root"), std::string::npos);
  EXPECT_TRUE(a.commands.empty());
  EXPECT_NE(a.after.find("--device /dev/kvm"), std::string::npos);
}

TEST(DeviceAdvice, MissingDeviceSuggestsTheVendorModule) {
  NodeFacts n;
  n.path = "/dev/kvm";
  ProcessFacts p = alice();
  p.cpu_svm = true;
  Advice a = kvm_advice(n, p, Error{ENOENT, "open"});
  EXPECT_NE(a.reason.find("/dev/kvm does not exist"), std::string::npos);
  EXPECT_EQ(a.commands, (Cmds{"modprobe kvm_amd"}));
  p.cpu_svm = false;
  a = kvm_advice(n, p, Error{ENOENT, "open"});
  EXPECT_TRUE(a.commands.empty());
  EXPECT_NE(a.after.find("nested"), std::string::npos);
}

TEST(DeviceAdvice, SomethingElseAtThePathIsNamed) {
  // /dev/null bind-mounted over /dev/kvm: open works, the first ioctl does not.
  Advice a = kvm_advice(node("/dev/kvm", "root", 0, 0666, 1, 3), alice(), Error{ENOTTY, "KVM_GET_API_VERSION"});
  EXPECT_NE(a.reason.find("/dev/kvm is not the KVM device (character device 1:3"), std::string::npos) << a.reason;
  EXPECT_TRUE(a.commands.empty());
  EXPECT_NE(a.after.find("findmnt /dev/kvm"), std::string::npos);
}

TEST(DeviceAdvice, UserfaultfdIsGrantedThroughTheGroupThatGrantsKvm) {
  ProcessFacts p = alice();
  p.groups.push_back(993);
  p.member_of.push_back(993);
  p.unprivileged_userfaultfd = 0;
  Advice a = userfaultfd_advice(node("/dev/userfaultfd", "root", 0, 0600, 10, 257),
                                node("/dev/kvm", "kvm", 993, 0660), p, Error{EPERM, "userfaultfd"});
  EXPECT_NE(a.reason.find("falls back to memslots"), std::string::npos);
  EXPECT_NE(a.reason.find("vm.unprivileged_userfaultfd=0"), std::string::npos) << a.reason;
  EXPECT_EQ(a.commands, (Cmds{"chgrp kvm /dev/userfaultfd", "chmod g+rw /dev/userfaultfd",
                              "echo 'KERNEL==\"userfaultfd\", GROUP=\"kvm\", MODE=\"0660\"' > "
                              "/etc/udev/rules.d/65-hvshim-userfaultfd.rules"}));
  EXPECT_NE(a.after.find("sysctl -w vm.unprivileged_userfaultfd=1"), std::string::npos);
}

TEST(DeviceAdvice, UserfaultfdBefore61HasOnlyTheSysctl) {
  NodeFacts none;
  none.path = "/dev/userfaultfd";
  Advice a = userfaultfd_advice(none, node("/dev/kvm", "kvm", 993, 0660), alice(), Error{EPERM, "userfaultfd"});
  EXPECT_EQ(a.commands, (Cmds{"sysctl -w vm.unprivileged_userfaultfd=1",
                              "echo vm.unprivileged_userfaultfd=1 > /etc/sysctl.d/60-hvshim-userfaultfd.conf"}));
}

TEST(DeviceAdvice, UnfixableUserfaultfdCausesGiveNoCommands) {
  Advice a = userfaultfd_advice(node("/dev/userfaultfd", "root", 0, 0600, 10, 257), node("/dev/kvm", "kvm", 993, 0660),
                                alice(), Error{ENOSYS, "userfaultfd"});
  EXPECT_NE(a.reason.find("CONFIG_USERFAULTFD"), std::string::npos);
  EXPECT_TRUE(a.commands.empty());
}

TEST(DeviceAdvice, RenderPutsEachCommandOnItsOwnRootPromptLine) {
  Advice a{"why", {"one", "two"}, "then this"};
  EXPECT_EQ(render(a), "why\nfix, as root:\n  # one\n  # two\nthen this");
  EXPECT_EQ(render(Advice{"why", {}, ""}), "why");
}

TEST(DeviceAdvice, GatheredFactsDescribeThisProcess) {
  ProcessFacts p = gather_process();
  EXPECT_EQ(p.euid, geteuid());
  EXPECT_FALSE(p.user.empty());
  ASSERT_FALSE(p.groups.empty());
  EXPECT_EQ(p.groups[0], getegid());
  NodeFacts n = gather_node("/dev/null");
  EXPECT_TRUE(n.exists && n.char_device);
  EXPECT_EQ(n.major, 1u);
  EXPECT_EQ(n.minor, 3u);
  EXPECT_EQ(n.mode, 0666u);
  EXPECT_FALSE(gather_node("/nonexistent/kvm").exists);
}

}  // namespace
}  // namespace hvshim::kvm
