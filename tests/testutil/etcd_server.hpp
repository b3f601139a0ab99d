// A real etcd server for tests, on loopback only: EtcdServer runs the etcd
// binary as a child process on two free 127.0.0.1 ports (client and peer),
// with its data in the test's directory, and drives it the way the tests of
// an etcd source need: start, restart on the same data and endpoint, crash
// (SIGKILL), freeze (SIGSTOP) and thaw, and independent writes through the
// real etcdctl.
//
// The binaries come from $LIVECONF_ETCD / $LIVECONF_ETCDCTL, else from PATH.
// A test that needs them starts with LIVECONF_REQUIRE_ETCD(), which fails
// (never skips) when they are missing: a machine that runs the needs-etcd
// tests must have etcd, and a skip would hide that it does not.
//
// Cleanup is unconditional: the destructor kills and reaps the server, and
// etcd runs with PR_SET_PDEATHSIG = SIGKILL, so even a crashed test binary
// leaves no etcd behind. The death signal fires when the *thread* that
// started etcd exits, so start it on the test's own thread (or on one that
// outlives the server).
//
// Not thread-safe, except that ctl() and the etcdctl conveniences may run on
// several threads at once while no other member is being called.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <source_location>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

/// Fails the current test (a fatal failure, returning from the enclosing void
/// function: a TEST body or SetUp) when etcd or etcdctl cannot be found.
#define LIVECONF_REQUIRE_ETCD()                                    \
  do {                                                             \
    if (const std::optional<std::string> liveconf_etcd_missing =   \
            ::liveconf::testing::EtcdServer::missing_binaries()) { \
      GTEST_FAIL() << *liveconf_etcd_missing;                      \
    }                                                              \
  } while (false)

namespace liveconf::testing {

struct EtcdOptions {
  /// Appended to etcd's command line, after the harness's own flags, so they
  /// may override them (etcd takes a flag's last value); e.g.
  /// {"--auto-compaction-mode=revision", "--auto-compaction-retention=5"}.
  /// The harness's flags include --heartbeat-interval=10 --election-timeout=100,
  /// which make a restart take ~150 ms instead of 1-2 s.
  std::vector<std::string> extra_args;
  /// How long start() waits for the server to answer /health.
  std::chrono::milliseconds start_timeout{20000};
};

/// The outcome of one etcdctl run.
struct CtlResult {
  int exit_code = -1;  // the exit status, 128+N if killed by signal N, -1 on timeout or no run
  std::string out;
  std::string err;
  bool timed_out = false;  // killed by ctl() at its timeout

  [[nodiscard]] bool ok() const { return exit_code == 0; }
};

class EtcdServer {
 public:
  static constexpr std::chrono::milliseconds kCtlTimeout{10000};
  /// stop() waits this long for the exit before it escalates to SIGKILL.
  static constexpr std::chrono::milliseconds kStopTimeout{10000};

  /// $LIVECONF_ETCD if set (nullopt if that is not an executable file), else
  /// `etcd` searched on PATH.
  static std::optional<std::filesystem::path> etcd_binary();
  /// $LIVECONF_ETCDCTL if set, else `etcdctl` on PATH, likewise.
  static std::optional<std::filesystem::path> etcdctl_binary();
  /// nullopt when both binaries are found, else a message saying what is
  /// missing and how to point the tests at it.
  static std::optional<std::string> missing_binaries();

  /// `dir` is the test's directory (created if missing): etcd's data goes to
  /// dir/data, its stdout and stderr to dir/etcd.log (appended across starts,
  /// each start preceded by a "=== EtcdServer: ..." line). Nothing runs yet.
  /// Declare the server after the TempDir it lives in, so it dies first.
  explicit EtcdServer(std::filesystem::path dir, EtcdOptions options = {});
  /// SIGCONT if paused, SIGKILL, and reap: no process and no zombie remain.
  ~EtcdServer();

  EtcdServer(const EtcdServer&) = delete;
  EtcdServer& operator=(const EtcdServer&) = delete;
  EtcdServer(EtcdServer&&) = delete;
  EtcdServer& operator=(EtcdServer&&) = delete;

