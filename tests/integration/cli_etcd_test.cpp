// `liveconf ... --etcd URL --prefix P` end to end: the real binary against a
// real etcd (tests/testutil/etcd_server.hpp), writes through etcdctl.
#include <csignal>
#include <cstdio>
#include <filesystem>

#include <gtest/gtest.h>

#include "liveconf/format.hpp"

#include "integration/cli_runner.hpp"
#include "testutil/etcd_server.hpp"
#include "testutil/temp_dir.hpp"

namespace liveconf::testing {
namespace {

using namespace std::chrono_literals;

Value json_of(const std::string& line) {
  Result<Value> v = find_format("json")->parse(line, ParseOptions{});
  EXPECT_TRUE(v) << line;
  return v ? *v : Value();
}

class CliEtcdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LIVECONF_REQUIRE_ETCD();
    etcd = std::make_unique<EtcdServer>(tmp.path() / "etcd");
    ASSERT_TRUE(etcd->start());
    ASSERT_TRUE(etcd->put("/app/db/port", "5432"));
    ASSERT_TRUE(etcd->put("/app/name", "demo"));
    ASSERT_TRUE(etcd->put("/app/secret/token", "S3CRET-etcd-value"));
  }
  [[nodiscard]] std::vector<std::string> with_etcd(std::vector<std::string> args) const {
    for (const char* a : {"--etcd", "", "--prefix", "/app/"}) {
      args.emplace_back(*a != 0 ? a : etcd->endpoint());
    }
    return args;
  }

  TempDir tmp;
  std::unique_ptr<EtcdServer> etcd;
};

