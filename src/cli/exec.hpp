// Process supervision for `liveconf watch --exec CMD`: start CMD once the
// config is rendered, and on every change restart it or send it a signal
// (consul-template's exec mode).
//
//   ExecOptions exec;
//   exec.command = "exec my-server --config /run/app.json";
//   Result<ExecOptions> parsed = parse_on_change("signal:HUP", exec);
//   ChildSupervisor child(*parsed);
//   child.start();            // after the first render
//   child.config_changed();   // after each re-render
//   child.reap();             // on SIGCHLD: the exit code if CMD exited by itself
//
// The supervisor installs no signal handlers and never blocks in waitpid()
// except while stopping a child's process group (bounded by the grace period):
// one it was told to stop, or what a child that exited left behind. The
// caller reads SIGCHLD/SIGTERM/... from a signalfd and calls reap()/forward().
// CMD starts with an empty signal mask and default signal dispositions
// whatever the caller blocked, in its own process group.
//
// Thread-safety: none; one thread (the main loop) owns a ChildSupervisor.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdint>
#include <optional>
#include <spawn.h>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include "liveconf/status.hpp"

namespace liveconf::cli {

/// Sets `attr` so a spawned child starts with an empty signal mask and default
/// dispositions (the caller blocks signals in every thread to read them from a
/// signalfd, and a mask survives exec). The caller adds kCleanSignalFlags to
/// its posix_spawnattr_setflags.
void clean_signals_for_child(posix_spawnattr_t& attr);
inline constexpr int kCleanSignalFlags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;

struct ExecOptions {
  std::string command;  // run as /bin/sh -c command
  enum class OnChange : std::uint8_t { kRestart, kSignal } on_change = OnChange::kRestart;
  int signal = SIGHUP;                     // for kSignal
  std::chrono::milliseconds grace{10000};  // restart/stop: SIGTERM, then SIGKILL after this
  /// The shell that runs `command` (tests point it at a missing file to make spawning fail).
  std::string shell = "/bin/sh";
  /// "NAME=value" entries set in the command's environment (over liveconf's own).
  std::vector<std::string> extra_env;
};

/// `liveconf watch --health-cmd CMD`: runs `/bin/sh -c CMD` once with
/// LIVECONF_GENERATION=`generation` in its environment, in its own process
/// group. ok if it exits 0 within `timeout`; otherwise kUnavailable saying
/// "exited with status N" or "did not finish within T" (then its group is
/// stopped: SIGTERM, up to one second, SIGKILL). Its output goes where
/// liveconf's goes. Thread-safe (a ChildSupervisor of its own per call).
[[nodiscard]] Status run_health_command(const std::string& command, std::uint64_t generation,
                                        std::chrono::milliseconds timeout);

/// Parses "restart", "signal:HUP", "signal:SIGUSR1", "signal:10"; errors name the bad text.
/// Accepted signal names: HUP, INT, QUIT, USR1, USR2, TERM, ALRM, WINCH, CONT (with or
/// without "SIG", any case); numbers 1..NSIG-1 except SIGKILL and SIGSTOP.
/// Errors: kValidation.
[[nodiscard]] Result<ExecOptions> parse_on_change(std::string_view text, ExecOptions base);

/// The exit code a shell would report for a wait status: the exit status
/// (0-255), or 128+N for a child killed by signal N.
[[nodiscard]] int exit_code_of_wait_status(int wait_status);

/// Runs one child process (`shell -c command`, the group leader) and restarts
/// or signals it on config changes. Everything the command starts shares the
/// leader's process group, and the supervisor answers for all of it: no
/// process of the group outlives the supervision.
///
/// Stopping (restart, stop(), destruction): SIGTERM (and SIGCONT, so a stopped
/// child can act on it) to the group; wait up to `grace` for the group to
/// empty; then SIGKILL to the group; the leader is reaped before returning.
///
/// The leader exiting by itself (or killed by someone else): before reap()
/// reports the exit, the rest of the group is stopped the same way (SIGTERM +
/// SIGCONT, up to `grace`, SIGKILL). A `sh -c` wrapper that dies must not leave
/// the service it forked running, orphaned under init. So reap() can block for
/// up to about `grace` when the leader left processes behind; it returns at
/// once in the usual case (`exec my-server`, or the service exited first).
///
/// Reload signals (OnChange::kSignal) go to every process of the group except
/// its *wrappers*: a process that would die of the signal (it neither catches
/// nor ignores it, and its default action is not "ignore") while one of its
/// children is in the group. That is the shell running `cd dir && ./server`,
/// `python3 app.py` (dash forks even for one command) or a script that does
/// not `exec`: it waits for the service, and killing it would reload nothing
/// and end the supervision instead. When no member is a wrapper the signal
/// goes to the group in one kill(-pgid, sig), as a terminal would send it.
/// Examples with signal:HUP:
///   `exec my-server`                 my-server (and its workers) get SIGHUP
///   `cd dir && ./server`             ./server gets it; the waiting sh does not
///   `trap 'reload' HUP; while ...`   the shell handles HUP, so it gets it
///   `exec sleep 100`                 no handler, no child: it gets it, dies,
///                                    and reap() reports 129
/// A wrapper that handles the signal (to pass it on) gets it too.
/// consul-template signals the leader alone; with a wrapper as leader that
/// never reaches the service. Starting the shell with the signal ignored is
/// no fix either: SIG_IGN survives exec, so the service would inherit it.
///
/// Limits: a process that leaves the group (setsid(), setpgid(), a daemon
/// that double-forks into its own session) is out of reach, as it is for any
/// process-group supervisor. Spotting wrappers and leftovers reads /proc; a
/// process forked while the reload signal is being sent member by member (only
/// when a wrapper is spared) may miss it.
///
/// Thread-safety: not thread-safe; use from one thread.
class ChildSupervisor {
 public:
  explicit ChildSupervisor(ExecOptions options);
  /// Stops a running child (SIGTERM, grace, SIGKILL) and reaps it.
  ~ChildSupervisor();
  ChildSupervisor(const ChildSupervisor&) = delete;
  ChildSupervisor& operator=(const ChildSupervisor&) = delete;
  ChildSupervisor(ChildSupervisor&&) = delete;
  ChildSupervisor& operator=(ChildSupervisor&&) = delete;

