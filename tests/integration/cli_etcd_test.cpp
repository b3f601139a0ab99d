// `liveconf ... --etcd URL --prefix P` end to end: the real binary against a
// real etcd (tests/testutil/etcd_server.hpp), writes through etcdctl.
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

TEST_F(CliEtcdTest, PrefixWithoutEtcdAndEtcdWithoutPrefixAreUsageErrors) {
  CliResult r = run_cli({"get", "x", "--prefix", "/app/"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = run_cli({"get", "x", "--etcd", etcd->endpoint()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--prefix"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace liveconf::testing
