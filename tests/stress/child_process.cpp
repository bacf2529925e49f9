#include "child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <chrono>
#include <thread>

namespace stress {

Child fork_child(const std::function<void(int write_fd)>& body) {
  int p[2];
  Child c;
  if (pipe2(p, O_CLOEXEC) != 0) return c;
  c.pid = fork();
  if (c.pid == 0) {
    close(p[0]);
    body(p[1]);
    _exit(0);
  }
  close(p[1]);
  c.report_fd = p[0];
  return c;
}

namespace {
// Reads what is available within the remaining time; false at EOF/timeout.
bool read_some(int fd, std::string* out, std::chrono::steady_clock::time_point until) {
  const int left =
      static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count());
  if (left <= 0) return false;
  pollfd pf{fd, POLLIN, 0};
  if (poll(&pf, 1, left) <= 0) return false;
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof buf);
  if (n <= 0) return false;
  out->append(buf, static_cast<size_t>(n));
  return true;
}
}  // namespace

std::string read_report(Child& c, size_t n, int timeout_ms) {
  std::string out;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (out.size() < n && read_some(c.report_fd, &out, until)) {
  }
  return out;
}

std::string read_all(Child& c, int timeout_ms) {
  std::string out;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (read_some(c.report_fd, &out, until)) {
  }
  return out;
}

Reaped reap(Child& c, int timeout_ms) {
  Reaped r;
  const auto t0 = std::chrono::steady_clock::now();
  const auto until = t0 + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    pid_t w = waitpid(c.pid, &r.status, WNOHANG);
    if (w == c.pid) {
      r.exited_in_time = true;
      break;
    }
    if (w < 0 && errno != EINTR) break;
    if (std::chrono::steady_clock::now() >= until) {
      kill(c.pid, SIGKILL);
      waitpid(c.pid, &r.status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  struct stat st;
  r.proc_entry_gone = stat(("/proc/" + std::to_string(c.pid)).c_str(), &st) != 0;
  if (c.report_fd >= 0) close(c.report_fd);
  c.report_fd = -1;
  return r;
}

std::string Reaped::describe() const {
  std::string s = exited_in_time ? "reaped" : "HUNG (killed after the timeout)";
  if (WIFEXITED(status)) s += ", exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) s += std::string(", killed by signal ") + strsignal(WTERMSIG(status));
  s += proc_entry_gone ? "" : ", /proc entry still there";
  return s;
}

void write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

}  // namespace stress
