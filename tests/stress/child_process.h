// Forked children for the process-exit tests: a child runs a body, tells
// the parent through a pipe when it is ready (and anything else it wants to
// report), and the parent reaps it with a timeout and checks that nothing
// of it is left: no zombie, no /proc entry.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

namespace stress {

struct Child {
  pid_t pid = -1;
  int report_fd = -1;  // parent's read end of the child's report pipe
};

// Forks; the child runs body(write_fd) and then _exit(0)s if body returns.
Child fork_child(const std::function<void(int write_fd)>& body);

// Blocks until the child wrote `n` bytes or closed its end (returns what
// arrived), at most timeout_ms.
std::string read_report(Child& c, size_t n, int timeout_ms);
// Everything the child (and whoever inherited the pipe) writes until EOF.
std::string read_all(Child& c, int timeout_ms);

struct Reaped {
  bool exited_in_time = false;  // waitpid returned before the timeout
  int status = 0;               // waitpid status
  bool proc_entry_gone = false; // /proc/<pid> is gone after the reap
  double seconds = 0;           // from the call to the reap
  std::string describe() const;
};
// Waits for the child (SIGKILLs it after timeout_ms and says so), closes
// the report pipe.
Reaped reap(Child& c, int timeout_ms);

// Writes all of `s` to fd (child side; async-signal-safe enough after fork).
void write_all(int fd, const std::string& s);

}  // namespace stress
