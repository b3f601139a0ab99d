// The real-etcd harness (testutil/etcd_server.hpp) itself: a server starts
// on loopback and serves etcdctl, keeps its data and endpoint across a
// restart and across a crash (SIGKILL), stops answering while paused and
// answers again once resumed, never shares ports with another server, and
// leaves no process behind. Every test here fails (never skips) without the
// etcd binaries.
#include <cerrno>
#include <chrono>
#include <csignal>
#include <optional>
#include <set>
#include <string>
#include <sys/types.h>
#include <sys/wait.h>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testutil/etcd_server.hpp"
#include "testutil/temp_dir.hpp"

namespace liveconf {
namespace {

using testing::CtlResult;
using testing::EtcdOptions;
using testing::EtcdServer;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::TempDir;
using namespace std::chrono_literals;

class EtcdHarnessTest : public ::testing::Test {
 protected:
  void SetUp() override { LIVECONF_REQUIRE_ETCD(); }

  TempDir tmp_;
};

// True once `pid` names neither a child of ours (reaped, so no zombie) nor any process.
bool gone(pid_t pid) {
  errno = 0;
  const bool not_our_child = ::waitpid(pid, nullptr, WNOHANG) == -1 && errno == ECHILD;
  errno = 0;
  const bool no_process = ::kill(pid, 0) == -1 && errno == ESRCH;
  return not_our_child && no_process;
}

TEST_F(EtcdHarnessTest, StartsOnLoopbackAndServesEtcdctl) {
  EtcdServer etcd(tmp_.path());
  ASSERT_TRUE(etcd.start());
  EXPECT_TRUE(etcd.running());
  EXPECT_GT(etcd.pid(), 0);
  EXPECT_THAT(etcd.endpoint(), StartsWith("127.0.0.1:"));
  EXPECT_EQ(etcd.url(), "http://" + etcd.endpoint());

  ASSERT_TRUE(etcd.put("/app/name", "liveconf"));
  EXPECT_EQ(etcd.get("/app/name"), "liveconf");
  EXPECT_EQ(etcd.get("/app/missing"), std::nullopt);
  // Values that would trip a command line or a line-based reader round-trip.
  ASSERT_TRUE(etcd.put("/app/dash", "-v"));
  EXPECT_EQ(etcd.get("/app/dash"), "-v");
  ASSERT_TRUE(etcd.put("/app/lines", "a\nb\n"));
  EXPECT_EQ(etcd.get("/app/lines"), "a\nb\n");
  ASSERT_TRUE(etcd.put("/app/empty", ""));
  EXPECT_EQ(etcd.get("/app/empty"), "");

  // The raw runner: etcdctl's own output.
  const CtlResult raw = etcd.ctl({"get", "/app/name"});
  EXPECT_EQ(raw.exit_code, 0) << raw.err;
  EXPECT_EQ(raw.out, "/app/name\nliveconf\n");

  // txn reads its compares, then-ops and else-ops from stdin.
  const CtlResult txn = etcd.ctl({"txn"},
                                 "value(\"/app/name\") = \"liveconf\"\n\n"
                                 "put /app/txn yes\n\n"
                                 "put /app/txn no\n\n");
  EXPECT_EQ(txn.exit_code, 0) << txn.err;
  EXPECT_THAT(txn.out, StartsWith("SUCCESS"));
  EXPECT_EQ(etcd.get("/app/txn"), "yes");

  // Revisions count writes; a compacted revision can no longer be read.
  const std::optional<std::int64_t> rev = etcd.revision();
  ASSERT_TRUE(rev.has_value());
  ASSERT_TRUE(etcd.put("/app/name", "v2"));
  EXPECT_EQ(etcd.revision(), *rev + 1);
  EXPECT_TRUE(etcd.compact(*rev + 1));
  const CtlResult old = etcd.ctl({"get", "/app/name", "--rev=" + std::to_string(*rev)});
  EXPECT_NE(old.exit_code, 0);
  EXPECT_THAT(old.err, HasSubstr("required revision has been compacted"));

  ASSERT_TRUE(etcd.del("/app/", /*prefix=*/true));
  EXPECT_EQ(etcd.get("/app/name"), std::nullopt);
}

TEST_F(EtcdHarnessTest, RestartKeepsDataAndEndpoint) {
  EtcdServer etcd(tmp_.path());
  ASSERT_TRUE(etcd.start());
  ASSERT_TRUE(etcd.put("k", "before"));
  const std::string endpoint = etcd.endpoint();
  const pid_t first = etcd.pid();

  ASSERT_TRUE(etcd.restart());
  EXPECT_EQ(etcd.endpoint(), endpoint);
  EXPECT_NE(etcd.pid(), first);
  EXPECT_TRUE(gone(first));
  EXPECT_EQ(etcd.get("k"), "before");
  ASSERT_TRUE(etcd.put("k", "after"));
  EXPECT_EQ(etcd.get("k"), "after");
}

TEST_F(EtcdHarnessTest, StoppedOrKilledServerStartsAgainOnItsDataDir) {
  EtcdServer etcd(tmp_.path());
  ASSERT_TRUE(etcd.start());
  ASSERT_TRUE(etcd.put("k", "durable"));
  const std::string endpoint = etcd.endpoint();
  // A graceful stop first: etcd re-raises SIGTERM after shutting down.
  EXPECT_EQ(etcd.stop(), 128 + SIGTERM);
  ASSERT_TRUE(etcd.start());

  EXPECT_EQ(etcd.kill(), 128 + SIGKILL);
  EXPECT_FALSE(etcd.running());
  EXPECT_EQ(etcd.pid(), -1);
  EXPECT_FALSE(etcd.ctl({"get", "k"}, {}, 1s).ok());

  ASSERT_TRUE(etcd.start());
  EXPECT_EQ(etcd.endpoint(), endpoint);
  EXPECT_EQ(etcd.get("k"), "durable");
}

TEST_F(EtcdHarnessTest, PausedServerTimesOutAndResumedServerAnswers) {
  EtcdServer etcd(tmp_.path());
  ASSERT_TRUE(etcd.start());
  ASSERT_TRUE(etcd.put("k", "v"));

  ASSERT_TRUE(etcd.pause());
  EXPECT_TRUE(etcd.paused());
  EXPECT_TRUE(etcd.running());
  const auto begin = std::chrono::steady_clock::now();
  const CtlResult frozen = etcd.ctl({"get", "k", "--command-timeout=1s"});
  EXPECT_NE(frozen.exit_code, 0);
  EXPECT_FALSE(frozen.timed_out);  // etcdctl gave up on its own, after its 1 s
  EXPECT_THAT(frozen.err, HasSubstr("context deadline exceeded"));
  // ctl()'s own timeout kills an etcdctl that would wait longer.
  const CtlResult killed = etcd.ctl({"get", "k", "--command-timeout=30s"}, {}, 300ms);
  EXPECT_TRUE(killed.timed_out);
  EXPECT_EQ(killed.exit_code, -1);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 5s);

