// ChildSupervisor against real processes: start, restart, signal, grace and
// SIGKILL, forwarding, exit codes, the child's signal state, fd hygiene.
#include "cli/exec.hpp"

#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>
#include <pthread.h>
#include <string>
#include <sys/types.h>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "testutil/temp_dir.hpp"

namespace liveconf::cli {
namespace {

using liveconf::testing::read_file;
using liveconf::testing::TempDir;
using liveconf::testing::wait_until;
using std::chrono::milliseconds;
namespace fs = std::filesystem;

constexpr milliseconds kWait{5000};

// Single-quoted for sh (paths come from TempDir, never contain a quote).
std::string q(const fs::path& path) { return "'" + path.string() + "'"; }

ExecOptions options_for(std::string command, milliseconds grace = milliseconds(3000)) {
  ExecOptions o;
  o.command = std::move(command);
  o.grace = grace;
  return o;
}

// The pid a child wrote as "PID\n" (a whole line, so never half written).
std::optional<pid_t> read_pid(const fs::path& path) {
  const std::optional<std::string> text = read_file(path);
  if (!text || text->empty() || text->back() != '\n') {
    return std::nullopt;
  }
  return static_cast<pid_t>(std::stol(*text));
}

pid_t wait_pid_file(const fs::path& path) {
  std::optional<pid_t> pid;
  EXPECT_TRUE(wait_until([&] { return (pid = read_pid(path)).has_value(); }, kWait))
      << "no pid in " << path;
  return pid.value_or(0);
}

// True once `pid` is gone or a zombie: a grandchild orphaned to init may wait
// a moment to be reaped, and a zombie runs nothing.
bool gone_or_zombie(pid_t pid) {
  const std::optional<std::string> stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) {
    return true;
  }
  const std::size_t paren = stat->rfind(')');
  return paren != std::string::npos && paren + 2 < stat->size() && (*stat)[paren + 2] == 'Z';
}

bool exists(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

std::optional<int> wait_reap(ChildSupervisor& child) {
  std::optional<int> code;
  wait_until([&] { return (code = child.reap()).has_value(); }, kWait);
  return code;
}

// "SigBlk:\t0000000000000000" -> "0000000000000000".
std::string status_field(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(field + ":")) {
      return line.substr(line.find_first_not_of(" \t", field.size() + 1));
    }
  }
  return "<missing>";
}

int count_open_fds() {
  int n = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/self/fd")) {
    ++n;
  }
  return n;
}

// The processes of group `pgid` that have not exited (zombies run nothing).
std::vector<pid_t> group_survivors(pid_t pgid) {
  std::vector<pid_t> out;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    if (!gone_or_zombie(pid) && ::getpgid(pid) == pgid) {
      out.push_back(pid);
    }
  }
  return out;
}

// Writes an executable /bin/sh script.
fs::path write_script(const TempDir& dir, const std::string& name, const std::string& body) {
  const fs::path path = dir.write(name, "#!/bin/sh\n" + body);
  fs::permissions(path, fs::perms::owner_all, fs::perm_options::add);
  return path;
}

// A service: records each SIGHUP in `hups` and writes its pid once its traps
// are set; `setup` (more traps) runs first.
std::string service_script(const TempDir& dir, const std::string& setup = "") {
  return setup + "trap 'echo hup >> " + q(dir / "hups") + "' HUP\necho $$ > " +
         q(dir / "server.pid") + "\nwhile :; do sleep 0.05; done\n";
}

// A wrapper that forks the service instead of exec'ing it (a command follows).
std::string wrapper_script(const TempDir& dir, const fs::path& server) {
  return "echo $$ > " + q(dir / "wrapper.pid") + "\n" + q(server) +
         "\necho \"server exited $?\" >> " + q(dir / "wrapper.log") + "\n";
}

ExecOptions reload_on(const std::string& sig, ExecOptions o) {
  Result<ExecOptions> parsed = parse_on_change("signal:" + sig, std::move(o));
  EXPECT_TRUE(parsed) << parsed.error().to_string();
  return parsed ? *parsed : ExecOptions{};
}

