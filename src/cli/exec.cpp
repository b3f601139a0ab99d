// `liveconf watch --exec`: spawning, signalling and reaping the supervised
// child. No signal handlers and no blocking waits on a child that has not been
// told to stop: the main loop owns SIGCHLD (through a signalfd) and calls reap().
#include "cli/exec.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <string>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

#include "liveconf/env.hpp"

#include "cli/process_group.hpp"

namespace liveconf::cli {
namespace {
using Clock = std::chrono::steady_clock;

struct SignalName {
  std::string_view name;
  int number;
};
// The signals worth sending a server on a config change. KILL and STOP are
// left out on purpose: neither lets the child reload ("restart" exists for that).
constexpr std::array<SignalName, 9> kSignalNames{{
    {"HUP", SIGHUP},
    {"INT", SIGINT},
    {"QUIT", SIGQUIT},
    {"USR1", SIGUSR1},
    {"USR2", SIGUSR2},
    {"TERM", SIGTERM},
    {"ALRM", SIGALRM},
    {"WINCH", SIGWINCH},
    {"CONT", SIGCONT},
}};

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

std::optional<int> parse_signal(std::string_view text) {
  int number = 0;
  const char* end = text.data() + text.size();
  if (auto [ptr, ec] = std::from_chars(text.data(), end, number);
      ec == std::errc() && ptr == end && !text.empty()) {
    if (number < 1 || number >= NSIG || number == SIGKILL || number == SIGSTOP) {
      return std::nullopt;
    }
    return number;
  }
  std::string name = upper(text);
  if (name.starts_with("SIG")) {
    name.erase(0, 3);
  }
  for (const SignalName& s : kSignalNames) {
    if (s.name == name) {
      return s.number;
    }
  }
  return std::nullopt;
}

}  // namespace

Result<ExecOptions> parse_on_change(std::string_view text, ExecOptions base) {
  constexpr std::string_view kSignalPrefix = "signal:";
  if (text == "restart") {
    base.on_change = ExecOptions::OnChange::kRestart;
    return base;
  }
  if (text.starts_with(kSignalPrefix)) {
    const std::string_view name = text.substr(kSignalPrefix.size());
    const std::optional<int> sig = parse_signal(name);
    if (!sig) {
      return Error(ErrorCode::kValidation,
                   "invalid --on-change value \"" + std::string(text) + "\": unknown signal \"" +
                       std::string(name) +
                       "\" (expected HUP, INT, QUIT, USR1, USR2, TERM, ALRM, WINCH, CONT or a "
                       "number other than 9 and 19)");
    }
    base.on_change = ExecOptions::OnChange::kSignal;
    base.signal = *sig;
    return base;
  }
  return Error(ErrorCode::kValidation, "invalid --on-change value \"" + std::string(text) +
                                           "\" (expected \"restart\" or \"signal:NAME\", "
                                           "e.g. \"signal:HUP\")");
}

int exit_code_of_wait_status(int wait_status) {
  if (WIFSIGNALED(wait_status)) {
    return 128 + WTERMSIG(wait_status);
  }
  return WEXITSTATUS(wait_status);
}

ChildSupervisor::ChildSupervisor(ExecOptions options) : options_(std::move(options)) {}

ChildSupervisor::~ChildSupervisor() {
  if (pid_ != 0) {
    terminate();
  }
}

void clean_signals_for_child(posix_spawnattr_t& attr) {
  sigset_t empty;
  sigemptyset(&empty);
  ::posix_spawnattr_setsigmask(&attr, &empty);
  sigset_t all;
  sigemptyset(&all);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) {
      // Refused (harmlessly) for glibc's two reserved signals, 32 and 33, which
      // its posix_spawn leaves ignored in the child whatever we ask; only code
      // using them (glibc's own thread cancellation) cares, and it installs
      // handlers before use.
      sigaddset(&all, sig);
    }
  }
  ::posix_spawnattr_setsigdefault(&attr, &all);
}

Status ChildSupervisor::start() {
  if (pid_ != 0) {
    return Error(ErrorCode::kInternal, "cannot start \"" + options_.command +
                                           "\": already running as pid " + std::to_string(pid_));
  }
  exited_code_.reset();
  asked_to_stop_ = false;

  // The caller blocks SIGCHLD, SIGTERM, ... in every thread to read them from a
  // signalfd, and the mask survives exec: the child must start with an empty
  // mask and default dispositions or it could never be stopped by SIGTERM.
  posix_spawnattr_t attr;
  ::posix_spawnattr_init(&attr);
  clean_signals_for_child(attr);
  // Its own process group (pgid = its pid), so one kill(-pgid, sig) reaches the
  // `sh -c` wrapper and everything it starts.
  ::posix_spawnattr_setpgroup(&attr, 0);
  ::posix_spawnattr_setflags(&attr, static_cast<short>(kCleanSignalFlags | POSIX_SPAWN_SETPGROUP));

  std::string shell = options_.shell;
  std::string dash_c = "-c";
  std::string command = options_.command;
  std::array<char*, 4> argv{shell.data(), dash_c.data(), command.data(), nullptr};
  // The environment as liveconf's lock sees it: reading `environ` directly
  // would race liveconf::set_env() on another thread.
  std::vector<std::string> env_entries;
  // (No structured binding: clang 14, the libc++ build's compiler, cannot
  // capture one in a lambda.)
  for (const auto& entry : environment_snapshot()) {
    const std::string prefix = entry.first + "=";
    const bool replaced = std::any_of(options_.extra_env.begin(), options_.extra_env.end(),
                                      [&](const std::string& e) { return e.starts_with(prefix); });
    if (!replaced) {
      env_entries.push_back(prefix + entry.second);
    }
  }
  env_entries.insert(env_entries.end(), options_.extra_env.begin(), options_.extra_env.end());
  std::vector<char*> envp;
  envp.reserve(env_entries.size() + 1);
  for (std::string& entry : env_entries) {
    envp.push_back(entry.data());
  }
  envp.push_back(nullptr);

  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, shell.c_str(), nullptr, &attr, argv.data(), envp.data());
  ::posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return Error(ErrorCode::kIo, "cannot start \"" + options_.command + "\" with " +
                                     options_.shell + ": " + std::strerror(rc));
  }
  pid_ = pid;
  return ok_status();
}

