// Runs the real `liveconf` binary as a child process for the CLI tests:
// run_cli() runs a command to completion (with a timeout) and collects its
// exit code, stdout and stderr; WatchProcess starts a long-running
// `liveconf watch ...`, reads its stdout line by line on a thread and lets the
// test wait (with a deadline) for the line it expects, send signals and wait
// for the exit.
//
// The child gets an explicit environment: PATH from the test process plus the
// variables the test names, nothing else. stdin is /dev/null; stdout is a pipe
// (or, with `stdout_tty`, a pseudo-terminal), stderr a pipe. The child starts
// with an empty signal mask and default dispositions.
#pragma once

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

#include "testutil/process.hpp"

#ifndef LIVECONF_CLI
#error "LIVECONF_CLI (the path of the liveconf binary) must be defined"
#endif

namespace liveconf::testing {

struct CliOptions {
  /// NAME=value entries for the child, besides PATH (taken from this process).
  std::vector<std::string> env;
  /// The child's working directory (empty: this process's).
  std::filesystem::path cwd;
  /// run_cli: the child is killed after this long.
  std::chrono::milliseconds timeout{10000};
  /// stdout is a pseudo-terminal instead of a pipe (to see colour).
  bool stdout_tty = false;
};

struct CliResult {
  int exit_code = -1;  // the exit status, 128+N if killed by signal N, -1 on timeout
  std::string out;
  std::string err;
  bool timed_out = false;
};

namespace cli_detail {

[[noreturn]] inline void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

using ::liveconf::testing::exit_code_of;
using ::liveconf::testing::wait_pid;

// A started child: its pid and the read ends (close-on-exec) of its stdout and stderr.
struct Spawned {
  pid_t pid = -1;
  int out_fd = -1;
  int err_fd = -1;
  bool out_is_tty = false;
};

inline Spawned spawn(const std::vector<std::string>& args, const CliOptions& options) {
  int out[2] = {-1, -1};
  int err[2] = {-1, -1};
  if (options.stdout_tty) {
    out[0] = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (out[0] < 0 || ::grantpt(out[0]) != 0 || ::unlockpt(out[0]) != 0) {
      fail("posix_openpt");
    }
    char name[128] = {};
    if (::ptsname_r(out[0], name, sizeof name) != 0) {
      fail("ptsname_r");
    }
    out[1] = ::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (out[1] < 0) {
      fail(std::string("open ") + name);
    }
  } else if (::pipe2(out, O_CLOEXEC) != 0) {
    fail("pipe2");
  }
  if (::pipe2(err, O_CLOEXEC) != 0) {
    fail("pipe2");
  }

  // fork + exec with PR_SET_PDEATHSIG (testutil/process.hpp): a test that
  // crashes or is killed by ctest's timeout leaves no liveconf behind.
  const int null_in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_in < 0) {
    fail("open /dev/null");
  }
  ChildSpec spec;
  spec.argv.emplace_back(LIVECONF_CLI);
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    spec.env.push_back(std::string("PATH=") + path);
  }
  spec.env.insert(spec.env.end(), options.env.begin(), options.env.end());
  spec.stdin_fd = null_in;
  spec.stdout_fd = out[1];
  spec.stderr_fd = err[1];
  spec.cwd = options.cwd;

  Spawned s;
  std::string error;
  s.pid = spawn_child(spec, error);
  ::close(null_in);
  ::close(out[1]);
  ::close(err[1]);
  if (s.pid < 0) {
    ::close(out[0]);
    ::close(err[0]);
    fail(error);
  }
  s.out_fd = out[0];
  s.err_fd = err[0];
  s.out_is_tty = options.stdout_tty;
  return s;
}

// Reads what is available on `fd` into `sink`; false at end of file (EIO on
// a pseudo-terminal master whose slave side is closed counts as the end).
inline bool read_some(int fd, std::string& sink) {
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      sink.append(buf, static_cast<std::size_t>(n));
      return true;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && errno == EAGAIN) {
      return true;
    }
    return false;
  }
}

}  // namespace cli_detail

/// Runs `liveconf ARGS...` to completion; kills it after options.timeout.
inline CliResult run_cli(const std::vector<std::string>& args, const CliOptions& options = {}) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline = Clock::now() + options.timeout;
  cli_detail::Spawned s = cli_detail::spawn(args, options);
  CliResult result;
  bool out_open = true;
  bool err_open = true;
  while (out_open || err_open) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      break;
    }
    pollfd fds[2] = {{out_open ? s.out_fd : -1, POLLIN, 0}, {err_open ? s.err_fd : -1, POLLIN, 0}};
    if (::poll(fds, 2, static_cast<int>(left.count())) < 0) {
      if (errno == EINTR) {
        continue;
      }
      cli_detail::fail("poll");
    }
    if (out_open && fds[0].revents != 0) {
      out_open = cli_detail::read_some(s.out_fd, result.out);
    }
    if (err_open && fds[1].revents != 0) {
      err_open = cli_detail::read_some(s.err_fd, result.err);
    }
  }
  ::close(s.out_fd);
  ::close(s.err_fd);
  if (result.timed_out) {
    ::kill(s.pid, SIGKILL);
    (void)cli_detail::wait_pid(s.pid, Clock::now() + std::chrono::seconds(10));
    return result;
  }
  const std::optional<int> code = cli_detail::wait_pid(s.pid, deadline);
  if (!code) {
    ::kill(s.pid, SIGKILL);
    (void)cli_detail::wait_pid(s.pid, Clock::now() + std::chrono::seconds(10));
    result.timed_out = true;
    return result;
  }
  result.exit_code = *code;
  return result;
}

