// Child-process helpers shared by the test harnesses that run programs (the
// liveconf CLI, etcd, etcdctl).
#pragma once

#include <cerrno>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <sys/wait.h>
#include <thread>
#include <vector>

namespace liveconf::testing {

/// A wait status as a shell shows it: the exit code, or 128+N for signal N.
inline int exit_code_of(int status) {
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

/// Reaps `pid` if it exits by `deadline`: its exit code, -1 if it is not our
/// child (any more), nullopt if it still runs at the deadline.
inline std::optional<int> wait_pid(pid_t pid, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      return exit_code_of(status);
    }
    if (r < 0 && errno != EINTR) {
      return -1;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

/// `what: strerror(errno)`.
std::string errno_text(std::string_view what);

/// Blocks until `pid` is reaped; for a process already sent SIGKILL.
int reap_blocking(pid_t pid);

/// Everything a child needs, prepared before fork(): after fork() in a
/// multi-threaded process the child may only make async-signal-safe calls.
struct ChildSpec {
  std::vector<std::string> argv;  // argv[0] is the program's path
  std::vector<std::string> env;
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  std::string cwd;  // empty: the test's own
};

/// Starts `spec` with fork + exec and returns its pid, or -1 with `error` set.
/// The child gets PR_SET_PDEATHSIG(SIGKILL): it dies when the thread that
/// started it exits, so a crashed or killed test leaves no process behind.
/// It starts with an empty signal mask and default dispositions, and has
/// only fds 0, 1 and 2 open.
pid_t spawn_child(const ChildSpec& spec, std::string& error);

}  // namespace liveconf::testing