// A child that loops until told otherwise; `setup` runs first (traps).
std::string looping(const fs::path& pid_file, const std::string& setup = "") {
  return setup + "echo $$ > " + q(pid_file) + "; while :; do sleep 0.05; done";
}

TEST(ChildSupervisorTest, StartsTheCommandThroughTheShell) {
  TempDir dir;
  ChildSupervisor child(options_for("echo $$ > " + q(dir / "pid") + "; exec sleep 30"));
  EXPECT_FALSE(child.running());
  EXPECT_EQ(child.pid(), 0);
  ASSERT_TRUE(child.start().ok());
  EXPECT_TRUE(child.running());
  EXPECT_EQ(wait_pid_file(dir / "pid"), child.pid());
  EXPECT_EQ(child.reap(), std::nullopt);
  EXPECT_TRUE(child.running());
}

TEST(ChildSupervisorTest, RestartStartsANewProcessAndTheOldIsGone) {
  TempDir dir;
  ChildSupervisor child(options_for("echo $$ > " + q(dir / "pid") + "; exec sleep 30"));
  ASSERT_TRUE(child.start().ok());
  const pid_t first = wait_pid_file(dir / "pid");
  ASSERT_EQ(first, child.pid());
  fs::remove(dir / "pid");

  ASSERT_TRUE(child.config_changed().ok());
  const pid_t second = wait_pid_file(dir / "pid");
  EXPECT_EQ(second, child.pid());
  EXPECT_NE(second, first);
  EXPECT_FALSE(exists(first)) << "the old child was not reaped";
  EXPECT_EQ(child.restarts(), 1);
  // The exit we caused is not the child's own: nothing to report.
  EXPECT_EQ(child.reap(), std::nullopt);
  EXPECT_TRUE(child.running());
}

TEST(ChildSupervisorTest, SignalModeDeliversTheSignalAndKeepsTheProcess) {
  TempDir dir;
  const fs::path hups = dir / "hups";
  ExecOptions o = options_for(looping(dir / "pid", "trap 'echo hup >> " + q(hups) + "' HUP; "));
  Result<ExecOptions> parsed = parse_on_change("signal:HUP", o);
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  ChildSupervisor child(*parsed);
  ASSERT_TRUE(child.start().ok());
  const pid_t pid = wait_pid_file(dir / "pid");  // written after the trap is set

  ASSERT_TRUE(child.config_changed().ok());
  EXPECT_TRUE(wait_until([&] { return read_file(hups).value_or("") == "hup\n"; }, kWait));
  ASSERT_TRUE(child.config_changed().ok());
  EXPECT_TRUE(wait_until([&] { return read_file(hups).value_or("") == "hup\nhup\n"; }, kWait));
  EXPECT_EQ(child.pid(), pid);
  EXPECT_TRUE(exists(pid));
  EXPECT_EQ(child.reap(), std::nullopt);
  EXPECT_EQ(child.restarts(), 0);
}

TEST(ChildSupervisorTest, AChildIgnoringSigtermIsKilledAfterTheGrace) {
  TempDir dir;
  const milliseconds grace(300);
  ChildSupervisor child(options_for(looping(dir / "pid", "trap '' TERM; "), grace));
  ASSERT_TRUE(child.start().ok());
  const pid_t pid = wait_pid_file(dir / "pid");

  const auto begin = std::chrono::steady_clock::now();
  EXPECT_EQ(child.stop(), 128 + SIGKILL);
  const auto took = std::chrono::steady_clock::now() - begin;
  EXPECT_GE(took, grace);
  EXPECT_LT(took, milliseconds(3000));
  EXPECT_FALSE(exists(pid));
  EXPECT_FALSE(child.running());
  EXPECT_EQ(child.stop(), std::nullopt);
}

TEST(ChildSupervisorTest, RestartKillsAChildIgnoringSigtermAfterTheGrace) {
  TempDir dir;
  ChildSupervisor child(options_for(looping(dir / "pid", "trap '' TERM; "), milliseconds(300)));
  ASSERT_TRUE(child.start().ok());
  const pid_t first = wait_pid_file(dir / "pid");
  fs::remove(dir / "pid");
  ASSERT_TRUE(child.config_changed().ok());
  EXPECT_FALSE(exists(first));
  EXPECT_NE(wait_pid_file(dir / "pid"), first);
  EXPECT_EQ(child.reap(), std::nullopt);
}

