// Why this process cannot use /dev/kvm or userfaultfd, and the commands
// that fix it on this host. The advice is computed from facts (stat of the
// node, the user and group databases, the process's groups) by pure
// functions, so every case can be tested on any host; gather_* reads the
// facts of the running host.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "kvm/result.h"

namespace hvshim::kvm {

struct NodeFacts {
  std::string path;
  bool exists = false;
  bool char_device = false;
  unsigned major = 0, minor = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  mode_t mode = 0;          // permission bits
  std::string owner, group;  // names; empty when the id has none
};

struct ProcessFacts {
  uid_t euid = 0;
  std::string user;                 // name of euid ("uid N" when unnamed)
  std::vector<gid_t> groups;        // egid + supplementary groups of this process
  std::vector<gid_t> member_of;     // groups the group database lists the user in
  bool kvm_group_exists = false;    // a group named "kvm"
  gid_t kvm_gid = 0;
  bool udev = false;                // /etc/udev/rules.d exists: persistent rules are possible
  bool cpu_vmx = false, cpu_svm = false;
  int unprivileged_userfaultfd = -1;  // vm.unprivileged_userfaultfd, -1 when unknown
};

struct Advice {
  std::string reason;                 // one line: what is wrong
  std::vector<std::string> commands;  // to run as root, in order (may be empty)
  std::string after;                  // what to do afterwards or instead; may be empty
};

// Rendered as the reason, then "fix, as root:" and one command per line
// prefixed with "  # ", then `after`. This is hvshim_last_error()'s text when
// hv_vm_create returns HV_NO_DEVICE.
[[nodiscard]] std::string render(const Advice& a);

// `e` is System::open's error: open(2)'s errno, or the failing ioctl's.
[[nodiscard]] Advice kvm_advice(const NodeFacts& node, const ProcessFacts& proc, const Error& e);
// `e` is Userfault::open's error; `kvm_node` names the group that already
// grants /dev/kvm, so one group grants both.
[[nodiscard]] Advice userfaultfd_advice(const NodeFacts& uffd_node, const NodeFacts& kvm_node,
                                        const ProcessFacts& proc, const Error& e);

[[nodiscard]] NodeFacts gather_node(const std::string& path);
[[nodiscard]] ProcessFacts gather_process();

// The device path the library opens (HVSHIM_KVM_DEVICE or /dev/kvm).
[[nodiscard]] std::string kvm_device_path();

// The advice for this host: for System::open's error, and for userfaultfd
// (which it opens and closes again; nullopt when it works).
[[nodiscard]] Advice kvm_problem(const Error& e);
[[nodiscard]] std::optional<Advice> userfaultfd_problem();

}  // namespace hvshim::kvm