Status ChildSupervisor::config_changed() {
  poll_exit();
  if (exited_code_) {
    return ok_status();  // reap() reports the exit; the caller decides what follows
  }
  if (asked_to_stop_) {
    return ok_status();  // the operator asked it to stop: never restart it behind their back
  }
  if (pid_ == 0) {
    return start();
  }
  if (options_.on_change == ExecOptions::OnChange::kSignal) {
    // poll_exit() found the leader running, and we have not reaped it since,
    // so the group id is still ours.
    deliver_reload_signal(pid_, options_.signal);
    return ok_status();
  }
  terminate();  // an exit we caused: not reported
  Status started = start();
  if (started) {
    ++restarts_;
  }
  return started;
}

void ChildSupervisor::forward(int sig) {
  if (pid_ != 0) {
    // The leader is not reaped yet (pid_ != 0), so the group id is still ours.
    ::kill(-pid_, sig);
    asked_to_stop_ = asked_to_stop_ || sig == SIGINT || sig == SIGTERM || sig == SIGQUIT;
  }
}

std::optional<int> ChildSupervisor::reap() {
  poll_exit();
  return std::exchange(exited_code_, std::nullopt);
}

std::optional<int> ChildSupervisor::stop() {
  if (pid_ != 0) {
    return terminate();
  }
  return std::exchange(exited_code_, std::nullopt);
}

bool ChildSupervisor::running() const { return pid_ != 0; }

pid_t ChildSupervisor::pid() const { return pid_; }

int ChildSupervisor::restarts() const { return restarts_; }

void ChildSupervisor::poll_exit() {
  if (pid_ == 0) {
    return;
  }
  // Peek first: the leader stays a zombie, holding its pid and so the group id,
  // while stop_leftovers() signals the group.
  if (!try_wait(pid_, /*peek=*/true)) {
    return;
  }
  // A supervisor never leaves its service behind: a `sh -c` wrapper (or any
  // wrapper that forks) may have died while what it started still runs.
  // Stop that before reporting the exit, or liveconf would exit and leave it
  // orphaned under init.
  stop_leftovers(pid_, options_.grace, /*send_term=*/!asked_to_stop_);
  exited_code_ = reap_blocking(pid_);  // ECHILD (status lost): kLostExitCode
  pid_ = 0;
}

int ChildSupervisor::terminate() {
  const pid_t leader = pid_;
  // Once forward() passed on the operator's signal, a second one could turn the
  // child's graceful shutdown into an abrupt one: only the grace is left to give.
  if (!asked_to_stop_) {
    ::kill(-leader, SIGTERM);
  }
  // SIGCONT too, as systemd does: a stopped child cannot act on SIGTERM.
  ::kill(-leader, SIGCONT);
  const Clock::time_point deadline = Clock::now() + options_.grace;
  // The leader stays a zombie (waited with WNOWAIT) until the group is gone, so
  // its pid, which is also the group id, cannot be reused while we signal -pgid.
  // Waiting for the whole group means a restart never overlaps an old server
  // that a non-exec'ing `sh -c` left behind.
  if (!wait_exit(leader, deadline) || !wait_group_empty(leader, leader, deadline)) {
    ::kill(-leader, SIGKILL);
    // Let the killed die before the leader is reaped (and its group id freed),
    // so nothing of the group outlives the call.
    (void)wait_group_empty(leader, leader, Clock::now() + kKillWait);
  }
  const int code = reap_blocking(leader);
  pid_ = 0;
  exited_code_.reset();
  asked_to_stop_ = false;
  return code;
}

Status run_health_command(const std::string& command, std::uint64_t generation,
                          std::chrono::milliseconds timeout) {
  ExecOptions options;
  options.command = command;
  options.grace = std::chrono::milliseconds(1000);
  options.extra_env.push_back("LIVECONF_GENERATION=" + std::to_string(generation));
  ChildSupervisor child(options);
  if (Status st = child.start(); !st.ok()) {
    return Error(ErrorCode::kUnavailable, "--health-cmd: " + st.error().message());
  }
  if (!wait_exit(child.pid(), std::chrono::steady_clock::now() + timeout)) {
    (void)child.stop();
    return Error(ErrorCode::kUnavailable,
                 "--health-cmd did not finish within " + std::to_string(timeout.count()) + " ms");
  }
  const std::optional<int> code = child.reap();
  if (code && *code != 0) {
    return Error(ErrorCode::kUnavailable,
                 "--health-cmd exited with status " + std::to_string(*code));
  }
  return ok_status();
}

}  // namespace liveconf::cli