TEST(ChildSupervisorTest, ForwardedSigtermEndsTheChildAndReapReports143) {
  TempDir dir;
  ChildSupervisor child(options_for("echo $$ > " + q(dir / "pid") + "; exec sleep 30"));
  ASSERT_TRUE(child.start().ok());
  const pid_t pid = wait_pid_file(dir / "pid");
  child.forward(SIGTERM);
  EXPECT_EQ(wait_reap(child), 128 + SIGTERM);
  EXPECT_FALSE(child.running());
  EXPECT_EQ(child.pid(), 0);
  EXPECT_FALSE(exists(pid));
  EXPECT_EQ(child.reap(), std::nullopt);  // reported once
  EXPECT_EQ(child.stop(), std::nullopt);
}

TEST(ChildSupervisorTest, ForwardedSigtermToATrappingChildReportsItsOwnCode) {
  TempDir dir;
  ChildSupervisor child(options_for(looping(dir / "pid", "trap 'exit 3' TERM; ")));
  ASSERT_TRUE(child.start().ok());
  wait_pid_file(dir / "pid");
  child.forward(SIGTERM);
  EXPECT_EQ(wait_reap(child), 3);
}

TEST(ChildSupervisorTest, StopReportsTheChildsOwnExitCode) {
  TempDir dir;
  ChildSupervisor child(options_for(looping(dir / "pid", "trap 'exit 3' TERM; ")));
  ASSERT_TRUE(child.start().ok());
  wait_pid_file(dir / "pid");
  EXPECT_EQ(child.stop(), 3);
  EXPECT_FALSE(child.running());
}

TEST(ChildSupervisorTest, StopAfterForwardDoesNotSignalAgain) {
  TempDir dir;
  const fs::path log = dir / "log";
  ChildSupervisor child(options_for(looping(
      dir / "pid", "trap 'echo int >> " + q(log) + "; sleep 0.1; exit 4' INT; trap 'echo term >> " +
                       q(log) + "' TERM; ")));
  ASSERT_TRUE(child.start().ok());
  wait_pid_file(dir / "pid");
  child.forward(SIGINT);
  const pid_t pid = child.pid();
  ASSERT_TRUE(child.config_changed().ok());  // no restart while it shuts down
  EXPECT_EQ(child.pid(), pid);
  EXPECT_EQ(child.restarts(), 0);
  EXPECT_EQ(child.stop(), 4);
  EXPECT_EQ(read_file(log), "int\n");
}

TEST(ChildSupervisorTest, AChildExitingByItselfIsReportedOnce) {
  TempDir dir;
  ChildSupervisor child(options_for("exit 7"));
  ASSERT_TRUE(child.start().ok());
  EXPECT_EQ(wait_reap(child), 7);
  EXPECT_FALSE(child.running());
  EXPECT_EQ(child.reap(), std::nullopt);
}

TEST(ChildSupervisorTest, AConfigChangeDoesNotHideAnUnreportedExit) {
  TempDir dir;
  ChildSupervisor child(options_for("exit 7"));
  ASSERT_TRUE(child.start().ok());
  const pid_t pid = child.pid();
  // Wait for the exit without reaping, as if SIGCHLD were still unread.
  ASSERT_TRUE(wait_until([&] { return gone_or_zombie(pid); }, kWait));
  ASSERT_TRUE(child.config_changed().ok());
  EXPECT_FALSE(child.running()) << "restarted over an exit the caller has not seen";
  EXPECT_EQ(child.reap(), 7);
  // Once reported, a config change starts it again.
  ASSERT_TRUE(child.config_changed().ok());
  EXPECT_TRUE(child.running());
  EXPECT_EQ(wait_reap(child), 7);
}

TEST(ChildSupervisorTest, ConfigChangedStartsAChildThatIsNotRunning) {
  TempDir dir;
  ChildSupervisor child(options_for("echo $$ > " + q(dir / "pid") + "; exec sleep 30"));
  ASSERT_TRUE(child.config_changed().ok());
  EXPECT_EQ(wait_pid_file(dir / "pid"), child.pid());
  EXPECT_EQ(child.restarts(), 0);
}

