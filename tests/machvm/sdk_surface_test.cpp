// What the SDK headers promise beyond the VM calls: Darwin's error texts,
// mach_error's line on stderr, and Mach time.
#include <fcntl.h>
#include <sys/time.h>

#include <ctime>
#include <string>

#include <mach/mach_time.h>

#include "machvm/vm_test_util.h"

using namespace vmtest;

namespace {

TEST(MachErrorString, KernelCodesHaveDarwinsTexts) {
  EXPECT_STREQ(mach_error_string(KERN_SUCCESS), "(os/kern) successful");
  EXPECT_STREQ(mach_error_string(KERN_INVALID_ADDRESS), "(os/kern) invalid address");
  EXPECT_STREQ(mach_error_string(KERN_NO_SPACE), "(os/kern) no space available");
  EXPECT_STREQ(mach_error_string(KERN_INVALID_ARGUMENT), "(os/kern) invalid argument");
  EXPECT_STREQ(mach_error_string(KERN_TERMINATED), "(os/kern) object terminated");
  EXPECT_STREQ(mach_error_string(KERN_NOT_SUPPORTED), "(os/kern) service not supported");
  EXPECT_STREQ(mach_error_string(KERN_NOT_FOUND), "(os/kern) result not found");
  // Every code up to KERN_NOT_FOUND has its own text, one past it has none.
  for (kern_return_t k = KERN_SUCCESS; k <= KERN_NOT_FOUND; ++k)
    EXPECT_EQ(std::string(mach_error_string(k)).rfind("(os/kern) ", 0), 0u) << k;
  EXPECT_STREQ(mach_error_string(KERN_NOT_FOUND + 1), "unknown error code");
  EXPECT_STREQ(mach_error_string(unix_err(2)), "(os/unix) file or directory does not exist");
}

TEST(MachErrorString, IpcAndMigCodes) {
  EXPECT_STREQ(mach_error_string(MACH_SEND_INVALID_DEST), "(ipc/send) invalid destination port");
  EXPECT_STREQ(mach_error_string(MACH_SEND_INVALID_MEMORY), "(ipc/send) invalid memory");
  EXPECT_STREQ(mach_error_string(MACH_RCV_TIMED_OUT), "(ipc/rcv) timed out");
  // The negative MIG numbers are filed under (ipc/mig).
  EXPECT_STREQ(mach_error_string(MIG_TYPE_ERROR), "(ipc/mig) client type check failure");
  EXPECT_STREQ(mach_error_string(MIG_BAD_ID), "(ipc/mig) bad request message ID");
  EXPECT_STREQ(mach_error_string(MIG_ARRAY_TOO_LARGE), "(ipc/mig) array not large enough");
  EXPECT_STREQ(mach_error_string(MIG_TRAILER_ERROR), "(ipc/mig) unknown trailer format");
  EXPECT_STREQ(mach_error_string(-101), "(ipc/send) invalid memory") << "old IPC send numbering";
  EXPECT_STREQ(mach_error_string(err_kern | err_sub(9)), "(operating system/?) unknown subsystem error");
  EXPECT_STREQ(mach_error_string(err_mach_ipc | err_sub(0) | 99), "unknown error code");
  // Darwin files its VM texts under system 7, so err_vm (8) has no table
  // and gives NULL, while system 7 shows them.
  EXPECT_EQ(mach_error_string(err_vm | 1), nullptr);
  EXPECT_STREQ(mach_error_string(err_system(7) | err_sub(1) | 1), "(vm/reclaim) invalid argument");
}

TEST(MachErrorString, TypeNamesTheSystemAndSubsystem) {
  EXPECT_STREQ(mach_error_type(KERN_NO_SPACE), "(os/kern)");
  EXPECT_STREQ(mach_error_type(MACH_SEND_INVALID_DEST), "(ipc/send)");
  EXPECT_STREQ(mach_error_type(MIG_BAD_ID), "(ipc/mig)");
  EXPECT_STREQ(mach_error_type(err_kern | err_sub(9)), "(?/?)");
}

std::string stderr_of(const std::function<void()>& fn) {
  int p[2];
  if (pipe(p) != 0) return "pipe failed";
  pid_t pid = fork();
  if (pid == 0) {
    dup2(p[1], 2);
    fn();
    _exit(0);
  }
  close(p[1]);
  std::string out;
  char buf[256];
  for (ssize_t n; (n = read(p[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(p[0]);
  waitpid(pid, nullptr, 0);
  return out;
}

TEST(MachError, PrintsTheTextAndADiagnosticForUnknownCodes) {
  EXPECT_EQ(stderr_of([] { mach_error("vm_allocate:", KERN_NO_SPACE); }), "vm_allocate: (os/kern) no space available\n");
  EXPECT_EQ(stderr_of([] { mach_error("x", KERN_NOT_FOUND + 1); }), "x (os/kern) unknown error code (39)\n");
}

uint64_t ns(clockid_t c) {
  timespec ts{};
  clock_gettime(c, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

TEST(MachTime, AbsoluteTimeIsMonotonicNanosecondsWithUnitTimebase) {
  mach_timebase_info_data_t tb{};
  ASSERT_KR(KERN_SUCCESS, mach_timebase_info(&tb));
  EXPECT_EQ(tb.numer, 1u);
  EXPECT_EQ(tb.denom, 1u);
  // Bracketed by the clock it is defined as.
  uint64_t before = ns(CLOCK_MONOTONIC), t = mach_absolute_time(), after = ns(CLOCK_MONOTONIC);
  EXPECT_LE(before, t);
  EXPECT_LE(t, after);
  before = ns(CLOCK_BOOTTIME);
  t = mach_continuous_time();
  after = ns(CLOCK_BOOTTIME);
  EXPECT_LE(before, t);
  EXPECT_LE(t, after);
  const uint64_t abs_now = mach_absolute_time(), cont_now = mach_continuous_time();
  EXPECT_GE(cont_now, abs_now) << "boot time includes time asleep";
  // The approximate clocks lag by at most a tick; they never run ahead.
  const uint64_t approx = mach_approximate_time(), exact = mach_absolute_time();
  EXPECT_LE(approx, exact);
  const uint64_t capprox = mach_continuous_approximate_time(), cexact = mach_continuous_time();
  EXPECT_LE(capprox, cexact);
}

TEST(MachTime, WaitUntilSleepsToTheDeadline) {
  EXPECT_KR(KERN_SUCCESS, mach_wait_until(0)) << "a deadline in the past returns at once";
  const uint64_t deadline = mach_absolute_time() + 2000000;  // 2 ms
  EXPECT_KR(KERN_SUCCESS, mach_wait_until(deadline));
  EXPECT_GE(mach_absolute_time(), deadline);
}

void on_alarm(int) {}

TEST(MachTime, WaitUntilInterruptedBySignalIsAborted) {
  struct sigaction sa {}, old {};
  sa.sa_handler = on_alarm;  // no SA_RESTART
  sigaction(SIGALRM, &sa, &old);
  itimerval it{};
  it.it_value.tv_usec = 20000;
  setitimer(ITIMER_REAL, &it, nullptr);
  const uint64_t deadline = mach_absolute_time() + 60ull * 1000000000ull;
  EXPECT_KR(KERN_ABORTED, mach_wait_until(deadline));
  EXPECT_LT(mach_absolute_time(), deadline);
  sigaction(SIGALRM, &old, nullptr);
}

}  // namespace
