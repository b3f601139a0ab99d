// The process group behind ChildSupervisor: waitid, /proc scans and group
// signals (process_group.hpp).
#include "cli/process_group.hpp"

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

namespace liveconf::cli {
namespace {
using Clock = std::chrono::steady_clock;

// How often a wait without a pidfd (or for the rest of the group) checks again.
constexpr std::chrono::milliseconds kPollStep{5};

int exit_code_of(const siginfo_t& info) {
  if (info.si_code == CLD_EXITED) {
    return info.si_status & 0xff;
  }
  return 128 + info.si_status;  // CLD_KILLED, CLD_DUMPED: si_status is the signal
}

}  // namespace

std::optional<siginfo_t> try_wait(pid_t pid, bool peek) {
  for (;;) {
    siginfo_t info{};
    const int flags = WEXITED | WNOHANG | (peek ? WNOWAIT : 0);
    if (::waitid(P_PID, static_cast<id_t>(pid), &info, flags) == 0) {
      if (info.si_pid == pid) {
        return info;
      }
      return std::nullopt;
    }
    if (errno == EINTR) {
      continue;
    }
    siginfo_t lost{};
    lost.si_pid = pid;
    lost.si_code = CLD_EXITED;
    lost.si_status = kLostExitCode;
    return lost;
  }
}
int reap_blocking(pid_t pid) {
  for (;;) {
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED) == 0) {
      return exit_code_of(info);
    }
    if (errno != EINTR) {
      return kLostExitCode;
    }
  }
}
namespace {

void sleep_until_or_step(Clock::time_point deadline) {
  const auto left = deadline - Clock::now();
  if (left > Clock::duration::zero()) {
    std::this_thread::sleep_for(std::min<Clock::duration>(left, kPollStep));
  }
}

}  // namespace

// Waits until `pid` exits (without reaping it) or the deadline passes. A pidfd
// (Linux 5.3+) wakes us the moment it exits; without one, poll every kPollStep.
bool wait_exit(pid_t pid, Clock::time_point deadline) {
  int pidfd = -1;
#ifdef SYS_pidfd_open
  // pidfd_open sets close-on-exec itself, so no other thread's spawn inherits it.
  pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#endif
  bool exited = false;
  for (;;) {
    if (try_wait(pid, /*peek=*/true)) {
      exited = true;
      break;
    }
    const auto now = Clock::now();
    if (now >= deadline) {
      break;
    }
    if (pidfd >= 0) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
      pollfd pfd{pidfd, POLLIN, 0};
      if (::poll(&pfd, 1, static_cast<int>(left.count())) < 0 && errno != EINTR) {
        ::close(pidfd);
        pidfd = -1;
      }
    } else {
      sleep_until_or_step(deadline);
    }
  }
  if (pidfd >= 0) {
    ::close(pidfd);
  }
  return exited;
}
namespace {

// From /proc/<pid>/stat: the state letter, the parent and the process group id.
struct ProcStat {
  char state;
  pid_t ppid;
  pid_t pgrp;
};

std::optional<ProcStat> read_stat(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return std::nullopt;
  }
  std::array<char, 512> buf{};
  const ssize_t n = ::read(fd, buf.data(), buf.size() - 1);
  ::close(fd);
  if (n <= 0) {
    return std::nullopt;
  }
  // "pid (comm) S ppid pgrp ...": comm may contain spaces and parentheses, so
  // parse from the last ')'.
  const std::string_view text(buf.data(), static_cast<std::size_t>(n));
  const std::size_t close_paren = text.rfind(')');
  if (close_paren == std::string_view::npos || close_paren + 2 >= text.size()) {
    return std::nullopt;
  }
  std::string_view rest = text.substr(close_paren + 2);
  const char state = rest[0];
  std::array<long, 2> fields{};  // ppid, pgrp
  rest.remove_prefix(1);
  for (long& field : fields) {
    while (!rest.empty() && rest.front() == ' ') {
      rest.remove_prefix(1);
    }
    auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), field);
    if (ec != std::errc()) {
      return std::nullopt;
    }
    rest.remove_prefix(static_cast<std::size_t>(ptr - rest.data()));
  }
  return ProcStat{state, static_cast<pid_t>(fields[0]), static_cast<pid_t>(fields[1])};
}

