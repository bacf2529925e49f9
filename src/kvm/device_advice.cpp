#include "kvm/device_advice.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "common/forced_fallback.h"
#include "kvm/userfault.h"

namespace hvshim::kvm {

namespace {

constexpr unsigned kKvmMajor = 10, kKvmMinor = 232;

bool has(const std::vector<gid_t>& v, gid_t g) { return std::find(v.begin(), v.end(), g) != v.end(); }

std::string name_or_id(const std::string& name, unsigned id) { return name.empty() ? std::to_string(id) : name; }

std::string describe_node(const NodeFacts& n) {
  return fmt::format("owner {}:{}, mode {:04o}", name_or_id(n.owner, n.uid), name_or_id(n.group, n.gid), n.mode);
}

// The last path component, as udev's KERNEL== matches it.
std::string kernel_name(const std::string& path) { return path.substr(path.rfind('/') + 1); }

// Commands that give `proc`'s user read/write access to `node` through a
// group: the node's own group when it has a real one, else `group` (created
// when missing; `group_gid` < 0). Fills `a.commands` and `a.after`.
void grant_through_group(const NodeFacts& node, const ProcessFacts& proc, const std::string& group, long group_gid,
                         Advice& a) {
  bool own_group = node.gid != 0 && !node.group.empty();
  std::string g = own_group ? node.group : group;
  bool changes_node = false;
  if (!own_group) {
    if (group_gid < 0) a.commands.push_back(fmt::format("getent group {0} >/dev/null || groupadd --system {0}", g));
    a.commands.push_back(fmt::format("chgrp {} {}", g, node.path));
    changes_node = true;
  }
  if ((node.mode & 0060) != 0060 || changes_node) {
    a.commands.push_back(fmt::format("chmod g+rw {}", node.path));
    changes_node = true;
  }
  bool known_gid = own_group || group_gid >= 0;
  auto gid = static_cast<gid_t>(own_group ? node.gid : group_gid);
  bool listed = known_gid && has(proc.member_of, gid);
  bool in_session = known_gid && has(proc.groups, gid);
  if (!listed) a.commands.push_back(fmt::format("usermod -aG {} {}", g, proc.user));
  if (changes_node && proc.udev)
    a.commands.push_back(fmt::format("echo 'KERNEL==\"{}\", GROUP=\"{}\", MODE=\"0660\"' > /etc/udev/rules.d/65-hvshim-{}.rules",
                                     kernel_name(node.path), g, kernel_name(node.path)));
  if (!in_session)
    a.after = fmt::format("then log in again as {} (group membership is read at login; or run `newgrp {}`)", proc.user, g);
  if (changes_node && !proc.udev)
    a.after += std::string(a.after.empty() ? "" : "; ") +
               "no udev here: the group and mode last until the device node is made again";
}

void denied_to_root(const NodeFacts& node, Advice& a) {
  a.reason = fmt::format("{}: permission denied even to root ({}): a container or cgroup device policy blocks it",
                         node.path, describe_node(node));
  a.after = "allow the device in the container (e.g. `docker run --device /dev/kvm`, or the cgroup's devices.allow)";
}

std::string who(const ProcessFacts& p) { return fmt::format("this process runs as {} (uid {})", p.user, p.euid); }

}  // namespace

std::string render(const Advice& a) {
  std::string s = a.reason;
  if (!a.commands.empty()) {
    s += "\nfix, as root:";
    for (const auto& c : a.commands) s += "\n  # " + c;
  }
  if (!a.after.empty()) s += "\n" + a.after;
  return s;
}

Advice kvm_advice(const NodeFacts& node, const ProcessFacts& proc, const Error& e) {
  Advice a;
  bool open_failed = strncmp(e.op, "open", 4) == 0;
  if (open_failed && e.err == ENOENT) {
    a.reason = fmt::format("{} does not exist: KVM is not loaded or this machine offers no hardware virtualisation",
                           node.path);
    if (proc.cpu_vmx) a.commands.push_back("modprobe kvm_intel");
    if (proc.cpu_svm) a.commands.push_back("modprobe kvm_amd");
    a.after = proc.cpu_vmx || proc.cpu_svm
                  ? "if modprobe fails, enable VT-x/AMD-V in the firmware settings"
                  : "this CPU shows neither vmx nor svm: enable VT-x/AMD-V in the firmware, or nested "
                    "virtualisation for this virtual machine; in a container, pass the device (--device /dev/kvm)";
    return a;
  }
  if (open_failed && (e.err == EACCES || e.err == EPERM)) {
    if (proc.euid == 0) {
      denied_to_root(node, a);
      return a;
    }
    a.reason = fmt::format("{}: permission denied ({}; {})", node.path, describe_node(node), who(proc));
    grant_through_group(node, proc, "kvm", proc.kvm_group_exists ? static_cast<long>(proc.kvm_gid) : -1, a);
    return a;
  }
  if (!open_failed && (e.err == ENOTTY || e.err == EINVAL || !node.char_device ||
                       node.major != kKvmMajor || node.minor != kKvmMinor)) {
    a.reason = fmt::format("{} is not the KVM device ({}; {}: {})", node.path,
                           node.char_device ? fmt::format("character device {}:{}", node.major, node.minor)
                                            : std::string("not a character device"),
                           e.op, strerror(e.err));
    a.after = fmt::format("the kernel's KVM device is character device {}:{}; something (a bind mount, a container "
                          "setup, HVSHIM_KVM_DEVICE) put another file at {}: check `findmnt {}`",
                          kKvmMajor, kKvmMinor, node.path, node.path);
    return a;
  }
  if (e.err == ENOTSUP) {
    a.reason = fmt::format("{}: {} reports an API version other than 12", node.path, e.op);
    return a;
  }
  a.reason = fmt::format("{}: {}: {}", node.path, e.op, strerror(e.err));
  if (e.err == ENXIO || e.err == ENODEV)
    a.after = "the KVM module is loaded but cannot run guests: enable VT-x/AMD-V in the firmware";
  return a;
}

Advice userfaultfd_advice(const NodeFacts& uffd_node, const NodeFacts& kvm_node, const ProcessFacts& proc,
                          const Error& e) {
  Advice a;
  const std::string slower = "write protection of shared memory falls back to memslots (slower, see README)";
  if (fallback_forced("userfaultfd")) {
    a.reason = slower + ": HVSHIM_FORCE_FALLBACK=userfaultfd";
    return a;
  }
  if (e.err == ENOSYS) {
    a.reason = slower + ": this kernel is built without userfaultfd (CONFIG_USERFAULTFD)";
    return a;
  }
  if (e.err != EPERM && e.err != EACCES) {
    a.reason = fmt::format("{}: {}: {} (write-protect of shared memory, thread ids and exact addresses need "
                           "Linux 5.19)", slower, e.op, strerror(e.err));
    return a;
  }
  if (!uffd_node.exists) {
    // Before 6.1 there is no /dev/userfaultfd: only the sysctl opens it up.
    a.reason = fmt::format("{}: userfaultfd(2) is not permitted (vm.unprivileged_userfaultfd={}, no "
                           "CAP_SYS_PTRACE) and {} does not exist (Linux < 6.1)",
                           slower, proc.unprivileged_userfaultfd, uffd_node.path);
    a.commands = {"sysctl -w vm.unprivileged_userfaultfd=1",
                  "echo vm.unprivileged_userfaultfd=1 > /etc/sysctl.d/60-hvshim-userfaultfd.conf"};
    return a;
  }
  if (proc.euid == 0) {
    denied_to_root(uffd_node, a);
    a.reason = slower + ": " + a.reason;
    return a;
  }
  a.reason = fmt::format("{}: userfaultfd(2) is not permitted (vm.unprivileged_userfaultfd={}, no CAP_SYS_PTRACE) "
                         "and {}: permission denied ({}; {})",
                         slower, proc.unprivileged_userfaultfd, uffd_node.path, describe_node(uffd_node), who(proc));
  // The group that grants /dev/kvm, so one membership grants both.
  if (kvm_node.gid != 0 && !kvm_node.group.empty())
    grant_through_group(uffd_node, proc, kvm_node.group, kvm_node.gid, a);
  else
    grant_through_group(uffd_node, proc, "kvm", proc.kvm_group_exists ? static_cast<long>(proc.kvm_gid) : -1, a);
  a.after += std::string(a.after.empty() ? "" : "; ") +
             "or instead, for every user of this host: sysctl -w vm.unprivileged_userfaultfd=1";
  return a;
}

NodeFacts gather_node(const std::string& path) {
  NodeFacts n;
  n.path = path;
  struct stat st{};
  if (stat(path.c_str(), &st) != 0) return n;
  n.exists = true;
  n.char_device = S_ISCHR(st.st_mode);
  n.major = major(st.st_rdev);
  n.minor = minor(st.st_rdev);
  n.uid = st.st_uid;
  n.gid = st.st_gid;
  n.mode = st.st_mode & 07777;
  if (passwd* pw = getpwuid(st.st_uid)) n.owner = pw->pw_name;
  if (group* gr = getgrgid(st.st_gid)) n.group = gr->gr_name;
  return n;
}

ProcessFacts gather_process() {
  ProcessFacts p;
  p.euid = geteuid();
  passwd* pw = getpwuid(p.euid);
  p.user = pw ? pw->pw_name : fmt::format("uid {}", p.euid);
  p.groups.push_back(getegid());
  int n = getgroups(0, nullptr);
  if (n > 0) {
    std::vector<gid_t> g(static_cast<size_t>(n));
    n = getgroups(n, g.data());
    if (n > 0) p.groups.insert(p.groups.end(), g.begin(), g.begin() + n);
  }
  if (pw) {
    int count = 64;
    std::vector<gid_t> g(static_cast<size_t>(count));
    if (getgrouplist(pw->pw_name, pw->pw_gid, g.data(), &count) < 0) {
      g.resize(static_cast<size_t>(count));
      getgrouplist(pw->pw_name, pw->pw_gid, g.data(), &count);
    }
    g.resize(static_cast<size_t>(std::max(count, 0)));
    p.member_of = std::move(g);
  }
  if (group* gr = getgrnam("kvm")) {
    p.kvm_group_exists = true;
    p.kvm_gid = gr->gr_gid;
  }
  struct stat st{};
  p.udev = stat("/etc/udev/rules.d", &st) == 0 && S_ISDIR(st.st_mode);
  std::ifstream cpu("/proc/cpuinfo");
  for (std::string line; std::getline(cpu, line);) {
    if (line.rfind("flags", 0) != 0) continue;
    p.cpu_vmx = line.find(" vmx") != std::string::npos;
    p.cpu_svm = line.find(" svm") != std::string::npos;
    break;
  }
  std::ifstream uf("/proc/sys/vm/unprivileged_userfaultfd");
  if (!(uf >> p.unprivileged_userfaultfd)) p.unprivileged_userfaultfd = -1;
  return p;
}

std::string kvm_device_path() {
  const char* env = getenv("HVSHIM_KVM_DEVICE");
  return env && *env ? env : "/dev/kvm";
}

Advice kvm_problem(const Error& e) { return kvm_advice(gather_node(kvm_device_path()), gather_process(), e); }

std::optional<Advice> userfaultfd_problem() {
  auto u = Userfault::open();
  if (u) return std::nullopt;
  return userfaultfd_advice(gather_node("/dev/userfaultfd"), gather_node(kvm_device_path()), gather_process(),
                            u.error());
}

}  // namespace hvshim::kvm