  /// Starts etcd and waits (up to options.start_timeout) until GET /health
  /// on the client port says {"health":"true"}. The first start picks two
  /// free loopback ports, and picks new ones (a few times) if etcd cannot bind
  /// them; every later start (after stop(), kill() or a crash) reuses them, so
  /// a server keeps one endpoint for its whole life, retrying the bind for a
  /// few seconds. A failure carries the tail of etcd.log. Use as
  /// ASSERT_TRUE(etcd.start()).
  [[nodiscard]] ::testing::AssertionResult start();
  /// stop() (SIGTERM), then start() on the same data dir and ports.
  [[nodiscard]] ::testing::AssertionResult restart();
  /// Sends `signal` (and SIGCONT if paused, so a stopped etcd can act on
  /// it), reaps the process within kStopTimeout, else SIGKILLs and reaps it.
  /// Returns the exit status (128+N if killed by signal N), -1 if not running.
  /// etcd shuts down gracefully on SIGTERM/SIGINT and then re-raises the
  /// signal, so a clean stop() returns 128+SIGTERM (143), not 0.
  int stop(int signal = SIGTERM);
  /// stop(SIGKILL): a crash, no graceful shutdown.
  int kill() { return stop(SIGKILL); }
  /// SIGSTOP; returns once the kernel reports the process stopped. While
  /// paused, connections are still accepted (the kernel queues them) but
  /// nothing answers. False (and a test failure) if etcd is not running.
  bool pause();
  /// SIGCONT; returns once the kernel reports the process continued.
  bool resume();

  /// Whether the process is alive (paused counts). Reaps it if it has exited.
  [[nodiscard]] bool running();
  [[nodiscard]] bool paused() const { return paused_; }
  /// The pid of the current process; -1 before start() and once reaped.
  [[nodiscard]] pid_t pid() const { return pid_; }
  /// The exit status of the last process reaped (as stop() returns it).
  [[nodiscard]] std::optional<int> last_exit_code() const { return last_exit_code_; }

  /// "127.0.0.1:C"; empty before the first start().
  [[nodiscard]] std::string endpoint() const;
  /// "http://127.0.0.1:C"; empty before the first start().
  [[nodiscard]] std::string url() const;
  [[nodiscard]] std::uint16_t client_port() const { return client_port_; }
  [[nodiscard]] std::uint16_t peer_port() const { return peer_port_; }
  [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }
  [[nodiscard]] std::filesystem::path data_dir() const { return dir_ / "data"; }
  [[nodiscard]] std::filesystem::path log_path() const { return dir_ / "etcd.log"; }
  /// The last `max_lines` lines of etcd.log, for failure messages.
  [[nodiscard]] std::string log_tail(std::size_t max_lines = 30) const;

  /// Runs `etcdctl --endpoints=URL --dial-timeout=.. --command-timeout=.. [ctl
  /// args] ARGS...` with ETCDCTL_API=3 and no other ETCDCTL_* variable, stdin
  /// `stdin_text` (e.g. for `txn`), and kills it at `timeout`. The harness's
  /// --endpoints, --command-timeout (timeout minus up to 1 s) and
  /// --dial-timeout (at most 2 s) are left out when the ctl args or ARGS give
  /// their own. Never fails the test itself.
  [[nodiscard]] CtlResult ctl(const std::vector<std::string>& args,
                              std::string_view stdin_text = {},
                              std::chrono::milliseconds timeout = kCtlTimeout) const;
  /// Arguments added to every later etcdctl run, e.g. {"--user=root:secret"}
  /// once a test has enabled auth.
  void set_ctl_args(std::vector<std::string> args) { ctl_args_ = std::move(args); }

  // Conveniences over ctl(). Each adds a test failure (at the caller's line,
  // with etcdctl's stderr) when etcdctl fails, and then returns false/nullopt.

  /// `etcdctl put -- KEY VALUE` (any value: leading '-', newlines, empty).
  bool put(std::string_view key, std::string_view value,
           std::source_location where = std::source_location::current()) const;
  /// The value of KEY; nullopt if there is no such key (or etcdctl failed).
  std::optional<std::string> get(
      std::string_view key, std::source_location where = std::source_location::current()) const;
  /// `etcdctl del [--prefix] -- KEY`; deleting nothing is no failure.
  bool del(std::string_view key, bool prefix = false,
           std::source_location where = std::source_location::current()) const;
  /// The store's current revision (header.revision of `endpoint status -w json`).
  std::optional<std::int64_t> revision(
      std::source_location where = std::source_location::current()) const;
  /// `etcdctl compaction REV`: revisions before REV become unreadable.
  bool compact(std::int64_t revision,
               std::source_location where = std::source_location::current()) const;

 private:
  enum class Launch : std::uint8_t { kHealthy, kExited, kTimedOut, kSpawnFailed };
  Launch launch(const std::filesystem::path& etcd, std::chrono::steady_clock::time_point deadline,
                std::string& error);
  bool pick_ports(std::string& error);
  void append_log_note(std::string_view note) const;
  std::optional<std::string> check_ctl(const std::vector<std::string>& args,
                                       const std::source_location& where) const;

  std::filesystem::path dir_;
  EtcdOptions options_;
  std::vector<std::string> ctl_args_;
  pid_t pid_ = -1;
  bool paused_ = false;
  std::optional<int> last_exit_code_;
  std::uint16_t client_port_ = 0;
  std::uint16_t peer_port_ = 0;
  int starts_ = 0;                        // launches so far, numbered in etcd.log
  std::uintmax_t launch_log_offset_ = 0;  // where the current launch's output begins
};

}  // namespace liveconf::testing
