// The process group of the child `liveconf watch --exec` supervises: waiting
// for its leader, finding and stopping what is left of the group, and sending
// it a reload signal without killing the shells that wrap the service.
// ChildSupervisor (exec.hpp) is the only user; these are the syscalls and
// /proc reading behind it.
//
// Thread-safety: none needed; they keep no state.
#pragma once

#include <chrono>
#include <csignal>
#include <optional>
#include <sys/types.h>

namespace liveconf::cli {

// Exit code reported when the child's status was lost: someone else reaped it
// (a waitpid(-1) elsewhere, or SIGCHLD set to SIG_IGN). 1: "failed, reason unknown".
inline constexpr int kLostExitCode = 1;
// How long to wait, after SIGKILL, for the group to be gone. SIGKILL cannot be
// refused, but a process dies when it next runs, not at once; only one stuck in
// the kernel (D state) takes longer, and nobody can help that one.
inline constexpr std::chrono::milliseconds kKillWait{2000};

// waitid(P_PID, pid) without blocking. `peek` leaves the child a zombie
// (WNOWAIT), so its pid (and the process group id it names) cannot be reused
// while we still signal the group. Returns the siginfo of an exit, nullopt if
// the child runs; ECHILD (status lost) comes back as an exit with kLostExitCode.
std::optional<siginfo_t> try_wait(pid_t pid, bool peek);

// Reaps `pid`, blocking. Only called after SIGKILL or once the child is known
// to have exited, so it returns promptly (a process stuck in the kernel, D
// state, is the exception nobody can help).
int reap_blocking(pid_t pid);

// Waits until `pid` exits (without reaping it) or the deadline passes. A pidfd
// (Linux 5.3+) wakes us the moment it exits; without one, poll every kPollStep.
bool wait_exit(pid_t pid, std::chrono::steady_clock::time_point deadline);

// Waits until no process but the (zombie) leader is left in the group, or the
// deadline. Scans /proc once, then watches only the members it found, then
// scans again to catch anything they forked meanwhile.
bool wait_group_empty(pid_t pgid, pid_t leader, std::chrono::steady_clock::time_point deadline);

// What is left of group `pgid` once its leader has exited: SIGTERM (unless
// `send_term` is false because the operator's signal already went out) and
// SIGCONT, up to `grace` for the group to empty, then SIGKILL.
void stop_leftovers(pid_t pgid, std::chrono::milliseconds grace, bool send_term);

// Sends the reload signal to group `pgid` (its leader not reaped yet), sparing
// its wrappers: members that would die of `sig` while a child of theirs is in
// the group (process_group.cpp says why).
void deliver_reload_signal(pid_t pgid, int sig);

}  // namespace liveconf::cli