bool is_live(const ProcStat& st, pid_t pgid) {
  return st.pgrp == pgid && st.state != 'Z' && st.state != 'X';
}

bool live_member(pid_t pid, pid_t pgid) {
  const std::optional<ProcStat> st = read_stat(pid);
  return st && is_live(*st, pgid);
}

struct Member {
  pid_t pid;
  pid_t ppid;
};

// The processes of group `pgid` that have not exited (zombies excluded).
// kill(-pgid, 0) cannot tell: the leader stays a zombie in the group until we
// reap it. Without /proc this finds nobody.
std::vector<Member> group_members(pid_t pgid) {
  std::vector<Member> out;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) {
    return out;
  }
  while (const dirent* entry = ::readdir(dir)) {
    pid_t pid = 0;
    const std::string_view name(entry->d_name);
    auto [ptr, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (ec != std::errc() || ptr != name.data() + name.size()) {
      continue;
    }
    if (const std::optional<ProcStat> st = read_stat(pid); st && is_live(*st, pgid)) {
      out.push_back(Member{pid, st->ppid});
    }
  }
  ::closedir(dir);
  return out;
}

// Live processes of group `pgid` other than `leader`. Without /proc this finds
// nobody: terminate() then SIGKILLs the group at once, and stop_leftovers()
// has nothing to stop.
std::vector<pid_t> live_members(pid_t pgid, pid_t leader) {
  std::vector<pid_t> out;
  for (const Member& m : group_members(pgid)) {
    if (m.pid != leader) {
      out.push_back(m.pid);
    }
  }
  return out;
}

}  // namespace

// Waits until no process but the (zombie) leader is left in the group, or the
// deadline. Scans /proc once, then watches only the members it found, then
// scans again to catch anything they forked meanwhile.
bool wait_group_empty(pid_t pgid, pid_t leader, Clock::time_point deadline) {
  std::vector<pid_t> members = live_members(pgid, leader);
  while (!members.empty()) {
    if (Clock::now() >= deadline) {
      return false;
    }
    sleep_until_or_step(deadline);
    std::erase_if(members, [&](pid_t pid) { return !live_member(pid, pgid); });
    if (members.empty()) {
      members = live_members(pgid, leader);
    }
  }
  return true;
}