  ASSERT_TRUE(etcd.resume());
  EXPECT_FALSE(etcd.paused());
  const CtlResult thawed = etcd.ctl({"get", "k", "--print-value-only", "--command-timeout=1s"});
  EXPECT_EQ(thawed.exit_code, 0) << thawed.err;
  EXPECT_EQ(thawed.out, "v\n");
}

TEST_F(EtcdHarnessTest, TwoServersGetDifferentPortsAndData) {
  TempDir other_dir;
  EtcdServer a(tmp_.path());
  EtcdServer b(other_dir.path());
  ASSERT_TRUE(a.start());
  ASSERT_TRUE(b.start());
  const std::set<std::uint16_t> ports = {a.client_port(), a.peer_port(), b.client_port(),
                                         b.peer_port()};
  EXPECT_EQ(ports.size(), 4u);
  EXPECT_NE(a.endpoint(), b.endpoint());

  ASSERT_TRUE(a.put("k", "a"));
  ASSERT_TRUE(b.put("k", "b"));
  EXPECT_EQ(a.get("k"), "a");
  EXPECT_EQ(b.get("k"), "b");
}

TEST_F(EtcdHarnessTest, DestructorLeavesNoProcess) {
  pid_t running_pid = -1;
  {
    EtcdServer etcd(tmp_ / "running");
    ASSERT_TRUE(etcd.start());
    running_pid = etcd.pid();
    ASSERT_GT(running_pid, 0);
  }
  EXPECT_TRUE(gone(running_pid));

  pid_t paused_pid = -1;
  {
    EtcdServer etcd(tmp_ / "paused");
    ASSERT_TRUE(etcd.start());
    paused_pid = etcd.pid();
    ASSERT_TRUE(etcd.pause());
  }
  EXPECT_TRUE(gone(paused_pid));
}

TEST_F(EtcdHarnessTest, AuthEnabledServerRestartsAndTakesCredentials) {
  EtcdServer etcd(tmp_.path());
  ASSERT_TRUE(etcd.start());
  const CtlResult user = etcd.ctl({"user", "add", "root:secret"});
  ASSERT_EQ(user.exit_code, 0) << user.err;
  const CtlResult enable = etcd.ctl({"auth", "enable"});
  ASSERT_EQ(enable.exit_code, 0) << enable.err;
  EXPECT_FALSE(etcd.ctl({"put", "k", "v"}).ok());

  etcd.set_ctl_args({"--user=root:secret"});
  ASSERT_TRUE(etcd.put("k", "v"));
  // /health answers without credentials, so start() still sees the server come up.
  ASSERT_TRUE(etcd.restart());
  EXPECT_EQ(etcd.get("k"), "v");
}

TEST_F(EtcdHarnessTest, FailedStartReportsTheLogTail) {
  // Extra arguments reach etcd: an unknown flag makes it exit at once.
  EtcdServer etcd(tmp_.path(), EtcdOptions{.extra_args = {"--no-such-flag"}});
  const ::testing::AssertionResult started = etcd.start();
  ASSERT_FALSE(started);
  EXPECT_THAT(started.message(), HasSubstr("exited with status"));
  EXPECT_THAT(started.message(), HasSubstr("no-such-flag"));  // from etcd.log
  EXPECT_FALSE(etcd.running());
  EXPECT_THAT(etcd.log_tail(), HasSubstr("no-such-flag"));
}

}  // namespace
}  // namespace liveconf
