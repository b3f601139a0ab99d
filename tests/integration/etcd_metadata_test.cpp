// What liveconf::etcd sends with every request (BEHAVIOUR 42: the
// require-leader metadata), seen from the server side: a gRPC server on
// 127.0.0.1 that implements etcd's KV.Range and Watch just far enough to
// record each call's metadata. A real etcd cannot show this: it does not
// report request metadata, and an etcd 3.4 member without a leader does not
// serve clients at all, so "hasleader" cannot be observed through it.
#include <mutex>
#include <set>
#include <string>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "liveconf/etcd.hpp"
#include "liveconf/store.hpp"

#include "rpc.grpc.pb.h"
#include "testutil/temp_dir.hpp"

namespace liveconf::testing {
namespace {

using namespace std::chrono_literals;

class Recorder {
 public:
  void record(const std::string& method, const grpc::ServerContext& context) {
    std::string line = method;
    const auto& md = context.client_metadata();
    for (const char* key : {"hasleader", "token"}) {
      auto it = md.find(key);
      line += std::string(" ") + key + "=" +
              (it == md.end() ? "-" : std::string(it->second.data(), it->second.size()));
    }
    std::lock_guard<std::mutex> lk(mu_);
    calls_.insert(line);
  }
  [[nodiscard]] std::set<std::string> calls() const {
    std::lock_guard<std::mutex> lk(mu_);
    return calls_;
  }

 private:
  mutable std::mutex mu_;
  std::set<std::string> calls_;
};

class FakeKv final : public etcdserverpb::KV::Service {
 public:
  explicit FakeKv(Recorder& r) : recorder_(r) {}
  grpc::Status Range(grpc::ServerContext* context, const etcdserverpb::RangeRequest*,
                     etcdserverpb::RangeResponse* response) override {
    recorder_.record("Range", *context);
    response->mutable_header()->set_revision(5);
    return grpc::Status::OK;
  }

 private:
  Recorder& recorder_;
};

class FakeWatch final : public etcdserverpb::Watch::Service {
 public:
  explicit FakeWatch(Recorder& r) : recorder_(r) {}
  grpc::Status Watch(grpc::ServerContext* context,
                     grpc::ServerReaderWriter<etcdserverpb::WatchResponse,
                                              etcdserverpb::WatchRequest>* stream) override {
    recorder_.record("Watch", *context);
    etcdserverpb::WatchRequest request;
    while (stream->Read(&request)) {
      etcdserverpb::WatchResponse response;
      response.mutable_header()->set_revision(5);
      if (request.has_create_request()) {
        response.set_created(true);
      }
      stream->Write(response);
    }
    return grpc::Status::OK;
  }

 private:
  Recorder& recorder_;
};

class EtcdMetadataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&kv_);
    builder.RegisterService(&watch_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
  }
  void TearDown() override {
    if (server_) {
      server_->Shutdown(std::chrono::system_clock::now() + 2s);
    }
  }
  [[nodiscard]] EtcdConnection connection(bool require_leader) const {
    EtcdConnection c;
    c.endpoints = {"127.0.0.1:" + std::to_string(port_)};
    c.request_timeout = 2s;
    c.require_leader = require_leader;
    return c;
  }

  Recorder recorder_;
  FakeKv kv_{recorder_};
  FakeWatch watch_{recorder_};
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(EtcdMetadataTest, B42_EveryRequestOfTheSourceCarriesRequireLeader) {
  ConfigManager manager;
  ASSERT_TRUE(manager.register_untyped("app").ok());
  EtcdSourceOptions o;
  o.connection = connection(true);
  o.prefix = "/app/";
  Result<std::unique_ptr<Source>> source = make_etcd_source(o);
  ASSERT_TRUE(source);
  ASSERT_TRUE(manager.add_source("app", std::move(*source)).ok());
  ASSERT_TRUE(
      wait_until([&] { return recorder_.calls().count("Watch hasleader=true token=-"); }, 5s));
  EXPECT_EQ(recorder_.calls(), (std::set<std::string>{"Range hasleader=true token=-",
                                                      "Watch hasleader=true token=-"}));
}

TEST_F(EtcdMetadataTest, B42_ClientRequestsCarryItUnlessTurnedOff) {
  auto with = EtcdClient::create(connection(true));
  ASSERT_TRUE(with);
  ASSERT_TRUE((*with)->revision());
  auto without = EtcdClient::create(connection(false));
  ASSERT_TRUE(without);
  ASSERT_TRUE((*without)->revision());
  EXPECT_EQ(recorder_.calls(),
            (std::set<std::string>{"Range hasleader=true token=-", "Range hasleader=- token=-"}));
}

}  // namespace
}  // namespace liveconf::testing