// What is left of group `pgid` once its leader has exited: SIGTERM (unless
// `send_term` is false because the operator's signal already went out) and
// SIGCONT, up to `grace` for the group to empty, then SIGKILL.
//
// The group is signalled only while members are seen in it. The caller keeps
// the leader an unreaped zombie meanwhile, and Linux frees a pid (which is
// also the group id) only once no process uses it as pid or pgid, so -pgid
// names this group and no other. (If someone else reaped the leader, seeing
// members is the only guarantee left: the group id stays allocated while they
// live.)
void stop_leftovers(pid_t pgid, std::chrono::milliseconds grace, bool send_term) {
  if (live_members(pgid, pgid).empty()) {
    return;  // the usual case: `exec server`, or a wrapper whose service already exited
  }
  if (send_term) {
    ::kill(-pgid, SIGTERM);
  }
  ::kill(-pgid, SIGCONT);  // a stopped process cannot act on SIGTERM
  if (!wait_group_empty(pgid, pgid, Clock::now() + grace)) {
    ::kill(-pgid, SIGKILL);
    (void)wait_group_empty(pgid, pgid, Clock::now() + kKillWait);
  }
}
namespace {

// Reads a signal mask line ("SigCgt:\t0000000000004002") from /proc/<pid>/status.
std::optional<std::uint64_t> mask_field(std::string_view status, std::string_view field) {
  std::size_t at = 0;
  while (at < status.size()) {
    std::size_t end = status.find('\n', at);
    if (end == std::string_view::npos) {
      end = status.size();
    }
    std::string_view line = status.substr(at, end - at);
    at = end + 1;
    if (!line.starts_with(field) || line.size() <= field.size() || line[field.size()] != ':') {
      continue;
    }
    line.remove_prefix(field.size() + 1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
      line.remove_prefix(1);
    }
    std::uint64_t mask = 0;
    if (std::from_chars(line.data(), line.data() + line.size(), mask, 16).ec != std::errc()) {
      return std::nullopt;
    }
    return mask;
  }
  return std::nullopt;
}

// True if `sig` would end (or stop) `pid`: it neither catches nor ignores it,
// and the default action is not to ignore it. False if that cannot be read (the
// process is gone, or no /proc): then it is treated like any other member.
bool would_die_of(pid_t pid, int sig) {
  if (sig == SIGCHLD || sig == SIGCONT || sig == SIGURG || sig == SIGWINCH) {
    return false;  // ignored by default
  }
  const std::string path = "/proc/" + std::to_string(pid) + "/status";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  std::array<char, 4096> buf{};
  const ssize_t n = ::read(fd, buf.data(), buf.size());
  ::close(fd);
  if (n <= 0) {
    return false;
  }
  const std::string_view status(buf.data(), static_cast<std::size_t>(n));
  const std::optional<std::uint64_t> caught = mask_field(status, "SigCgt");
  const std::optional<std::uint64_t> ignored = mask_field(status, "SigIgn");
  if (!caught || !ignored) {
    return false;
  }
  const std::uint64_t bit = std::uint64_t{1} << (sig - 1);
  return ((*caught | *ignored) & bit) == 0;
}

// Sends `sig` to `pid` if it is (still) a member of group `pgid`. Through a
// pidfd where the kernel has them: the fd names the process found by the scan,
// so a pid freed and reused since can never get the signal.
void signal_member(pid_t pid, pid_t pgid, int sig) {
#if defined(SYS_pidfd_open) && defined(SYS_pidfd_send_signal)
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) {
    // If the fd's process is still alive, /proc/<pid> is that process.
    if (live_member(pid, pgid)) {
      (void)::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0);
    }
    ::close(pidfd);
    return;
  }
#endif
  if (live_member(pid, pgid)) {
    ::kill(pid, sig);
  }
}

}  // namespace

// Sends the reload signal to group `pgid` (its leader not reaped yet), sparing
// its wrappers: members that would die of `sig` while a child of theirs is in
// the group. Such a process is a shell waiting for the service it forked (dash
// forks even for a lone `sh -c "python3 app.py"`, and any shell forks for
// `cd dir && ./server` or a script that does not `exec`): killing it reloads
// nothing and ends the supervision, which is the bug this avoids.
//
// Why not the alternatives: the leader alone (consul-template) is the wrapper
// itself here, so the service would never hear of the change; starting the
// shell with the signal ignored would pass SIG_IGN on through exec, and a
// shell cannot even trap a signal ignored at entry. A member that handles the
// signal, or has no child in the group, gets it whatever it is: a service that
// does not handle its reload signal dies of it and the exit is reported, as
// before.
void deliver_reload_signal(pid_t pgid, int sig) {
  const std::vector<Member> members = group_members(pgid);
  std::vector<pid_t> targets;
  bool spared = false;
  for (const Member& m : members) {
    // std::any_of, not std::ranges::any_of: libc++ 14 has no ranges algorithms.
    const bool has_child = std::any_of(members.begin(), members.end(),
                                       [&](const Member& other) { return other.ppid == m.pid; });
    if (has_child && would_die_of(m.pid, sig)) {
      spared = true;
    } else {
      targets.push_back(m.pid);
    }
  }
  if (!spared) {
    // One kill(2) for the group: atomic, and reaches anything forked since the scan.
    ::kill(-pgid, sig);
    return;
  }
  for (const pid_t pid : targets) {
    signal_member(pid, pgid, sig);
  }
}

}  // namespace liveconf::cli
