// examples/etcd_fleet.cpp against a real etcd: two processes share one
// etcd-backed config and both see one change. The example's output must
// match examples/etcd_fleet.golden.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "integration/cli_runner.hpp"  // run_cli() runs LIVECONF_CLI: here, the example
#include "testutil/etcd_server.hpp"
#include "testutil/temp_dir.hpp"

namespace liveconf::testing {
namespace {

TEST(EtcdExampleTest, TwoProcessesShareOneConfigAndBothSeeTheChange) {
  LIVECONF_REQUIRE_ETCD();
  TempDir tmp;
  EtcdServer etcd(tmp.path() / "etcd");
  ASSERT_TRUE(etcd.start());
  CliOptions o;
  o.timeout = std::chrono::seconds(60);
  const CliResult r = run_cli({etcd.endpoint()}, o);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::ifstream golden(LIVECONF_EXAMPLE_GOLDEN);
  std::stringstream expected;
  expected << golden.rdbuf();
  EXPECT_EQ(r.out, expected.str());
}

}  // namespace
}  // namespace liveconf::testing