TEST_F(CliEtcdTest, GetAndExplainReadKeysUnderThePrefixWithKeyAndRevision) {
  CliResult r = run_cli(with_etcd({"get", "db.port"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "5432\n");
  r = run_cli(with_etcd({"explain", "db.port"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("etcd:/app/"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[/app/db/port@"), std::string::npos) << r.out;
}

TEST_F(CliEtcdTest, WatchPrintsLoadedThenOneChangedLinePerTransaction) {
  std::vector<std::string> args =
      with_etcd({"watch", "--format", "json", "--secret", "secret.token"});
  WatchProcess w(args);
  std::optional<std::string> line = w.next_line(10s);
  ASSERT_TRUE(line);
  Value loaded = json_of(*line);
  EXPECT_EQ(loaded.find(KeyPath("event"))->as_string(), "loaded") << *line;
  EXPECT_EQ(loaded.find(KeyPath("config.db.port"))->as_int(), 5432) << *line;
  EXPECT_EQ(line->find("S3CRET"), std::string::npos) << *line;

  const CtlResult txn = etcd->ctl({"txn"}, "\nput /app/db/port 6000\nput /app/extra true\n\n\n");
  ASSERT_TRUE(txn.ok()) << txn.err;
  line = w.next_line(10s);
  ASSERT_TRUE(line);
  Value changed = json_of(*line);
  EXPECT_EQ(changed.find(KeyPath("event"))->as_string(), "changed") << *line;
  EXPECT_EQ(changed.find(KeyPath("changes"))->size(), 2u) << *line;
  EXPECT_EQ(changed.find(KeyPath("config.db.port"))->as_int(), 6000) << *line;
  EXPECT_TRUE(changed.find(KeyPath("config.extra"))->as_bool()) << *line;
  EXPECT_EQ(line->find("S3CRET"), std::string::npos) << *line;
}

TEST_F(CliEtcdTest, UnreachableEtcdExitsFiveNamingTheEndpoint) {
  etcd->kill();
  CliOptions o;
  o.timeout = 30s;
  const CliResult r = run_cli(with_etcd({"get", "db.port"}), o);
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_NE(r.err.find(etcd->endpoint()), std::string::npos) << r.err;
}

// BEHAVIOUR 55/56: a process started while etcd is down serves its encrypted
// last-good cache at once and says it is stale; when etcd returns, one diff.
TEST_F(CliEtcdTest, B56_WatchStartsFromItsEncryptedCacheWhileEtcdIsDownThenConverges) {
  const std::string cache = (tmp / "app.cache").string();
  const std::string key = write_key_file(tmp / "cache.key").string();
  const std::vector<std::string> args =
      with_etcd({"watch", "--format", "json", "--secret", "secret.token", "--etcd-cache", cache,
                 "--etcd-cache-key", key});
  {
    WatchProcess first(args);
    ASSERT_TRUE(
        first.wait_line([](const std::string& l) { return l.find("loaded") != l.npos; }, 10s));
    ASSERT_TRUE(wait_until([&] { return std::filesystem::exists(cache); }));
    first.signal(SIGTERM);
    ASSERT_TRUE(first.wait_exit(10s));
  }
  EXPECT_EQ(all_bytes(cache).find("S3CRET"), std::string::npos) << "a secret reached the disk";
  EXPECT_EQ(all_bytes(cache).find("demo"), std::string::npos) << "the cache is not encrypted";
  ASSERT_TRUE(etcd->put("/app/db/port", "6000"));  // while no process watches
  etcd->kill();

  const auto started = std::chrono::steady_clock::now();
  WatchProcess second(args);
  std::optional<std::string> loaded =
      second.wait_line([](const std::string& l) { return l.find("\"loaded\"") != l.npos; }, 10s);
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(loaded) << second.out();
  std::printf("offline boot: `liveconf watch` printed loaded %.1f ms after it was started\n",
              std::chrono::duration<double, std::milli>(took).count());
  EXPECT_LT(took, 5s);
  EXPECT_EQ(json_of(*loaded).find(KeyPath("config.db.port"))->as_int(), 5432) << *loaded;
  EXPECT_EQ(loaded->find("S3CRET"), std::string::npos);
  std::optional<std::string> stale = second.next_line(5s);
  ASSERT_TRUE(stale);
  const Value st = json_of(*stale);
  EXPECT_EQ(st.find(KeyPath("event"))->as_string(), "source") << *stale;
  EXPECT_EQ(st.find(KeyPath("state"))->as_string(), "stale") << *stale;
  EXPECT_NE(stale->find("serving the cache " + cache), std::string::npos) << *stale;

  ASSERT_TRUE(etcd->start());
  std::optional<std::string> changed =
      second.wait_line([](const std::string& l) { return l.find("\"changed\"") != l.npos; }, 20s);
  ASSERT_TRUE(changed) << second.out();
  const Value c = json_of(*changed);
  EXPECT_EQ(c.find(KeyPath("changes"))->size(), 1u) << *changed;
  EXPECT_EQ(c.find(KeyPath("config.db.port"))->as_int(), 6000) << *changed;
}

TEST_F(CliEtcdTest, EtcdCacheOptionsAreCheckedUpFront) {
  const std::string key = write_key_file(tmp / "cache.key").string();
  CliResult r = run_cli(with_etcd({"get", "name", "--etcd-cache", (tmp / "c").string()}));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--etcd-cache-key"), std::string::npos) << r.err;
  r = run_cli({"get", "name", "--file", tmp.write("a.json", "{}").string(), "--etcd-cache",
               (tmp / "c").string(), "--etcd-cache-key", key});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  std::filesystem::permissions(key, std::filesystem::perms::others_read,
                               std::filesystem::perm_options::add);
  r = run_cli(
      with_etcd({"get", "name", "--etcd-cache", (tmp / "c").string(), "--etcd-cache-key", key}));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("chmod 600"), std::string::npos) << r.err;
}

TEST_F(CliEtcdTest, PrefixWithoutEtcdAndEtcdWithoutPrefixAreUsageErrors) {
  CliResult r = run_cli({"get", "x", "--prefix", "/app/"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = run_cli({"get", "x", "--etcd", etcd->endpoint()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--prefix"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace liveconf::testing
