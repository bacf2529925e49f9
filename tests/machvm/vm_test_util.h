// Helpers shared by the Mach VM tests.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <functional>

#include <gtest/gtest.h>
#include <mach/mach.h>

#include "common/last_error.h"
#include "machvm/kr_name.h"

namespace vmtest {
inline ::testing::AssertionResult kr_is(const char* /*want_expr*/, const char* got_expr, kern_return_t want,
                                        kern_return_t got) {
  if (want == got) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << got_expr << " returned " << hvshim::machvm::kr_name(got) << " (" << got
                                       << "), expected " << hvshim::machvm::kr_name(want) << " (" << want << ")"
                                       << "; last error: " << hvshim::last_error_cstr();
}
}  // namespace vmtest

#define EXPECT_KR(expected, expr) EXPECT_PRED_FORMAT2(vmtest::kr_is, (expected), (expr))
#define ASSERT_KR(expected, expr) ASSERT_PRED_FORMAT2(vmtest::kr_is, (expected), (expr))

namespace vmtest {

inline uint64_t page() { return static_cast<uint64_t>(vm_page_size); }

// Runs fn in a forked child. Returns the signal that killed it, or
// 1000 + exit status.
// Sanitizers turn a fault into a report and exit(1); tests want to see the
// signal itself, as an uninstrumented program would.
inline void default_fault_signals() {
  struct sigaction sa {};
  sa.sa_handler = SIG_DFL;
  sigaction(SIGSEGV, &sa, nullptr);
  sigaction(SIGBUS, &sa, nullptr);
}

inline int in_child(const std::function<void()>& fn) {
  pid_t pid = fork();
  if (pid == 0) {
    default_fault_signals();
    fn();
    _exit(0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  if (WIFSIGNALED(st)) return WTERMSIG(st);
  return 1000 + WEXITSTATUS(st);
}

inline bool faults(const std::function<void()>& fn) {
  int r = in_child(fn);
  return r == SIGSEGV || r == SIGBUS;
}

inline void touch_read(uint64_t a) { (void)*reinterpret_cast<volatile const char*>(a); }
inline void touch_write(uint64_t a, char v = 1) { *reinterpret_cast<volatile char*>(a) = v; }

// An allocation that is released at scope exit.
struct Alloc {
  mach_vm_address_t addr = 0;
  mach_vm_size_t size = 0;
  explicit Alloc(mach_vm_size_t s, int flags = VM_FLAGS_ANYWHERE) : size(s) {
    kern_return_t kr = mach_vm_allocate(mach_task_self(), &addr, s, flags);
    EXPECT_EQ(kr, KERN_SUCCESS);
  }
  ~Alloc() {
    if (addr) mach_vm_deallocate(mach_task_self(), addr, size);
  }
  char* p() const { return reinterpret_cast<char*>(addr); }
  Alloc(const Alloc&) = delete;
  Alloc& operator=(const Alloc&) = delete;
};

inline vm_region_basic_info_data_64_t basic_info(mach_vm_address_t& addr, mach_vm_size_t& size,
                                                 kern_return_t* kr_out = nullptr) {
  vm_region_basic_info_data_64_t info{};
  mach_msg_type_number_t count = VM_REGION_BASIC_INFO_COUNT_64;
  mach_port_t obj = 1;
  kern_return_t kr = mach_vm_region(mach_task_self(), &addr, &size, VM_REGION_BASIC_INFO_64,
                                    reinterpret_cast<vm_region_info_t>(&info), &count, &obj);
  if (kr_out) *kr_out = kr;
  return info;
}

}  // namespace vmtest
