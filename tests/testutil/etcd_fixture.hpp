// A test with an etcd of its own (started on loopback, data under the test's
// temporary directory) and a client of it. Skips when etcd is not installed.
#pragma once

#include <memory>

#include <gtest/gtest.h>

#include "liveconf/etcd.hpp"

#include "testutil/etcd_server.hpp"
#include "testutil/temp_dir.hpp"

namespace liveconf::testing {

class EtcdFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    LIVECONF_REQUIRE_ETCD();
    etcd = std::make_unique<EtcdServer>(tmp.path() / "etcd");
    ASSERT_TRUE(etcd->start());
    EtcdConnection c;
    c.endpoints = {etcd->endpoint()};
    c.request_timeout = std::chrono::seconds(2);
    client = EtcdClient::create(c).value();
  }

  TempDir tmp;
  std::unique_ptr<EtcdServer> etcd;
  std::unique_ptr<EtcdClient> client;
};

}  // namespace liveconf::testing
