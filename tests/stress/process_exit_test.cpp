// A process that exits with live VMs, vCPUs (one of them inside the guest),
// address spaces and mapped memory leaves nothing behind, however it ends:
// exit() (static destructors run while a vCPU thread may be in KVM_RUN),
// _exit(), abort(), SIGKILL. The parent must be able to reap it in time,
// no /proc entry may remain, and repeated cycles must not grow the parent.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "child_process.h"
#include "live_vm.h"
#include "process_usage.h"
#include "stress_scale.h"
#include "support/kvm_test_support.h"

namespace stress {
namespace {

enum class How { Exit, QuickExit, Abort, Killed };

struct Case {
  const char* name;
  VcpuThread thread;
  How how;
};

const char* thread_name(VcpuThread t) {
  switch (t) {
    case VcpuThread::None: return "no vCPU thread";
    case VcpuThread::Parked: return "parked vCPU thread";
    case VcpuThread::InGuest: return "vCPU thread in the guest";
    case VcpuThread::Busy: return "vCPU thread exiting all the time";
  }
  return "";
}

// Builds the live VM in a child and ends the child as `how` says. The
// child's stderr goes into the report pipe, so *output receives every
// sanitizer report it printed, even one that lost the race against exit().
Reaped run_case(const Case& c, std::string* child_error, std::string* output) {
  Child ch = fork_child([&](int fd) {
    dup2(fd, STDERR_FILENO);
    std::string err;
    if (!build_live_vm(c.thread, &err)) {
      write_all(fd, "E" + err);
      _exit(3);
    }
    write_all(fd, "R");
    switch (c.how) {
      case How::Exit: exit(0);
      case How::QuickExit: _exit(0);
      case How::Abort: {
        // The sanitizers' reports are not what is tested: a plain SIGABRT.
        signal(SIGABRT, SIG_DFL);
        abort();
      }
      case How::Killed:
        for (;;) pause();
    }
  });
  const std::string r = read_report(ch, 1, 30000);
  if (r.empty() || r[0] != 'R') *child_error = r.empty() ? "no report from the child" : r + read_all(ch, 1000);
  if (c.how == How::Killed) kill(ch.pid, SIGKILL);
  *output = r.substr(r.empty() ? 0 : 1) + read_all(ch, 30000);
  return reap(ch, 30000);
}

bool sanitizer_report(const std::string& out) {
  return out.find("Sanitizer") != std::string::npos || out.find("runtime error") != std::string::npos;
}

bool ended_as_expected(const Case& c, int status) {
  switch (c.how) {
    case How::Exit:
    case How::QuickExit: return WIFEXITED(status) && WEXITSTATUS(status) == 0;
    case How::Abort: return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
    case How::Killed: return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  }
  return false;
}

class ProcessExitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!testsupport::kvm_usable(&why)) GTEST_SKIP() << why;
  }
};

TEST_F(ProcessExitTest, ChildWithLiveVmsLeavesNothingBehind) {
  const Case cases[] = {
      {"exit()", VcpuThread::Parked, How::Exit},
      {"_exit()", VcpuThread::InGuest, How::QuickExit},
      {"abort()", VcpuThread::InGuest, How::Abort},
      {"SIGKILL", VcpuThread::InGuest, How::Killed},
      {"exit() without vCPU threads", VcpuThread::None, How::Exit},
      {"_exit() while the vCPU thread is busy", VcpuThread::Busy, How::QuickExit},
      {"SIGKILL while the vCPU thread is busy", VcpuThread::Busy, How::Killed},
  };
  const int reps = scaled(3);
  Usage base;
  int children = 0;
  for (int rep = 0; rep < reps; ++rep) {
    for (const Case& c : cases) {
      SCOPED_TRACE(std::string(c.name) + ", " + thread_name(c.thread) + ", round " + std::to_string(rep));
      std::string err, out;
      Reaped r = run_case(c, &err, &out);
      ++children;
      EXPECT_EQ(err, "") << "the child could not build its VM";
      EXPECT_FALSE(sanitizer_report(out)) << out;
      EXPECT_TRUE(r.exited_in_time) << r.describe();
      EXPECT_TRUE(ended_as_expected(c, r.status)) << r.describe();
      EXPECT_TRUE(r.proc_entry_gone) << r.describe();
      if (HasFailure()) return;
    }
    if (rep == 0) base = sample_usage();
  }
  const Usage end = sample_usage();
  EXPECT_EQ(end.fds, base.fds) << "the parent's fds grew with its children";
  EXPECT_EQ(end.named_maps, base.named_maps);
  EXPECT_EQ(kvm_fds(getpid()).size(), 0u) << "the parent holds KVM fds it never opened";
  // No zombie of ours is left.
  EXPECT_EQ(waitpid(-1, nullptr, WNOHANG), -1);
  printf("[ measure  ] %d children ended with live VMs; parent before %s, after %s\n", children,
         to_string(base).c_str(), to_string(end).c_str());
}