/// A `liveconf watch ...` running in the background. Its stdout is split into
/// lines as they arrive; the test takes them in order with next_line() or
/// skips to the one it wants with wait_line(). The destructor kills the
/// process (SIGKILL) if it still runs.
class WatchProcess {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kDefaultTimeout{5000};

  WatchProcess(const std::vector<std::string>& args, const CliOptions& options = {})
      : spawned_(cli_detail::spawn(args, options)) {
    stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (stop_fd_ < 0) {
      cli_detail::fail("eventfd");
    }
    out_thread_ = std::thread([this] { read_loop(spawned_.out_fd, true); });
    err_thread_ = std::thread([this] { read_loop(spawned_.err_fd, false); });
  }

  ~WatchProcess() {
    if (!exit_code_) {
      ::kill(spawned_.pid, SIGKILL);
      (void)cli_detail::wait_pid(spawned_.pid, Clock::now() + std::chrono::seconds(10));
    }
    // A grandchild (--exec) may still hold the pipes: stop the readers explicitly.
    const std::uint64_t one = 1;
    (void)!::write(stop_fd_, &one, sizeof one);
    out_thread_.join();
    err_thread_.join();
    ::close(stop_fd_);
    ::close(spawned_.out_fd);
    ::close(spawned_.err_fd);
  }

  WatchProcess(const WatchProcess&) = delete;
  WatchProcess& operator=(const WatchProcess&) = delete;

  [[nodiscard]] pid_t pid() const { return spawned_.pid; }

  /// The next stdout line not taken yet; nullopt at the deadline or at the end of output.
  std::optional<std::string> next_line(std::chrono::milliseconds timeout = kDefaultTimeout) {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait_for(lk, timeout, [&] { return next_ < lines_.size() || out_eof_; });
    if (next_ < lines_.size()) {
      return lines_[next_++];
    }
    return std::nullopt;
  }

  /// Takes lines until one satisfies `pred` and returns it; nullopt at the
  /// deadline or at the end of output.
  std::optional<std::string> wait_line(const std::function<bool(const std::string&)>& pred,
                                       std::chrono::milliseconds timeout = kDefaultTimeout) {
    const Clock::time_point deadline = Clock::now() + timeout;
    for (;;) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
      std::optional<std::string> line = next_line(std::max(left, std::chrono::milliseconds(0)));
      if (!line) {
        return std::nullopt;
      }
      if (pred(*line)) {
        return line;
      }
    }
  }

  /// True when no line is waiting now (those already read but not taken).
  [[nodiscard]] bool no_pending_line() const {
    std::lock_guard<std::mutex> lk(mu_);
    return next_ >= lines_.size();
  }

  void signal(int sig) const { ::kill(spawned_.pid, sig); }

  /// Waits for the exit: the exit status (128+N if killed by signal N), or
  /// nullopt if it still runs at the deadline.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = kDefaultTimeout) {
    if (!exit_code_) {
      exit_code_ = cli_detail::wait_pid(spawned_.pid, Clock::now() + timeout);
    }
    return exit_code_;
  }

  /// Every complete stdout line so far (taken or not).
  [[nodiscard]] std::vector<std::string> lines() const {
    std::lock_guard<std::mutex> lk(mu_);
    return lines_;
  }
  /// All stdout text so far, incomplete last line included.
  [[nodiscard]] std::string out() const {
    std::lock_guard<std::mutex> lk(mu_);
    std::string all;
    for (const std::string& l : lines_) {
      all += l + "\n";
    }
    return all + partial_;
  }
  /// When each stdout line arrived (the steady clock), in the order of lines().
  [[nodiscard]] std::vector<Clock::time_point> line_times() const {
    std::lock_guard<std::mutex> lk(mu_);
    return line_times_;
  }
  /// All stderr text so far.
  [[nodiscard]] std::string err() const {
    std::lock_guard<std::mutex> lk(mu_);
    return err_;
  }

 private:
  void read_loop(int fd, bool is_stdout) {
    for (;;) {
      pollfd fds[2] = {{fd, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) {
          continue;
        }
        break;
      }
      if (fds[1].revents != 0) {
        break;
      }
      std::string chunk;
      const bool open = cli_detail::read_some(fd, chunk);
      {
        std::lock_guard<std::mutex> lk(mu_);
        if (is_stdout) {
          partial_ += chunk;
          for (std::size_t nl = partial_.find('\n'); nl != std::string::npos;
               nl = partial_.find('\n')) {
            std::string line = partial_.substr(0, nl);
            if (!line.empty() && line.back() == '\r') {  // a terminal's "\r\n"
              line.pop_back();
            }
            lines_.push_back(std::move(line));
            line_times_.push_back(Clock::now());
            partial_.erase(0, nl + 1);
          }
        } else {
          err_ += chunk;
        }
        if (!open && is_stdout) {
          out_eof_ = true;
        }
      }
      cv_.notify_all();
      if (!open) {
        break;
      }
    }
    std::lock_guard<std::mutex> lk(mu_);
    if (is_stdout) {
      out_eof_ = true;
    }
    cv_.notify_all();
  }

  cli_detail::Spawned spawned_;
  int stop_fd_ = -1;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
  std::vector<Clock::time_point> line_times_;
  std::size_t next_ = 0;
  std::string partial_;
  std::string err_;
  bool out_eof_ = false;
  std::optional<int> exit_code_;
  std::thread out_thread_;
  std::thread err_thread_;
};

}  // namespace liveconf::testing