TEST(ChildSupervisorTest, TheChildStartsWithAnEmptyMaskAndDefaultDispositions) {
  TempDir dir;
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGHUP);
  sigaddset(&block, SIGCHLD);
  sigset_t saved_mask;
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &block, &saved_mask), 0);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction saved_usr2 {};
  ASSERT_EQ(::sigaction(SIGUSR2, &ignore, &saved_usr2), 0);

  ChildSupervisor child(options_for("echo $$ > " + q(dir / "pid") + "; exec sleep 30"));
  const Status started = child.start();
  ::sigaction(SIGUSR2, &saved_usr2, nullptr);
  ::pthread_sigmask(SIG_SETMASK, &saved_mask, nullptr);
  ASSERT_TRUE(started.ok()) << started.to_string();
  const pid_t pid = wait_pid_file(dir / "pid");
  // After `exec sleep`, wait for the exec to show (the comm changes).
  EXPECT_TRUE(wait_until(
      [&] { return read_file("/proc/" + std::to_string(pid) + "/comm") == "sleep\n"; }, kWait));
  EXPECT_EQ(status_field(pid, "SigBlk"), "0000000000000000");
  // glibc's posix_spawn (2.36) leaves its own two reserved signals (32 and 33,
  // below SIGRTMIN) ignored in the child; nothing else may be.
  const unsigned long long ignored = std::stoull(status_field(pid, "SigIgn"), nullptr, 16);
  unsigned long long reserved = 0;
  for (int sig = 32; sig < SIGRTMIN; ++sig) {
    reserved |= 1ULL << (sig - 1);
  }
  EXPECT_EQ(ignored & ~reserved, 0u) << status_field(pid, "SigIgn");
  // Its own process group.
  EXPECT_EQ(::getpgid(pid), pid);
}

TEST(ChildSupervisorTest, SignalsReachTheWholeProcessGroup) {
  TempDir dir;
  // sh does not exec a background job: the sleep is a grandchild.
  ChildSupervisor child(options_for("sleep 30 & echo $! > " + q(dir / "gc") + "; wait"));
  ASSERT_TRUE(child.start().ok());
  const pid_t grandchild = wait_pid_file(dir / "gc");
  EXPECT_EQ(::getpgid(grandchild), child.pid());
  EXPECT_EQ(child.stop(), 128 + SIGTERM);
  EXPECT_TRUE(wait_until([&] { return gone_or_zombie(grandchild); }, kWait));
}

TEST(ChildSupervisorTest, StopWaitsForTheGroupNotJustTheShell) {
  TempDir dir;
  // The outer sh dies on SIGTERM at once; the inner one needs 200 ms to shut
  // down cleanly, and must get them rather than an early SIGKILL.
  const std::string inner = "trap 'sleep 0.2; echo done > " + q(dir / "marker") +
                            "; exit 0' TERM; echo \\$\\$ > " + q(dir / "gc") +
                            "; while :; do sleep 0.05; done";
  ChildSupervisor child(
      options_for("sh -c \"" + inner + "\" 2>/dev/null & wait", milliseconds(5000)));
  ASSERT_TRUE(child.start().ok());
  const pid_t grandchild = wait_pid_file(dir / "gc");
  const auto begin = std::chrono::steady_clock::now();
  EXPECT_EQ(child.stop(), 128 + SIGTERM);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, milliseconds(3000));
  EXPECT_EQ(read_file(dir / "marker"), "done\n");
  EXPECT_TRUE(wait_until([&] { return gone_or_zombie(grandchild); }, kWait));
}

TEST(ChildSupervisorTest, GroupMembersIgnoringSigtermAreKilledAfterTheGrace) {
  TempDir dir;
  const std::string inner =
      "trap '' TERM; echo \\$\\$ > " + q(dir / "gc") + "; while :; do sleep 0.05; done";
  const milliseconds grace(300);
  ChildSupervisor child(options_for("sh -c \"" + inner + "\" 2>/dev/null & wait", grace));
  ASSERT_TRUE(child.start().ok());
  const pid_t grandchild = wait_pid_file(dir / "gc");
  const auto begin = std::chrono::steady_clock::now();
  EXPECT_EQ(child.stop(), 128 + SIGTERM);  // the shell itself died of SIGTERM
  EXPECT_GE(std::chrono::steady_clock::now() - begin, grace);
  EXPECT_TRUE(wait_until([&] { return gone_or_zombie(grandchild); }, kWait));
}