// A process with live VMs forks helpers: a plain fork child must not keep
// the parent's KVM objects (its copies of the vCPU and VM fds would keep the
// parent's VM alive after the parent destroys it or dies), and an exec'd
// child must inherit no KVM fd, memfd or userfaultfd at all (O_CLOEXEC).
TEST_F(ProcessExitTest, ForkedChildrenOfAVmmInheritNoKvmHandles) {
  Child ch = fork_child([&](int fd) {
    dup2(fd, STDERR_FILENO);
    std::string err;
    if (!build_live_vm(VcpuThread::Parked, &err)) {
      write_all(fd, "build failed: " + err + "\n");
      _exit(3);
    }
    write_all(fd, "parent: " + kvm_holdings() + "\n");
    pid_t plain = fork();
    if (plain == 0) {
      write_all(fd, "fork child: " + kvm_holdings() + "\n");
      _exit(0);
    }
    waitpid(plain, nullptr, 0);
    pid_t execd = fork();
    if (execd == 0) {
      dup2(fd, STDOUT_FILENO);
      write_all(fd, "exec child fds:\n");
      execl("/bin/ls", "ls", "-l", "/proc/self/fd/", static_cast<char*>(nullptr));
      _exit(127);
    }
    waitpid(execd, nullptr, 0);
    _exit(0);
  });
  const std::string out = read_all(ch, 30000);
  Reaped r = reap(ch, 30000);
  EXPECT_TRUE(r.exited_in_time && WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) << r.describe() << "\n" << out;
  const size_t fork_at = out.find("fork child: "), exec_at = out.find("exec child fds:");
  ASSERT_NE(out.find("parent: fds: "), std::string::npos) << out;
  ASSERT_NE(fork_at, std::string::npos) << out;
  ASSERT_NE(exec_at, std::string::npos) << out;
  EXPECT_NE(out.find("kvm-vcpu"), std::string::npos) << "the VMM itself shows no vCPU fd; the check is blind\n" << out;
  const std::string fork_line = out.substr(fork_at, out.find('\n', fork_at) - fork_at);
  EXPECT_EQ(fork_line, "fork child: fds:; maps:") << "a forked child keeps the VMM's KVM objects";
  const std::string exec_part = out.substr(exec_at);
  for (const char* what : {"kvm", "memfd", "userfaultfd"})
    EXPECT_EQ(exec_part.find(what), std::string::npos) << "an exec'd child inherited a " << what << " fd:\n" << exec_part;
}

// exit() runs the library's static destructors while another thread is
// inside hv_vcpu_run: the VM's address spaces are freed under it and the run
// loop reads them (heap-use-after-free), whether the thread was handling
// exits or sitting in the guest (tearing the VM down makes KVM_RUN return).
// (Was /work/notes/stress-defects.md entry 4: the VM is no longer freed
// by static destructors.)
TEST_F(ProcessExitTest, ExitWhileAVcpuThreadIsInTheLibrary) {
  const Case cases[] = {{"exit() while the vCPU thread is busy", VcpuThread::Busy, How::Exit},
                        {"exit() with a vCPU in the guest", VcpuThread::InGuest, How::Exit}};
  for (int rep = 0; rep < scaled(5); ++rep)
    for (const Case& c : cases) {
      SCOPED_TRACE(std::string(c.name) + ", round " + std::to_string(rep));
      std::string err, out;
      Reaped r = run_case(c, &err, &out);
      EXPECT_EQ(err, "");
      EXPECT_TRUE(r.exited_in_time) << r.describe();
      EXPECT_TRUE(ended_as_expected(c, r.status)) << r.describe();
      EXPECT_FALSE(sanitizer_report(out)) << out;
      if (HasFailure()) return;
    }
}

}  // namespace
}  // namespace stress