  /// Spawns the child. Errors: kIo naming the command if spawning fails;
  /// kInternal if a child is already running.
  [[nodiscard]] Status start();

  /// Restarts the child or signals its group (sparing wrappers, see above), per
  /// the options. Starts it if no child is running. If the child has exited by
  /// itself and reap() has not reported that yet, does nothing (returns ok):
  /// the exit stays for reap(), so a config change never hides the child's
  /// death from the caller. Likewise after forward() passed on a terminating
  /// signal: the child is on its way out.
  /// Errors: as start().
  [[nodiscard]] Status config_changed();

  /// Sends `sig` (SIGINT/SIGTERM from the operator) to the child's group; no-op
  /// when no child runs. The exit that follows is the child's own: reap()
  /// reports it. After forwarding SIGINT, SIGTERM or SIGQUIT, stop() sends no
  /// SIGTERM of its own (many servers take a second signal as "quit now"): it
  /// only waits the grace, then SIGKILLs.
  void forward(int sig);

  /// Call when SIGCHLD arrives (and it is fine to call any time): reaps without
  /// blocking while the child runs. Returns the exit code (0-255, or
  /// 128+signal) if the child exited by itself since the last call, once the
  /// rest of its process group is stopped (which takes up to about `grace`,
  /// see above); nullopt if it is still running, if none runs, or if the exit
  /// was one we caused by restarting (those are reaped inside config_changed()).
  [[nodiscard]] std::optional<int> reap();

  /// Stops the child (SIGTERM, grace, SIGKILL) and returns its exit code; if it
  /// had already exited unreported, returns that code. nullopt if none ran.
  /// Blocks for at most about `grace` (plus the moment SIGKILL takes).
  /// `forward(SIGTERM); stop();` is the way to end on the operator's signal.
  std::optional<int> stop();

  /// True from start() until reap()/stop() collects the child's exit.
  [[nodiscard]] bool running() const;
  /// The child's pid (also its process group id); 0 when not running.
  [[nodiscard]] pid_t pid() const;
  /// How many times config_changed() replaced a running child.
  [[nodiscard]] int restarts() const;

 private:
  // Checks for the leader's exit without blocking; if it exited, stops what is
  // left of its group, reaps it, stores the code in exited_code_, clears pid_.
  void poll_exit();
  // SIGTERM, grace, SIGKILL; returns the leader's exit code.
  int terminate();

  ExecOptions options_;
  pid_t pid_ = 0;
  std::optional<int> exited_code_;  // an exit noticed but not yet reported
  bool asked_to_stop_ = false;      // forward() already sent a terminating signal
  int restarts_ = 0;
};

}  // namespace liveconf::cli