TEST(ChildSupervisorTest, DestructionStopsTheChild) {
  TempDir dir;
  pid_t pid = 0;
  {
    ChildSupervisor child(options_for("echo $$ > " + q(dir / "pid") + "; exec sleep 30"));
    ASSERT_TRUE(child.start().ok());
    pid = wait_pid_file(dir / "pid");
  }
  EXPECT_FALSE(exists(pid));
}

TEST(ChildSupervisorTest, SpawnFailureIsAnIoErrorNamingTheCommand) {
  TempDir dir;
  ExecOptions o = options_for("my-server --flag");
  o.shell = (dir / "no-such-shell").string();
  ChildSupervisor child(o);
  const Status started = child.start();
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().code(), ErrorCode::kIo);
  EXPECT_NE(started.error().message().find("my-server --flag"), std::string::npos)
      << started.error().message();
  EXPECT_FALSE(child.running());
  EXPECT_EQ(child.stop(), std::nullopt);
}

TEST(ChildSupervisorTest, StartTwiceIsRefused) {
  TempDir dir;
  ChildSupervisor child(options_for("exec sleep 30"));
  ASSERT_TRUE(child.start().ok());
  const Status again = child.start();
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), ErrorCode::kInternal);
}

TEST(ChildSupervisorTest, RestartsLeakNoFileDescriptors) {
  TempDir dir;
  const int before = count_open_fds();
  {
    ChildSupervisor child(options_for("echo $$ > " + q(dir / "pid") + "; exec sleep 30"));
    ASSERT_TRUE(child.start().ok());
    for (int i = 0; i < 3; ++i) {
      wait_pid_file(dir / "pid");
      fs::remove(dir / "pid");
      ASSERT_TRUE(child.config_changed().ok());
      EXPECT_EQ(count_open_fds(), before);
    }
    EXPECT_EQ(child.restarts(), 3);
    EXPECT_EQ(child.stop(), 128 + SIGTERM);
  }
  EXPECT_EQ(count_open_fds(), before);
}

// ---- The group outlives no leader, and reload signals spare wrappers --------------------

TEST(ChildSupervisorTest, ReloadSignalReachesAServiceForkedByAShellWrapperAndSparesTheWrapper) {
  TempDir dir;
  const fs::path server = write_script(dir, "server", service_script(dir));
  const fs::path wrapper = write_script(dir, "wrapper", wrapper_script(dir, server));
  ChildSupervisor child(reload_on("HUP", options_for("exec " + q(wrapper))));
  ASSERT_TRUE(child.start().ok());
  const pid_t group = child.pid();
  ASSERT_EQ(wait_pid_file(dir / "wrapper.pid"), group);
  const pid_t service = wait_pid_file(dir / "server.pid");
  ASSERT_NE(service, group) << "the wrapper exec'd: nothing to spare";
  ASSERT_EQ(::getpgid(service), group);

  ASSERT_TRUE(child.config_changed().ok());
  ASSERT_TRUE(wait_until([&] { return read_file(dir / "hups").value_or("") == "hup\n"; }, kWait));
  ASSERT_TRUE(child.config_changed().ok());
  ASSERT_TRUE(
      wait_until([&] { return read_file(dir / "hups").value_or("") == "hup\nhup\n"; }, kWait));
  EXPECT_FALSE(gone_or_zombie(group)) << "the wrapper died of the reload signal";
  EXPECT_FALSE(gone_or_zombie(service));
  EXPECT_EQ(child.reap(), std::nullopt);
  EXPECT_EQ(read_file(dir / "wrapper.log"), std::nullopt) << "the service exited";

  // The wrapper dies of stop()'s SIGTERM, not of an earlier SIGHUP (129).
  EXPECT_EQ(child.stop(), 128 + SIGTERM);
  EXPECT_TRUE(gone_or_zombie(service));
  EXPECT_EQ(group_survivors(group), std::vector<pid_t>{});
}

