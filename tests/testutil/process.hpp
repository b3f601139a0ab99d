// Child-process helpers shared by the test harnesses that run programs (the
// liveconf CLI, etcd, etcdctl).
#pragma once

#include <cerrno>
#include <chrono>
#include <optional>
#include <sys/types.h>
#include <sys/wait.h>
#include <thread>

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

}  // namespace liveconf::testing
