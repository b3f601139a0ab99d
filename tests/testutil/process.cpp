// Child-process helpers (see process.hpp).
#include "testutil/process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

namespace liveconf::testing {

std::string errno_text(std::string_view what) {
  return std::string(what) + ": " + std::strerror(errno);
}

// Blocks until `pid` is reaped; for a process already sent SIGKILL.
int reap_blocking(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return -1;
    }
  }
  return exit_code_of(status);
}

// Starts `spec` with fork + exec and returns its pid, or -1 with `error` set.
// The child dies with SIGKILL when the forking thread exits (so a crashed
// test leaks nothing), starts with an empty signal mask and default
// dispositions, and has only fds 0, 1 and 2 open.
pid_t spawn_child(const ChildSpec& spec, std::string& error) {
  std::vector<char*> argv;
  argv.reserve(spec.argv.size() + 1);
  for (const std::string& a : spec.argv) {
    argv.push_back(const_cast<char*>(a.c_str()));  // NOLINT: execve's signature
  }
  argv.push_back(nullptr);
  std::vector<char*> envp;
  envp.reserve(spec.env.size() + 1);
  for (const std::string& e : spec.env) {
    envp.push_back(const_cast<char*>(e.c_str()));  // NOLINT: execve's signature
  }
  envp.push_back(nullptr);
  sigset_t empty_mask;
  sigemptyset(&empty_mask);
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  // exec's own failure travels back through this close-on-exec pipe: EOF
  // means the exec happened, 4 bytes are its errno.
  int status_pipe[2] = {-1, -1};
  if (::pipe2(status_pipe, O_CLOEXEC) != 0) {
    error = errno_text("pipe2");
    return -1;
  }
  const pid_t parent = ::getpid();
  const long open_max = ::sysconf(_SC_OPEN_MAX);  // for kernels without close_range
  const int max_fd = open_max > 0 && open_max < (1 << 20) ? static_cast<int>(open_max) : 65536;
  const int in_out_err[3] = {spec.stdin_fd, spec.stdout_fd, spec.stderr_fd};

  const pid_t pid = ::fork();
  if (pid < 0) {
    error = errno_text("fork");
    ::close(status_pipe[0]);
    ::close(status_pipe[1]);
    return -1;
  }
  if (pid == 0) {
    const int report = status_pipe[1];
    auto die = [report](int err) {
      (void)!::write(report, &err, sizeof err);
      ::_exit(127);
    };
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
      die(errno);
    }
    if (::getppid() != parent) {  // the parent died before prctl took effect
      ::_exit(127);
    }
    // Move the three fds above the standard ones first, so dup2 never meets
    // its own source (and clears close-on-exec on every target).
    int moved[3];
    for (int i = 0; i < 3; ++i) {
      moved[i] = ::fcntl(in_out_err[i], F_DUPFD, 3);
      if (moved[i] < 0) {
        die(errno);
      }
    }
    for (int i = 0; i < 3; ++i) {
      if (::dup2(moved[i], i) < 0) {
        die(errno);
      }
    }
    if (!spec.cwd.empty() && ::chdir(spec.cwd.c_str()) != 0) {
      die(errno);
    }
    ::sigprocmask(SIG_SETMASK, &empty_mask, nullptr);
    for (int sig = 1; sig < NSIG; ++sig) {
      if (sig != SIGKILL && sig != SIGSTOP) {
        ::sigaction(sig, &default_action, nullptr);  // fails harmlessly for reserved numbers
      }
    }
    // Close everything else the test process has open (the report pipe closes at exec).
    if ((report > 3 && ::close_range(3, static_cast<unsigned>(report) - 1, 0) != 0) ||
        ::close_range(static_cast<unsigned>(report) + 1, ~0U, 0) != 0) {
      for (int fd = 3; fd < max_fd; ++fd) {
        if (fd != report) {
          ::close(fd);
        }
      }
    }
    ::execve(argv[0], argv.data(), envp.data());
    die(errno);
  }

  ::close(status_pipe[1]);
  int child_errno = 0;
  ssize_t n = 0;
  do {
    n = ::read(status_pipe[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  ::close(status_pipe[0]);
  if (n > 0) {
    (void)reap_blocking(pid);
    errno = child_errno;
    error = errno_text("exec " + spec.argv[0]);
    return -1;
  }
  return pid;
}

}  // namespace liveconf::testing