TEST(ChildSupervisorTest, ReloadSignalReachesTheServerOfACompoundCommandAndSparesTheShell) {
  TempDir dir;
  fs::create_directory(dir / "srv");
  write_script(dir, "srv/server", service_script(dir));
  ChildSupervisor child(reload_on("HUP", options_for("cd " + q(dir / "srv") + " && ./server")));
  ASSERT_TRUE(child.start().ok());
  const pid_t group = child.pid();
  const pid_t service = wait_pid_file(dir / "server.pid");
  ASSERT_EQ(::getpgid(service), group);

  for (const char* expected : {"hup\n", "hup\nhup\n"}) {
    ASSERT_TRUE(child.config_changed().ok());
    ASSERT_TRUE(wait_until([&] { return read_file(dir / "hups").value_or("") == expected; }, kWait))
        << read_file(dir / "hups").value_or("<none>");
  }
  EXPECT_FALSE(gone_or_zombie(group)) << "the shell died of the reload signal";
  EXPECT_FALSE(gone_or_zombie(service));
  EXPECT_EQ(child.reap(), std::nullopt);

  EXPECT_EQ(child.stop(), 128 + SIGTERM);
  EXPECT_TRUE(gone_or_zombie(service));
  EXPECT_EQ(group_survivors(group), std::vector<pid_t>{});
}

TEST(ChildSupervisorTest, ReloadSignalStillReachesALeaderWithNoChildEvenIfItDiesOfIt) {
  TempDir dir;
  // No handler and nothing forked: this is the service itself, not a wrapper.
  ChildSupervisor child(
      reload_on("HUP", options_for("echo $$ > " + q(dir / "pid") + "; exec sleep 30")));
  ASSERT_TRUE(child.start().ok());
  const pid_t pid = wait_pid_file(dir / "pid");
  ASSERT_TRUE(wait_until(
      [&] { return read_file("/proc/" + std::to_string(pid) + "/comm") == "sleep\n"; }, kWait));
  ASSERT_TRUE(child.config_changed().ok());
  EXPECT_EQ(wait_reap(child), 128 + SIGHUP);
  EXPECT_EQ(group_survivors(pid), std::vector<pid_t>{});
}

TEST(ChildSupervisorTest, AWrapperKilledOutrightHasItsServiceStoppedBeforeTheExitIsReported) {
  TempDir dir;
  const fs::path server = write_script(
      dir, "server",
      service_script(dir, "trap 'echo term >> " + q(dir / "terms") + "; exit 0' TERM\n"));
  const fs::path wrapper = write_script(dir, "wrapper", wrapper_script(dir, server));
  ChildSupervisor child(options_for("exec " + q(wrapper), milliseconds(5000)));
  ASSERT_TRUE(child.start().ok());
  const pid_t group = child.pid();
  const pid_t service = wait_pid_file(dir / "server.pid");
  ASSERT_NE(service, group);

  ASSERT_EQ(::kill(group, SIGKILL), 0);  // the OOM killer, an operator, a reload signal
  EXPECT_EQ(wait_reap(child), 128 + SIGKILL);
  // Reported only once the service is gone, and it was asked nicely first.
  EXPECT_TRUE(gone_or_zombie(service)) << "the service outlived its wrapper";
  EXPECT_EQ(group_survivors(group), std::vector<pid_t>{});
  EXPECT_EQ(read_file(dir / "terms"), "term\n");
  EXPECT_FALSE(child.running());
  EXPECT_EQ(child.reap(), std::nullopt);
}

TEST(ChildSupervisorTest, AServiceIgnoringSigtermIsKilledAfterTheGraceWhenItsWrapperExits) {
  TempDir dir;
  const fs::path server = write_script(dir, "server", service_script(dir, "trap '' TERM\n"));
  const milliseconds grace(200);
  // The shell starts the service, waits until its traps are set, and exits 3.
  ChildSupervisor child(options_for(
      q(server) + " & while [ ! -s " + q(dir / "server.pid") + " ]; do sleep 0.01; done; exit 3",
      grace));
  ASSERT_TRUE(child.start().ok());
  const pid_t group = child.pid();
  const pid_t service = wait_pid_file(dir / "server.pid");
  ASSERT_TRUE(wait_until([&] { return gone_or_zombie(group); }, kWait));
  ASSERT_FALSE(gone_or_zombie(service));

  const auto begin = std::chrono::steady_clock::now();
  EXPECT_EQ(child.reap(), 3);
  const auto took = std::chrono::steady_clock::now() - begin;
  EXPECT_GE(took, grace) << "SIGKILL came before the grace was over";
  EXPECT_LT(took, milliseconds(3000));
  EXPECT_TRUE(gone_or_zombie(service)) << "the service outlived its wrapper";
  EXPECT_EQ(group_survivors(group), std::vector<pid_t>{});
}

TEST(ChildSupervisorTest, AServiceLeftBehindAfterAForwardedSigtermGetsNoSecondSigterm) {
  TempDir dir;
  // The service takes the forwarded SIGTERM as the start of a clean shutdown
  // and a second one as "quit now"; the wrapper dies of the first at once.
  const fs::path terms = dir / "terms";
  const fs::path server = write_script(
      dir, "server",
      service_script(dir, "on_term() { echo term >> " + q(terms) + "; trap 'echo again >> " +
                              q(terms) +
                              "; exit 9' TERM; sleep 0.2; exit 0; }\ntrap on_term TERM\n"));
  const fs::path wrapper = write_script(dir, "wrapper", wrapper_script(dir, server));
  ChildSupervisor child(options_for("exec " + q(wrapper), milliseconds(5000)));
  ASSERT_TRUE(child.start().ok());
  const pid_t group = child.pid();
  const pid_t service = wait_pid_file(dir / "server.pid");
  child.forward(SIGTERM);
  EXPECT_EQ(wait_reap(child), 128 + SIGTERM);
  EXPECT_TRUE(gone_or_zombie(service));
  EXPECT_EQ(group_survivors(group), std::vector<pid_t>{});
  EXPECT_EQ(read_file(terms), "term\n");
}

TEST(ParseOnChangeTest, AcceptsRestartAndSignals) {
  ExecOptions base = options_for("my-server", milliseconds(1234));
  base.on_change = ExecOptions::OnChange::kSignal;
  Result<ExecOptions> restart = parse_on_change("restart", base);
  ASSERT_TRUE(restart) << restart.error().to_string();
  EXPECT_EQ(restart->on_change, ExecOptions::OnChange::kRestart);
  EXPECT_EQ(restart->command, "my-server");
  EXPECT_EQ(restart->grace, milliseconds(1234));

  const std::pair<const char*, int> cases[] = {
      {"signal:HUP", SIGHUP},   {"signal:SIGUSR1", SIGUSR1}, {"signal:10", 10},
      {"signal:usr2", SIGUSR2}, {"signal:TERM", SIGTERM},    {"signal:sigint", SIGINT},
  };
  for (const auto& [text, sig] : cases) {
    Result<ExecOptions> r = parse_on_change(text, options_for("x"));
    ASSERT_TRUE(r) << text << ": " << r.error().to_string();
    EXPECT_EQ(r->on_change, ExecOptions::OnChange::kSignal) << text;
    EXPECT_EQ(r->signal, sig) << text;
  }
}

TEST(ParseOnChangeTest, RejectsUnknownTextNamingIt) {
  for (const char* text : {"signal:NOPE", "reload", "signal:", "signal:0", "signal:9",
                           "signal:KILL", "signal:999", "Restart", "signal:1x"}) {
    Result<ExecOptions> r = parse_on_change(text, options_for("x"));
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().code(), ErrorCode::kValidation) << text;
    EXPECT_NE(r.error().message().find("\"" + std::string(text) + "\""), std::string::npos)
        << r.error().message();
  }
  Result<ExecOptions> nope = parse_on_change("signal:NOPE", options_for("x"));
  EXPECT_NE(nope.error().message().find("unknown signal \"NOPE\""), std::string::npos)
      << nope.error().message();
}

TEST(ExitCodeTest, MapsWaitStatusesLikeAShell) {
  EXPECT_EQ(exit_code_of_wait_status(7 << 8), 7);
  EXPECT_EQ(exit_code_of_wait_status(SIGTERM), 128 + SIGTERM);
}

}  // namespace
}  // namespace liveconf::cli
